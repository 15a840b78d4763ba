"""Section 1 · Basics: one acceptance rate, one speculation length, Monte Carlo beside the closed form;
then the workshop notebook's draft-accuracy question answered properly.

Keys owned here: ``sim_notebook_setting`` (the button) and the CSV buttons' keys.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.lessons import simulator_views as views
from core.lessons.simulator_settings import MAX_GAMMA, SimulatorSettings
from core.simulation import closed_form
from pages._common import EXACT, SIMULATED
from pages._components.simulator.common import (
    SEED,
    csv_button,
    fmt_speedup,
    iid_estimate,
    key,
    set_values,
    show_chart,
)

NOTEBOOK_ACCURACIES = (0.5, 0.7, 0.85, 0.95)
TABLE_ROUNDS = 200_000  # Monte Carlo rounds per row of the draft-accuracy table


@st.cache_data(max_entries=64, show_spinner=False)
def gamma_sweep(alpha: float, cost: float, max_gamma: int) -> pd.DataFrame:
    return views.gamma_sweep(alpha, cost, max_gamma)


def section_basics(s: SimulatorSettings) -> None:
    st.subheader("One acceptance rate, one speculation length")
    st.markdown(
        "Each verify pass, the draft proposes **γ** tokens and the target checks them all at once. Under "
        "the i.i.d. model each draft is accepted with probability **α**, independently, until the first "
        "rejection; the target then adds one token of its own (the correction, or a bonus token when all γ "
        "were accepted). So a pass yields **N** tokens, between 1 and γ + 1. The Monte Carlo below plays "
        "this out pass by pass; the closed form (Leviathan et al. 2023, §3) gives the exact expectation."
    )
    estimate, counts = iid_estimate(s.alpha, s.gamma, s.rounds)
    exact_tokens = float(closed_form.expected_tokens_per_pass(s.alpha, s.gamma))
    step_cost = s.gamma * s.cost + 1.0  # one target pass plus gamma draft passes, in target-pass units
    simulated_and_exact(s, estimate, exact_tokens, step_cost)
    agreement(estimate, exact_tokens)
    hist_col, sweep_col = st.columns(2)
    with hist_col:
        st.markdown(f"**Tokens per verify pass** {SIMULATED} vs {EXACT}")
        hist = views.tokens_histogram(s.alpha, s.gamma, counts)
        show_chart("tokens_histogram", hist)
        st.caption(
            "The last bar (N = γ + 1) is every draft accepted plus the bonus token: probability α^γ, "
            "which is why it can be taller than its neighbour."
        )
        csv_button(hist, "tokens-per-pass")
    with sweep_col:
        speedup_by_gamma(s, estimate.mean / step_cost)
    notebook_question(s)


def simulated_and_exact(s: SimulatorSettings, estimate, exact_tokens: float, step_cost: float) -> None:
    """Two boxes: the Monte Carlo's tokens per pass and speedup, and the closed form's."""
    sim_col, exact_col = st.columns(2, border=True)
    with sim_col:
        st.markdown(f"{SIMULATED} Monte Carlo, {s.rounds:,} verify passes (seed {SEED})")
        a, b = st.columns(2)
        a.metric(
            "Tokens per pass (simulated)",
            f"{estimate.mean:.3f}",
            help=f"Mean over {estimate.count:,} simulated passes; standard error {estimate.stderr:.4f}.",
        )
        b.metric(
            "Speedup (simulated)",
            fmt_speedup(estimate.mean / step_cost),
            help="Simulated tokens per pass divided by the cost of a pass, γ·c + 1 target-forward times.",
        )
        st.caption(f"Standard error {estimate.stderr:.4f} tokens per pass.")
    with exact_col:
        st.markdown(f"{EXACT} closed form E[N] = (1 − α^(γ+1)) / (1 − α)")
        a, b = st.columns(2)
        a.metric("Tokens per pass (exact)", f"{exact_tokens:.3f}")
        b.metric(
            "Speedup (exact)", fmt_speedup(float(closed_form.walltime_speedup(s.alpha, s.gamma, s.cost)))
        )
        st.caption("Speedup = E[N] / (γ·c + 1), Leviathan Theorem 3.8 (verify pass as cheap as one step).")


def agreement(estimate, exact_tokens: float) -> None:
    """Whether the exact value lies inside the simulated mean ± 4 standard errors."""
    low, high = estimate.mean - 4 * estimate.stderr, estimate.mean + 4 * estimate.stderr
    if estimate.contains(exact_tokens):
        st.success(
            f"The exact value {exact_tokens:.3f} lies inside the simulated mean ± 4 standard errors "
            f"[{low:.3f}, {high:.3f}]: simulation and theory agree.",
            icon=":material/check_circle:",
        )
    else:
        st.warning(
            f"The exact value {exact_tokens:.3f} lies outside the simulated mean ± 4 standard errors "
            f"[{low:.3f}, {high:.3f}]. By chance alone this happens about once in 16,000 runs; "
            "if it persists with more rounds, something is wrong.",
            icon=":material/warning:",
        )


def speedup_by_gamma(s: SimulatorSettings, simulated_speedup: float) -> None:
    best_gamma, best_speedup = closed_form.optimal_gamma(s.alpha, s.cost, max_gamma=MAX_GAMMA)
    top = min(MAX_GAMMA, max(16, s.gamma, best_gamma + 2))
    sweep = gamma_sweep(s.alpha, s.cost, top)
    st.markdown(f"**Speedup vs speculation length** {EXACT}")
    show_chart("speedup_vs_gamma", sweep, s.gamma, best_gamma, simulated_speedup)
    st.caption(
        f"Best γ for α = {s.alpha:.2f}, c = {s.cost:.2f}: **{best_gamma}** ({fmt_speedup(best_speedup)}). "
        "Longer drafts add cost γ·c every pass but the chance that draft k survives, α^k, keeps "
        "shrinking: past the optimum, extra drafts cost more than they return."
    )
    csv_button(sweep, "speedup-vs-gamma")


def notebook_question(s: SimulatorSettings) -> None:
    st.subheader("The workshop notebook's question, answered properly")
    st.markdown(
        "The notebook asked how speedup changes with draft accuracy 50 %, 70 %, 85 % and 95 %. Here is the "
        f"answer for your c = {s.cost:.2f}: {SIMULATED} by Monte Carlo ({TABLE_ROUNDS:,} passes per row) "
        f"and {EXACT} by the closed form, at your γ = {s.gamma} and at each accuracy's own best γ."
    )
    st.warning(
        "**The notebook's simulation was wrong in two ways.** It drew random tokens and then ignored them: "
        "acceptance was a coin flip, whatever the tokens were. The real rule accepts a draft token x with "
        "probability min(1, p(x)/q(x)) and resamples from what is left of p on a rejection (see *How it "
        "works*). And it dropped the bonus token a fully accepted pass earns.",
        icon=":material/report:",
    )
    st.button(
        "Use the notebook's setting (γ = 5, draft 10x faster: c = 0.1)",
        on_click=set_values,
        kwargs={"values": {"gamma": 5, "cost": 0.1}},
        key=key("notebook_setting"),
    )
    table = views.draft_accuracy_table(
        NOTEBOOK_ACCURACIES,
        s.gamma,
        s.cost,
        lambda alpha, gamma: iid_estimate(alpha, gamma, TABLE_ROUNDS)[0].mean,
        max_gamma=MAX_GAMMA,
    )
    draft_accuracy_tables(table, s.gamma)
    st.caption(
        "Even 50 % accuracy helps when the draft is cheap, and the best γ grows fast with accuracy: a "
        "fixed γ = 5 leaves speed on the table at 95 % and wastes draft work at 50 %. With a costly draft or "
        "low accuracy the speedup drops below 1x (try α = 0.3, c = 0.3): speculation *can* be slower than "
        "plain decoding, and section 5 shows that even a good draft loses at large batch."
    )
    csv_button(table, "draft-accuracy")


def draft_accuracy_tables(table: pd.DataFrame, gamma: int) -> None:
    """The draft-accuracy table twice: at the learner's γ, and at each accuracy's best γ."""
    number = st.column_config.NumberColumn
    yours, best = st.columns([5, 4])
    with yours:
        st.markdown(f"**At your γ = {gamma}**")
        columns = [
            "alpha",
            "tokens_per_pass_simulated",
            "tokens_per_pass_exact",
            "speedup_simulated",
            "speedup_exact",
        ]
        st.dataframe(
            table[columns],
            hide_index=True,
            width="stretch",
            column_config={
                "alpha": number("α", format="%.2f"),
                "tokens_per_pass_simulated": number("tokens/pass (sim.)", format="%.3f"),
                "tokens_per_pass_exact": number("tokens/pass (exact)", format="%.3f"),
                "speedup_simulated": number("speedup (sim.)", format="%.2fx"),
                "speedup_exact": number("speedup (exact)", format="%.2fx"),
            },
        )
    with best:
        st.markdown("**At each accuracy's best γ**")
        st.dataframe(
            table[["alpha", "best_gamma", "best_speedup_simulated", "best_speedup_exact"]],
            hide_index=True,
            width="stretch",
            column_config={
                "alpha": number("α", format="%.2f"),
                "best_gamma": number("best γ"),
                "best_speedup_simulated": number("speedup (sim.)", format="%.2fx"),
                "best_speedup_exact": number("speedup (exact)", format="%.2fx"),
            },
        )
