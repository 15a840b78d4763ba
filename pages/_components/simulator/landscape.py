"""Section 2 · Landscape: exact speedup over every α and γ at the learner's cost ratio."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.lessons import simulator_views as views
from core.lessons.simulator_settings import MAX_GAMMA, SimulatorSettings
from core.simulation import closed_form
from pages._common import EXACT
from pages._components.simulator.common import csv_button, fmt_speedup, show_chart


@st.cache_data(max_entries=64, show_spinner=False)
def landscape(cost: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    return views.landscape_grid(cost, alpha_step=0.02, max_gamma=16), views.break_even_line(cost, 16)


def section_landscape(s: SimulatorSettings) -> None:
    st.subheader("The whole landscape: every α and γ at once")
    st.markdown(
        f"Speedup for every acceptance rate α and speculation length γ at your cost ratio c = {s.cost:.2f} "
        f"{EXACT}. Blue is faster than plain decoding, red is slower, white is break-even; the black line is "
        "the break-even acceptance rate for each γ (speedup exactly 1). Move the **c** slider and watch the "
        "red region grow: a costlier draft needs a better acceptance rate, and more so the longer it drafts."
    )
    grid, line = landscape(s.cost)
    show_chart("landscape", grid, line, s.alpha, s.gamma)
    st.caption(
        "Black line: break-even α per γ (exact). White dashed line: the best γ for each α (exact, γ ≤ 16). "
        "Black cross: your α and γ. Colors are on a log scale centred on 1x."
    )
    at_your_setting(s)
    csv_button(grid, "landscape")
    csv_button(line, "break-even", label="Download the break-even line (CSV)")


def at_your_setting(s: SimulatorSettings) -> None:
    """Speedup here, the best γ, the break-even α, and Leviathan's guarantee when α > c."""
    here_speedup = float(closed_form.walltime_speedup(s.alpha, s.gamma, s.cost))
    best_gamma, best_speedup = closed_form.optimal_gamma(s.alpha, s.cost, max_gamma=MAX_GAMMA)
    bound = closed_form.speedup_lower_bound(s.alpha, s.cost)
    st.markdown(f"{EXACT} at your setting")
    a, b, c = st.columns(3)
    a.metric(f"Speedup at α = {s.alpha:.2f}, γ = {s.gamma}", fmt_speedup(here_speedup))
    b.metric("Best γ for this α and c", f"{best_gamma}", help=f"Speedup {fmt_speedup(best_speedup)}")
    if s.gamma >= 1 and s.cost <= 1:
        needed = closed_form.alpha_from_accept_length(1 + s.gamma * s.cost, s.gamma)
        c.metric(f"Break-even α at γ = {s.gamma}", f"{needed:.3f}")
    else:
        c.metric("Break-even α", "n/a", help="γ = 0 is plain decoding: exactly 1x at any α.")
    if bound is None:
        st.info(
            f"α = {s.alpha:.2f} is not above c = {s.cost:.2f}: Leviathan's guarantee (α > c implies some γ "
            "gives at least (1 + α) / (1 + c)) does not apply, and speculation may not pay off at any γ."
        )
    else:
        st.info(
            f"{EXACT} Since α > c, Leviathan et al. guarantee some γ reaches at least (1 + α) / (1 + c) = "
            f"{fmt_speedup(bound)}; the best γ here reaches {fmt_speedup(best_speedup)}."
        )
