"""Section 3 · Real models: published setups on the sliders, their measured numbers beside the model's.

Keys owned here: ``sim_load_<preset id>`` and ``sim_lookup_cost`` (buttons); ``sim_preset`` is shared
with the URL (see ``controls``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.lessons import simulator_views as views
from core.lessons.simulator_settings import ALPHA_STEP, COST_STEP, MAX_COST, SimulatorSettings
from core.references import published as published_data
from pages._common import EXACT, SIMULATED, published
from pages._components.simulator.common import (
    csv_button,
    fmt_speedup,
    iid_estimate,
    key,
    published_presets,
    set_values,
    show_chart,
)


def load_preset(preset_id: str) -> None:
    """Button callback: fill the sliders from a published preset (runs before the widgets render)."""
    preset = published_data.get_simulator_preset(preset_id)
    set_values(
        {
            "preset": preset.id,
            "alpha": round(preset.alpha / ALPHA_STEP) * ALPHA_STEP,
            "gamma": int(preset.gamma),
            "cost": min(MAX_COST, round(preset.cost_ratio / COST_STEP) * COST_STEP),
        }
    )


def published_headline(preset) -> str:
    parts = []
    if preset.published_accept_length is not None:
        parts.append(f"{preset.published_accept_length:g} tokens/pass")
    if preset.published_speedup is not None:
        parts.append(fmt_speedup(preset.published_speedup))
    elif preset.published_speedup_low is not None and preset.published_speedup_high is not None:
        parts.append(f"{preset.published_speedup_low:g}-{preset.published_speedup_high:g}x")
    return ", ".join(parts) or "see source"


def published_headline_speedup(preset) -> str:
    if preset.published_speedup is not None:
        return fmt_speedup(preset.published_speedup)
    if preset.published_speedup_low is not None and preset.published_speedup_high is not None:
        return f"{preset.published_speedup_low:g}-{preset.published_speedup_high:g}x"
    return "not given"


def section_presets(s: SimulatorSettings) -> None:
    st.subheader("Real models in the loop: published setups")
    st.markdown(
        "Each card is a published experiment. **Use this setup** puts its acceptance rate, speculation "
        "length and cost ratio on the sliders; below, the paper's measured numbers stand beside what the "
        "i.i.d. model predicts for the same values. Where a paper does not state a value, the preset says "
        "how it was derived or assumed."
    )
    presets = published_presets()
    columns = st.columns(3)
    for i, preset in enumerate(presets):
        with columns[i % 3].container(border=True, height="stretch"):
            st.markdown(f"**{preset.label}**")
            st.markdown(f"{published(preset.source)}: {published_headline(preset)}")
            st.button(
                "Use this setup",
                key=key(f"load_{preset.id}"),
                on_click=load_preset,
                args=(preset.id,),
                type="primary" if preset.id == s.preset else "secondary",
                icon=":material/tune:",
            )
    prompt_lookup_note(presets)
    if not s.preset:
        st.info("Pick a setup above to compare its published numbers with the simulation.")
    else:
        preset_detail(published_data.get_simulator_preset(s.preset), s)
    presets_overview(presets)


def prompt_lookup_note(presets) -> None:
    """Prompt lookup has published speedups but no published accept length: show it without slider values."""
    references = published_data.load_references()
    reference = references.get("specbench-pld-summarization")
    if reference is None or any("lookup" in p.label.lower() for p in presets):
        return
    low, high = reference.metric("speedup_low"), reference.metric("speedup_high")
    with st.container(border=True):
        st.markdown(
            f"**Prompt lookup** (the draft copies n-grams from the prompt) {published(reference.source)}: "
            f"{low:g}-{high:g}x on summarization. {reference.note}"
        )
        st.markdown(
            "No accept length is published for it, so there is no α to put on the sliders. What is known: "
            "the lookup runs no neural network, so its cost ratio is c = 0, and its acceptance depends on "
            "how much of the output repeats the input. Set c = 0 and try a low and a high α; section 5 has "
            "it as the `ngram` draft."
        )
        st.button(
            "Set c = 0 (a lookup draft costs no GPU time)",
            key=key("lookup_cost"),
            on_click=set_values,
            kwargs={"values": {"cost": 0.0, "preset": ""}},
        )


def preset_detail(preset, s: SimulatorSettings) -> None:
    st.markdown(f"#### {preset.label}")
    st.markdown(f"{published(f'[{preset.source}]({preset.url})')}. {preset.note}")
    rows = []
    for name, symbol, value in (
        ("alpha", "acceptance rate α", f"{preset.alpha:.4f}"),
        ("gamma", "speculation length γ", f"{preset.gamma}"),
        ("cost_ratio", "cost ratio c", f"{preset.cost_ratio:g}"),
    ):
        origin = "published in the source" if preset.is_published(name) else preset.basis.get(name, "")
        rows.append({"setting": symbol, "value": value, "where it comes from": origin})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if not views.preset_matches_sliders(preset, s.alpha, s.gamma, s.cost, ALPHA_STEP, COST_STEP):
        st.caption(
            "The sliders above have moved away from this preset; the comparison below uses the preset's own "
            "values. Click **Use this setup** again to reset the sliders."
        )
    elif abs(s.alpha - preset.alpha) > 1e-9:
        st.caption(
            f"The α slider shows {s.alpha:.2f} (its step is {ALPHA_STEP}); the comparison below uses the "
            f"preset's α = {preset.alpha:.4f}."
        )
    published_simulated_exact(preset, s.rounds)
    st.info(preset_lesson(preset), icon=":material/lightbulb:")


def published_simulated_exact(preset, rounds: int) -> None:
    """Three boxes: the paper's numbers, the i.i.d. Monte Carlo and the closed form at the preset's values."""
    estimate, _ = iid_estimate(preset.alpha, preset.gamma, rounds)
    step_cost = preset.gamma * preset.cost_ratio + 1.0
    pub_col, sim_col, exact_col = st.columns(3, border=True)
    with pub_col:
        st.markdown(published(preset.source))
        st.metric(
            "Tokens per pass (published)",
            "not given" if preset.published_accept_length is None else f"{preset.published_accept_length:g}",
        )
        st.metric("Speedup (published, measured)", published_headline_speedup(preset))
        if preset.published_predicted_speedup is not None:
            st.caption(f"The paper's own prediction: {fmt_speedup(preset.published_predicted_speedup)}.")
    with sim_col:
        st.markdown(f"{SIMULATED} i.i.d. Monte Carlo, {rounds:,} passes")
        st.metric("Tokens per pass (simulated)", f"{estimate.mean:.3f}", help=f"SE {estimate.stderr:.4f}")
        st.metric("Speedup (simulated)", fmt_speedup(estimate.mean / step_cost))
    with exact_col:
        st.markdown(f"{EXACT} closed form at these values")
        st.metric("Tokens per pass (exact)", f"{preset.expected_accept_length:.3f}")
        st.metric("Speedup (exact)", fmt_speedup(preset.predicted_speedup))


def preset_lesson(preset) -> str:
    """What the comparison teaches for this preset, worded from its actual numbers."""
    if "alpha" in preset.published_fields:
        parts = [
            "The source publishes α itself, so the simulation and the closed form use the paper's own acceptance rate."
        ]
    else:
        parts = [
            "α was derived from the published tokens per pass, so that column matches by construction; "
            "the speedup is the real test."
        ]
    gap = measured_vs_model(preset)
    if gap:
        parts.append(gap)
    implied = preset.implied_cost_ratio
    if implied is not None:
        origin = "published" if preset.is_published("cost_ratio") else "assumed"
        parts.append(
            f"The cost ratio that would make the closed form hit the measured speedup is c = {implied:.3f} "
            f"{EXACT}, against the {origin} c = {preset.cost_ratio:g}. Acceptance transfers between "
            "setups; cost does not, so keep them as separate inputs."
        )
    return " ".join(parts)


def measured_vs_model(preset) -> str | None:
    """How the closed form's speedup compares with the published measurement, and likely reasons."""
    low, high = views.published_speedup_range(preset)
    model = preset.predicted_speedup
    if low is None or high is None:
        return None
    if model > high:
        return (
            f"The closed form ({fmt_speedup(model)}) is more optimistic than the measurement "
            f"({published_headline_speedup(preset)}): it charges a pass only γ·c + 1 target forwards and "
            "ignores what a real system pays on top (sampling, scheduling, kernel launches)."
        )
    if model >= low:
        return f"The closed form ({fmt_speedup(model)}) lies within the published range."
    reasons = []
    if not preset.is_published("cost_ratio"):
        reasons.append("the assumed cost ratio may be too high")
    if "EAGLE" in preset.label and "chain" not in preset.label:
        reasons.append("the paper drafts a tree, which this chain model cannot")
    if preset.published_predicted_speedup is not None:
        reasons.append(
            f"the paper's own prediction ({fmt_speedup(preset.published_predicted_speedup)}) also "
            "differs from its measurement: one α summarises a whole task"
        )
    return (
        f"The paper measured more ({published_headline_speedup(preset)}) than the closed form predicts "
        f"({fmt_speedup(model)})" + (": " + "; ".join(reasons) + "." if reasons else ".")
    )


def presets_overview(presets) -> None:
    st.markdown(f"**All setups at a glance**: published speedup vs the model's {EXACT} prediction")
    table = views.presets_table(presets)
    show_chart("presets_overview", table)
    st.caption(
        "Orange: the paper's measured speedup (a bar when it reports a range). Green: the closed form at the "
        "preset's α, γ and c. The gaps go both ways: the closed form leaves out a real system's overheads "
        "(optimistic), while tree drafts and assumed cost ratios can make it pessimistic."
    )
    csv_button(table, "published-presets")
