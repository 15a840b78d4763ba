"""Simulator: acceptance, speedup and cost explored by Monte Carlo and closed forms.

A lesson in five sections: basics (one alpha, one gamma), the alpha x gamma landscape, real published
setups, acceptance beyond i.i.d. (depth decay and trees), and when speculation hurts (batch size on a
roofline cost model). Every setting round-trips through the URL (contract in docs/developing.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.lessons import simulator_views as views
from core.lessons.simulator_settings import (
    ALPHA_STEP,
    COST_STEP,
    MAX_BATCH,
    MAX_CONTEXT,
    MAX_COST,
    MAX_GAMMA,
    MIN_CONTEXT,
    ROUNDS_OPTIONS,
    SECTIONS,
    SimulatorSettings,
    parse_query_params,
    share_link,
    to_query_params,
)
from core.references import cost_calibration
from core.references import published as published_data
from core.simulation import closed_form, cost_model, montecarlo, tree
from core.simulation.engine_profile import calibrated_profile_for, get_profile
from pages import _simulator_charts as charts
from pages._common import EXACT, SIMULATED, csv_download, published

DEFAULTS = SimulatorSettings()
SECTION_LABELS = {
    "basics": "1 · Basics",
    "landscape": "2 · Landscape",
    "presets": "3 · Real models",
    "beyond": "4 · Beyond i.i.d.",
    "cost": "5 · When it hurts",
}
# URL parameters each section shares (the link carries what the section on screen uses).
SECTION_PARAMS = {
    "basics": ("section", "alpha", "gamma", "cost", "rounds"),
    "landscape": ("section", "alpha", "gamma", "cost"),
    "presets": ("section", "alpha", "gamma", "cost", "rounds", "preset"),
    "beyond": ("section", "cost", "rounds"),
    "cost": ("section", "alpha", "gamma", "hardware", "target", "draft", "batch", "context"),
}
NOTEBOOK_ACCURACIES = (0.5, 0.7, 0.85, 0.95)
TABLE_ROUNDS = 200_000  # Monte Carlo rounds per row of the draft-accuracy table
SEED = 0


def key(name: str) -> str:
    """Session-state key of a Simulator setting (prefixed by the page name)."""
    return f"sim_{name}"


# ----------------------------------------------------------------------------------------------- cache


@st.cache_data(max_entries=1, show_spinner=False)
def cost_choices() -> dict[str, dict[str, str]]:
    presets = cost_model.load_presets()
    return {
        "hardware": {k: v.name for k, v in presets.hardware.items()},
        "target": {k: v.name for k, v in presets.targets.items()},
        "draft": {k: v.name for k, v in presets.drafts.items()},
    }


@st.cache_resource(show_spinner="Compiling the Monte Carlo kernels (once per server)...")
def warm_kernels() -> bool:
    montecarlo.warm_up()
    tree.warm_up()
    return True


@st.cache_data(max_entries=512, show_spinner=False)
def iid_counts(alpha: float, gamma: int, rounds: int, seed: int) -> np.ndarray:
    """Passes that accepted 0..gamma drafts, from one Monte Carlo chunk (i.i.d. acceptance)."""
    result = montecarlo.simulate_iid(alpha, gamma, rounds, seed=seed)
    return np.asarray(result.accepted_histogram, dtype=np.int64)


@st.cache_data(max_entries=64, show_spinner=False)
def gamma_sweep(alpha: float, cost: float, max_gamma: int) -> pd.DataFrame:
    return views.gamma_sweep(alpha, cost, max_gamma)


@st.cache_data(max_entries=64, show_spinner=False)
def landscape(cost: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    return views.landscape_grid(cost, alpha_step=0.02, max_gamma=16), views.break_even_line(cost, 16)


@st.cache_data(max_entries=128, show_spinner=False)
def batch_sweep(
    hardware, target, draft, alpha, gamma, batches, context, overhead_s, profile=None
) -> pd.DataFrame:
    sweep = cost_model.speedup_vs_batch(
        hardware, target, draft, alpha, gamma, batches, context, overhead_s=overhead_s, profile=profile
    )
    return pd.DataFrame(sweep.rows())


def run_chunks(plan: list[tuple[int, int]], one_chunk, label: str) -> list:
    """Run ``one_chunk(rounds, seed)`` for each chunk, with a progress bar between chunks (stoppable)."""
    if len(plan) == 1:
        return [one_chunk(*plan[0])]
    total = sum(n for n, _ in plan)
    bar = st.progress(0.0, text=f"{label}: starting {total:,} rounds in {len(plan)} chunks")
    results, done = [], 0
    for rounds, seed in plan:
        results.append(one_chunk(rounds, seed))
        done += rounds
        bar.progress(done / total, text=f"{label}: {done:,} of {total:,} rounds")
    bar.empty()
    return results


def iid_estimate(alpha: float, gamma: int, rounds: int, seed: int = SEED):
    """Tokens-per-pass estimate and the pooled histogram of a (possibly chunked) i.i.d. Monte Carlo run."""
    plan = views.chunk_plan(rounds, seed)
    parts = run_chunks(plan, lambda n, s: iid_counts(alpha, gamma, n, s), "Simulating")
    counts = np.sum(parts, axis=0)
    return views.estimate_from_histogram(counts), counts


# ------------------------------------------------------------------------------------------ helpers


def csv_button(frame: pd.DataFrame, name: str, label: str = "Download the data (CSV)") -> None:
    csv_download(frame, name, key(f"csv_{name}"), label)


@st.cache_data(max_entries=256, show_spinner=False)
def chart_spec(name: str, *args) -> dict:
    """The Vega-Lite spec built by ``pages/_simulator_charts.<name>(*args)`` (cached: Altair is slow)."""
    return getattr(charts, name)(*args)


def show_chart(name: str, *args) -> None:
    st.vega_lite_chart(spec=chart_spec(name, *args), width="stretch")


def fmt_speedup(value: float) -> str:
    return f"{value:.2f}x"


# ------------------------------------------------------------------------------ URL <-> session state


def apply_url() -> list[str]:
    """Copy settings from the URL into session state when the URL changed since this page last wrote it.

    Runs before any widget renders. Returns the warnings for values that were ignored or adjusted.
    """
    current = st.query_params.to_dict()
    if current == st.session_state.get(key("url_written")):
        return []
    choices = {name: tuple(options) for name, options in cost_choices().items()}
    choices["preset"] = tuple(preset_ids())
    values, warnings = parse_query_params(current, choices=choices)
    for name, value in values.items():
        st.session_state[key(name)] = value
    return warnings


def write_url(settings: SimulatorSettings) -> dict[str, str]:
    params = to_query_params(settings, include=SECTION_PARAMS[settings.section])
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
    st.session_state[key("url_written")] = params
    return params


# ------------------------------------------------------------------------------------------- sections


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
    exact_speedup = float(closed_form.walltime_speedup(s.alpha, s.gamma, s.cost))

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
        b.metric("Speedup (exact)", fmt_speedup(exact_speedup))
        st.caption("Speedup = E[N] / (γ·c + 1), Leviathan Theorem 3.8 (verify pass as cheap as one step).")

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
        best_gamma, best_speedup = closed_form.optimal_gamma(s.alpha, s.cost, max_gamma=MAX_GAMMA)
        top = min(MAX_GAMMA, max(16, s.gamma, best_gamma + 2))
        sweep = gamma_sweep(s.alpha, s.cost, top)
        st.markdown(f"**Speedup vs speculation length** {EXACT}")
        show_chart("speedup_vs_gamma", sweep, s.gamma, best_gamma, estimate.mean / step_cost)
        st.caption(
            f"Best γ for α = {s.alpha:.2f}, c = {s.cost:.2f}: **{best_gamma}** ({fmt_speedup(best_speedup)}). "
            "Longer drafts add cost γ·c every pass but the chance that draft k survives, α^k, keeps "
            "shrinking: past the optimum, extra drafts cost more than they return."
        )
        csv_button(sweep, "speedup-vs-gamma")

    notebook_question(s)


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
    rows = []
    for alpha in NOTEBOOK_ACCURACIES:
        mine, _ = iid_estimate(alpha, s.gamma, TABLE_ROUNDS)
        best_gamma, best_exact = closed_form.optimal_gamma(alpha, s.cost, max_gamma=MAX_GAMMA)
        at_best, _ = iid_estimate(alpha, best_gamma, TABLE_ROUNDS)
        rows.append(
            {
                "alpha": alpha,
                "gamma": s.gamma,
                "tokens_per_pass_simulated": mine.mean,
                "tokens_per_pass_exact": float(closed_form.expected_tokens_per_pass(alpha, s.gamma)),
                "speedup_simulated": mine.mean / (s.gamma * s.cost + 1),
                "speedup_exact": float(closed_form.walltime_speedup(alpha, s.gamma, s.cost)),
                "best_gamma": best_gamma,
                "best_speedup_simulated": at_best.mean / (best_gamma * s.cost + 1),
                "best_speedup_exact": best_exact,
                "cost_ratio": s.cost,
            }
        )
    table = pd.DataFrame(rows)
    number = st.column_config.NumberColumn
    yours, best = st.columns([5, 4])
    with yours:
        st.markdown(f"**At your γ = {s.gamma}**")
        st.dataframe(
            table[
                [
                    "alpha",
                    "tokens_per_pass_simulated",
                    "tokens_per_pass_exact",
                    "speedup_simulated",
                    "speedup_exact",
                ]
            ],
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
    st.caption(
        "Even 50 % accuracy helps when the draft is cheap, and the best γ grows fast with accuracy: a "
        "fixed γ = 5 leaves speed on the table at 95 % and wastes draft work at 50 %. With a costly draft or "
        "low accuracy the speedup drops below 1x (try α = 0.3, c = 0.3): speculation *can* be slower than "
        "plain decoding, and section 5 shows that even a good draft loses at large batch."
    )
    csv_button(table, "draft-accuracy")


def set_values(values: dict) -> None:
    """Button callback: store settings before the widgets of the next run render."""
    for name, value in values.items():
        st.session_state[key(name)] = value


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
    csv_button(grid, "landscape")
    csv_button(line, "break-even", label="Download the break-even line (CSV)")


def preset_ids() -> list[str]:
    return [p.id for p in published_presets()]


@st.cache_data(max_entries=1, show_spinner=False)
def published_presets() -> list:
    return published_data.simulator_presets()


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
    on_sliders = (
        abs(s.alpha - preset.alpha) <= ALPHA_STEP / 2 + 1e-9
        and s.gamma == preset.gamma
        and abs(s.cost - preset.cost_ratio) <= COST_STEP / 2 + 1e-9
    )
    if not on_sliders:
        st.caption(
            "The sliders above have moved away from this preset; the comparison below uses the preset's own "
            "values. Click **Use this setup** again to reset the sliders."
        )
    elif abs(s.alpha - preset.alpha) > 1e-9:
        st.caption(
            f"The α slider shows {s.alpha:.2f} (its step is {ALPHA_STEP}); the comparison below uses the "
            f"preset's α = {preset.alpha:.4f}."
        )
    estimate, _ = iid_estimate(preset.alpha, preset.gamma, s.rounds)
    exact_tokens = preset.expected_accept_length
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
        st.markdown(f"{SIMULATED} i.i.d. Monte Carlo, {s.rounds:,} passes")
        st.metric("Tokens per pass (simulated)", f"{estimate.mean:.3f}", help=f"SE {estimate.stderr:.4f}")
        st.metric("Speedup (simulated)", fmt_speedup(estimate.mean / step_cost))
    with exact_col:
        st.markdown(f"{EXACT} closed form at these values")
        st.metric("Tokens per pass (exact)", f"{exact_tokens:.3f}")
        st.metric("Speedup (exact)", fmt_speedup(preset.predicted_speedup))
    st.info(preset_lesson(preset), icon=":material/lightbulb:")


def preset_lesson(preset) -> str:
    """What the comparison teaches for this preset, worded from its actual numbers."""
    parts = []
    if "alpha" in preset.published_fields:
        parts.append(
            "The source publishes α itself, so the simulation and the closed form use the paper's own acceptance rate."
        )
    else:
        parts.append(
            "α was derived from the published tokens per pass, so that column matches by construction; "
            "the speedup is the real test."
        )
    low = preset.published_speedup if preset.published_speedup is not None else preset.published_speedup_low
    high = preset.published_speedup if preset.published_speedup is not None else preset.published_speedup_high
    model = preset.predicted_speedup
    if low is not None and high is not None:
        if model < low:
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
            parts.append(
                f"The paper measured more ({published_headline_speedup(preset)}) than the closed form predicts "
                f"({fmt_speedup(model)})" + (": " + "; ".join(reasons) + "." if reasons else ".")
            )
        elif model > high:
            parts.append(
                f"The closed form ({fmt_speedup(model)}) is more optimistic than the measurement "
                f"({published_headline_speedup(preset)}): it charges a pass only γ·c + 1 target forwards and "
                "ignores what a real system pays on top (sampling, scheduling, kernel launches)."
            )
        else:
            parts.append(f"The closed form ({fmt_speedup(model)}) lies within the published range.")
    implied = preset.implied_cost_ratio
    if implied is not None:
        origin = "published" if preset.is_published("cost_ratio") else "assumed"
        parts.append(
            f"The cost ratio that would make the closed form hit the measured speedup is c = {implied:.3f} "
            f"{EXACT}, against the {origin} c = {preset.cost_ratio:g}. Acceptance transfers between "
            "setups; cost does not, so keep them as separate inputs."
        )
    return " ".join(parts)


def published_headline_speedup(preset) -> str:
    if preset.published_speedup is not None:
        return fmt_speedup(preset.published_speedup)
    if preset.published_speedup_low is not None and preset.published_speedup_high is not None:
        return f"{preset.published_speedup_low:g}-{preset.published_speedup_high:g}x"
    return "not given"


def presets_overview(presets) -> None:
    st.markdown(f"**All setups at a glance**: published speedup vs the model's {EXACT} prediction")
    rows = []
    for p in presets:
        low = p.published_speedup if p.published_speedup is not None else p.published_speedup_low
        high = p.published_speedup if p.published_speedup is not None else p.published_speedup_high
        rows.append(
            {
                "setup": p.label,
                "alpha": p.alpha,
                "gamma": p.gamma,
                "cost_ratio": p.cost_ratio,
                "published_accept_length": p.published_accept_length,
                "published_speedup_low": low,
                "published_speedup_high": high,
                "exact_tokens_per_pass": p.expected_accept_length,
                "exact_speedup": p.predicted_speedup,
                "implied_cost_ratio": p.implied_cost_ratio,
                "source": p.source,
            }
        )
    table = pd.DataFrame(rows)
    show_chart("presets_overview", table)
    st.caption(
        "Orange: the paper's measured speedup (a bar when it reports a range). Green: the closed form at the "
        "preset's α, γ and c. The gaps go both ways: the closed form leaves out a real system's overheads "
        "(optimistic), while tree drafts and assumed cost ratios can make it pessimistic."
    )
    csv_button(table, "published-presets")


EAGLE1_DEPTH = "0.79, 0.74, 0.72, 0.73, 0.67"


@st.cache_data(max_entries=256, show_spinner=False)
def depth_counts(acceptances: tuple[float, ...], rounds: int, seed: int) -> np.ndarray:
    """Passes that accepted 0..g drafts, from one Monte Carlo chunk with depth-dependent acceptance."""
    return np.asarray(montecarlo.simulate_depth(list(acceptances), rounds, seed=seed).accepted_histogram)


def section_beyond(s: SimulatorSettings) -> None:
    st.subheader("Beyond i.i.d.: acceptance that decays with depth, and trees")
    depth_part(s)
    st.divider()
    tree_part(s)


def depth_part(s: SimulatorSettings) -> None:
    reference = published_data.get_reference("eagle1-depth-acceptance")
    st.markdown(
        "Real drafts get worse the further ahead they guess: draft k is built on k − 1 guesses of its own. "
        "Give an acceptance rate for each depth, **a_k** = the chance that draft k is accepted given that "
        "drafts 1..k − 1 were; the chain length is the number of values. The default is EAGLE-1's measured "
        f"per-depth acceptance on Vicuna-7B {published(reference.source)}."
    )
    text = st.text_input(
        "Acceptance at each depth a_1, a_2, ... (comma separated)",
        key=key("depth"),
        help=reference.note,
        persist_state="session",
    )
    try:
        acceptances = tuple(views.parse_acceptances(text, max_len=MAX_GAMMA))
    except ValueError as error:
        st.error(f"Cannot use these acceptance rates: {error}.")
        return
    plan = views.chunk_plan(s.rounds, SEED)
    parts = run_chunks(plan, lambda n, seed: depth_counts(acceptances, n, seed), "Simulating the chain")
    counts = np.sum(parts, axis=0)
    estimate = views.estimate_from_histogram(counts)
    exact = montecarlo.depth_expected_tokens(acceptances)
    g = len(acceptances)
    mean_a = float(np.mean(acceptances))
    iid_same_mean = float(closed_form.expected_tokens_per_pass(mean_a, g))
    iid_equivalent = closed_form.alpha_from_accept_length(exact, g)
    a, b, c = st.columns(3, border=True)
    a.markdown(f"{SIMULATED} {s.rounds:,} passes")
    a.metric("Tokens per pass (simulated)", f"{estimate.mean:.3f}", help=f"SE {estimate.stderr:.4f}")
    b.markdown(f"{EXACT} 1 + Σ_k a_1···a_k")
    b.metric("Tokens per pass (exact)", f"{exact:.3f}")
    c.markdown(f"{EXACT} i.i.d. with α = mean(a) = {mean_a:.3f}")
    c.metric("Tokens per pass, i.i.d. at the mean (exact)", f"{iid_same_mean:.3f}")
    verdict = "inside" if estimate.contains(exact) else "OUTSIDE"
    st.caption(
        f"The exact value lies {verdict} the simulated mean ± 4 standard errors "
        f"[{estimate.mean - 4 * estimate.stderr:.3f}, {estimate.mean + 4 * estimate.stderr:.3f}]. "
        f"One i.i.d. α that gives the same tokens per pass at γ = {g} is α = {iid_equivalent:.3f} {EXACT}: "
        "a single α is a summary of the chain, and it is what you get when you turn a measured accept "
        "length back into α."
    )
    survival = views.depth_survival(acceptances, counts)
    show_chart("depth_survival", survival)
    st.caption(
        "Each pass keeps draft k only if drafts 1..k all survive, so the chance is the running product "
        "a_1···a_k. Tokens per pass = 1 + the sum of these chances."
    )
    csv_button(survival, "depth-acceptance")


TREE_RANKS = "0.78, 0.10, 0.04, 0.02"
TREE_DEFAULTS = {
    "tree_depth": 5,
    "tree_topk": 4,
    "tree_budget": 16,
    "tree_decay": 0.95,
    "tree_ranks": TREE_RANKS,
}


@st.cache_data(max_entries=256, show_spinner=False)
def tree_counts(depth, topk, ranks, budget, decay, rounds: int, seed: int) -> np.ndarray:
    """Passes that accepted 0..depth tree nodes, from one Monte Carlo chunk over the kept tree."""
    spec = tree.TreeSpec(depth, topk, ranks, budget, decay)
    return np.asarray(tree.simulate_tree(spec, rounds, seed=seed).accepted_histogram)


@st.cache_data(max_entries=64, show_spinner=False)
def tree_drawing(depth, topk, ranks, budget, decay) -> tuple[pd.DataFrame, pd.DataFrame]:
    spec = tree.TreeSpec(depth, topk, ranks, budget, decay)
    return views.tree_layout(tree.tree_nodes(spec, include_pruned=True))


def clamp_tree_budget() -> None:
    """Callback: keep the verify budget inside what the new depth and top-k can draft."""
    depth, topk = st.session_state[key("tree_depth")], st.session_state[key("tree_topk")]
    most = min(64, 1 + topk + (depth - 1) * topk * topk)
    st.session_state[key("tree_budget")] = min(st.session_state[key("tree_budget")], most)


def tree_part(s: SimulatorSettings) -> None:
    reference = published_data.get_reference("eagle1-vicuna7b-chain-vs-tree")
    st.markdown(
        "**Tree drafting** (SpecInfer, Medusa, EAGLE-2/3): instead of one guess per position the draft "
        "proposes its top-k candidates and expands the most promising branches. The target verifies the "
        "whole tree in one pass and keeps the longest accepted path. A tree catches the cases where the "
        "draft's second or third choice was right, at the price of verifying more tokens per pass."
    )
    a, b, c = st.columns(3)
    depth = a.slider(
        "Draft steps (tree depth)",
        1,
        8,
        key=key("tree_depth"),
        on_change=clamp_tree_budget,
        persist_state="session",
        help="SGLang: --speculative-num-steps",
    )
    topk = b.slider(
        "Children per expanded node (top-k)",
        1,
        8,
        key=key("tree_topk"),
        on_change=clamp_tree_budget,
        persist_state="session",
        help="SGLang: --speculative-eagle-topk; 1 is a chain.",
    )
    most = min(64, 1 + topk + (depth - 1) * topk * topk)
    budget = c.slider(
        "Verified tokens per pass (budget)",
        2,
        most,
        key=key("tree_budget"),
        persist_state="session",
        help="SGLang: --speculative-num-draft-tokens: the root plus the most probable drafted nodes.",
    )
    a, b = st.columns([2, 1])
    ranks_text = a.text_input(
        "Chance the target's token is the draft's 1st, 2nd, 3rd, ... choice at depth 1",
        key=key("tree_ranks"),
        persist_state="session",
        help="Disjoint events, so they must sum to at most 1. ASSUMED defaults: EAGLE-1 does not publish them.",
    )
    decay = b.slider(
        "Decay per depth",
        0.5,
        1.0,
        step=0.01,
        key=key("tree_decay"),
        persist_state="session",
        help="Match chances at depth d are multiplied by decay^(d-1).",
    )
    try:
        ranks = views.parse_acceptances(ranks_text, max_len=16)
        if len(ranks) < topk:
            st.caption(
                f"Only {len(ranks)} rank chances given: ranks {len(ranks) + 1}..{topk} are taken as 0."
            )
            ranks = ranks + [0.0] * (topk - len(ranks))
        spec = tree.TreeSpec(depth, topk, tuple(ranks), budget, decay)
    except ValueError as error:
        st.error(f"Cannot build this tree: {error}.")
        return
    args = (spec.depth, spec.topk, spec.rank_acceptance, spec.num_draft_tokens, spec.depth_decay)
    plan = views.chunk_plan(s.rounds, SEED)
    parts = run_chunks(plan, lambda n, seed: tree_counts(*args, n, seed), "Simulating the tree")
    estimate = views.estimate_from_histogram(np.sum(parts, axis=0))
    compare = tree.chain_vs_tree(spec)
    draft_cost = spec.depth * s.cost + 1.0
    rows = [
        ("chain of the same depth", "exact", compare.chain_tokens_per_pass, compare.chain_verified_tokens),
        (
            "chain with the same verify budget",
            "exact",
            compare.chain_same_budget_tokens_per_pass,
            compare.chain_same_budget_verified_tokens,
        ),
        ("this tree", "exact", compare.tree_tokens_per_pass, compare.tree_verified_tokens),
        ("this tree", "simulated", estimate.mean, compare.tree_verified_tokens),
        ("EAGLE-1 chain, Vicuna-7B", "published", reference.metric("accept_length_chain"), None),
        ("EAGLE-1 tree, Vicuna-7B", "published", reference.metric("accept_length_tree"), None),
    ]
    table = pd.DataFrame(rows, columns=["draft", "kind", "tokens_per_pass", "verified_tokens"])
    st.markdown("**Tokens per verify pass** for this tree and for a chain from the same drafter")
    m1, m2, m3, m4 = st.columns(4, border=True)
    m1.markdown(SIMULATED)
    m1.metric(
        "Tree (simulated)",
        f"{estimate.mean:.3f}",
        help=f"SE {estimate.stderr:.4f}, {s.rounds:,} passes",
    )
    m2.markdown(EXACT)
    m2.metric("Tree (exact)", f"{compare.tree_tokens_per_pass:.3f}")
    m3.markdown(EXACT)
    m3.metric(
        "Chain, same depth (exact)",
        f"{compare.chain_tokens_per_pass:.3f}",
        help="topk = 1: only the draft's top choice at each step.",
    )
    m4.markdown(EXACT)
    m4.metric(
        "Tree speedup (exact)",
        fmt_speedup(compare.tree_tokens_per_pass / draft_cost),
        help=f"At c = {s.cost:.2f}: tokens per pass / (depth·c + 1); each draft step costs c, the verify pass one target step "
        "(batch 1, memory-bound: a few extra verified tokens are nearly free; section 5 shows when not).",
    )
    chart_col, tree_col = st.columns([1, 1])
    with chart_col:
        st.markdown(f"**Chain vs tree** {SIMULATED} {EXACT} vs {published('EAGLE-1 paper')}")
        show_chart("chain_vs_tree", table)
    with tree_col:
        st.markdown(f"**The draft tree** {EXACT} (dark: verified, light: drafted but cut by the budget)")
        nodes, edges = tree_drawing(*args)
        show_chart("draft_tree", nodes, edges)
    st.caption(
        f"Published values: {reference.source} (Vicuna-7B). "
        "The default rank chances and decay are ASSUMED (EAGLE-1 publishes neither); they put this model's "
        f"chain near EAGLE-1's published chain ({reference.metric('accept_length_chain'):g}). The tree value "
        f"is then the model's prediction, beside EAGLE-1's published tree "
        f"({reference.metric('accept_length_tree'):g}). With decay 1.0 (no decay) a long chain with the same "
        "verify budget can beat the tree: trees pay off because deep guesses are unreliable."
    )
    csv_button(table, "chain-vs-tree")
    csv_button(nodes, "draft-tree", label="Download the tree nodes (CSV)")


BATCH_LADDER = (
    1,
    2,
    4,
    8,
    12,
    16,
    24,
    32,
    48,
    64,
    96,
    128,
    192,
    256,
    384,
    512,
    768,
    1024,
    1536,
    2048,
    3072,
    4096,
)


def section_cost(s: SimulatorSettings) -> None:
    st.subheader("When speculation hurts: batch size on a roofline")
    st.markdown(
        "At batch 1, decoding is **memory-bound**: every step reads all the target's weights once to produce "
        "one token, and the arithmetic units mostly wait. Verifying γ + 1 tokens in that same pass is then "
        "almost free, which is where speculation's gain comes from. With many sequences in flight the same "
        "weight read is shared by batch × (γ + 1) tokens; once that reaches the **compute roof**, every "
        "extra verified token costs real time, and rejected drafts are pure waste. The KV cache is different: "
        "each sequence reads its own context, so KV reads grow with batch × context and long contexts stay "
        "memory-bound longer."
    )
    choices = cost_choices()
    a, b, c = st.columns(3)
    hardware = a.selectbox(
        "Hardware",
        list(choices["hardware"]),
        format_func=choices["hardware"].get,
        key=key("hardware"),
        persist_state="session",
    )
    target = b.selectbox(
        "Target model",
        list(choices["target"]),
        format_func=choices["target"].get,
        key=key("target"),
        persist_state="session",
    )
    draft = c.selectbox(
        "Draft",
        list(choices["draft"]),
        format_func=choices["draft"].get,
        key=key("draft"),
        persist_state="session",
    )
    a, b, c = st.columns(3)
    batch = a.number_input(
        "Batch size (sequences decoded together)",
        min_value=1,
        max_value=MAX_BATCH,
        step=1,
        key=key("batch"),
        persist_state="session",
    )
    context = b.number_input(
        "Context length (tokens per sequence)",
        min_value=MIN_CONTEXT,
        max_value=MAX_CONTEXT,
        step=1024,
        key=key("context"),
        persist_state="session",
    )
    overhead_ms = c.slider(
        "Fixed overhead per forward (ms)",
        min_value=0.0,
        max_value=2.0,
        step=0.05,
        key=key("overhead_ms"),
        persist_state="session",
        help="An ASSUMED stand-in for kernel launches, sampling and scheduling (0.1 ms by default). Only "
        "the ideal roofline uses it: a calibrated profile has its own fitted costs.",
        disabled=st.session_state.get(key("cost_model")) == "calibrated"
        and calibrated_profile_for(hardware) is not None,
    )
    profile = cost_profile_choice(hardware)
    st.caption(
        f"Uses α = {s.alpha:.2f} and γ = {s.gamma} from the sliders above. The cost ratio c comes from the "
        "model below (draft time / target time at this batch), so the c slider is not used here."
        + (
            " The calibrated model has its own fixed cost per pass, so the overhead slider is not used."
            if profile
            else ""
        )
    )
    batches = tuple(sorted({*[b for b in BATCH_LADDER if b <= max(1024, 2 * batch)], int(batch)}))
    try:
        frame = batch_sweep(
            hardware, target, draft, s.alpha, s.gamma, batches, int(context), overhead_ms / 1e3, profile
        )
        fit = cost_model.memory_check(hardware, target, draft, int(batch), int(context), s.gamma)
        c_eff = cost_model.effective_cost_ratio(
            hardware, target, draft, int(batch), int(context), overhead_ms / 1e3, profile
        )
        max_fit = cost_model.max_batch_that_fits(hardware, target, draft, int(context), s.gamma)
    except ValueError as error:
        st.error(f"The cost model cannot use this setting: {error}")
        return
    row = frame[frame["batch_size"] == int(batch)].iloc[0]
    break_even = frame.loc[frame["speedup"] < 1.0, "batch_size"]
    if fit.fits is False:
        st.warning(
            f"{SIMULATED} {fit.message} The numbers below are what the model computes if memory were not the limit. "
            + (
                f"At this context at most {max_fit} sequences fit."
                if max_fit
                else "Even the weights do not fit: pick larger hardware (e.g. 4x H100) or a smaller target."
            ),
            icon=":material/memory:",
        )
    else:
        st.caption(f"{SIMULATED} {fit.message}")
    model_name = f"calibrated cost model ({profile})" if profile else "ideal roofline (a best case)"
    st.markdown(f"{SIMULATED} {model_name} at batch {int(batch)} (a model, not a measurement)")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Speedup (simulated)", fmt_speedup(row["speedup"]))
    m2.metric("Plain decoding (tok/s, simulated)", f"{row['baseline_tok_s']:,.0f}")
    m3.metric("Speculative (tok/s, simulated)", f"{row['speculative_tok_s']:,.0f}")
    m4.metric(
        "Effective c (simulated)",
        f"{c_eff:.3f}",
        help="Draft forward time / target forward time at this batch and context.",
    )
    regime = row["verify_regime"]
    st.markdown(
        f"The verify pass is **{regime}** at this batch "
        + (
            f"and speculation first loses at **batch {int(break_even.iloc[0])}** in this sweep."
            if len(break_even)
            else f"and speculation stays ahead up to batch {int(frame['batch_size'].max())} in this sweep."
        )
    )
    chart_col, tok_col = st.columns([3, 2])
    with chart_col:
        st.markdown(
            f"**Speedup vs batch size** {SIMULATED} model, {published('EAGLE-3 paper, Table 3')} points"
        )
        first_loss = int(break_even.iloc[0]) if len(break_even) else None
        show_chart("speedup_vs_batch", frame, published_batch_points(), int(batch), first_loss)
    with tok_col:
        st.markdown(f"**Throughput** {SIMULATED}")
        show_chart("throughput_vs_batch", frame)
    points = published_batch_points()
    st.caption(
        "Published points: "
        + points.iloc[0]["source"]
        + " (SGLang, one H100, Llama-3.1-8B, a chain of 3 drafts): the measured throughput ratio of EAGLE-1 "
        "and EAGLE-3 over plain decoding. They are a different system (real kernels, real acceptance), so "
        "compare the trend, not the values. Hollow points: weights + KV cache do not fit in memory."
    )
    st.button(
        "Match the published setup (H100, Llama-3.1-8B, EAGLE-3 head, γ = 3)",
        on_click=set_values,
        kwargs={
            "values": {
                "hardware": "h100-sxm",
                "target": "llama-3.1-8b",
                "draft": "eagle3-llama-3.1-8b",
                "gamma": 3,
            }
        },
        key=key("match_table3"),
    )
    ridge = cost_model.ridge_tokens(hardware, target)
    tokens = float(closed_form.expected_tokens_per_pass(s.alpha, s.gamma))
    st.markdown(
        f"""
**Why the gain shrinks (on the ideal roofline).** A plain step at batch B reads the weights once for B tokens. A speculative step
runs γ = {s.gamma} cheap draft passes and verifies B × {s.gamma + 1} tokens in one target pass, and keeps
B × E[N] = B × {tokens:.2f} tokens. The hardware's **ridge point** for this target, where compute time
equals the weight-read time, is about **{ridge:,.0f} tokens per pass** {SIMULATED}. Below it the verify
pass costs about one plain step, so the gain is close to the batch-1 closed form. Above it every verified
token costs compute, rejected drafts included, and the ratio sinks toward E[N] / (γ + 1) =
{tokens / (s.gamma + 1):.2f}x, slower than plain decoding. **Context matters too:** each sequence reads its
own KV cache, so memory time grows with batch × context and long contexts stay memory-bound (and
speculation stays ahead) at larger batches; try 512 vs 8,192 tokens.

The **ideal roofline** {SIMULATED} is the best case: vendor peaks, one fixed overhead per pass, nothing
else. Real engines cross over much earlier: EAGLE-1 fell to 0.93x at batch 24
{published("EAGLE-3 paper, Table 3")}. The **calibrated** model adds the costs a real engine pays
(achieved bandwidth and FLOPS, per-token costs of plain, draft and verify passes, the draft's vocabulary,
attention over the KV cache, every tree node verified), fitted once to the EAGLE-3 paper's SGLang
measurements: see how close it comes below.
"""
    )
    csv_button(frame, "speedup-vs-batch")
    csv_button(points, "published-batch-points", label="Download the published points (CSV)")
    calibration_part()


def cost_profile_choice(hardware: str) -> str | None:
    """The engine profile the learner picks: the one calibrated on this hardware, or None (ideal roofline)."""
    calibrated = calibrated_profile_for(hardware)
    if calibrated is None:
        st.caption(
            "No engine profile is calibrated for this hardware: the model is the ideal roofline (a best case)."
        )
        return None
    options = {"calibrated": f"calibrated ({calibrated.engine})", "ideal": "ideal roofline (best case)"}
    choice = st.radio(
        "Cost model", list(options), format_func=options.get, key=key("cost_model"), horizontal=True,
        persist_state="session",
    )  # fmt: skip
    return calibrated.id if choice == "calibrated" else None


@st.cache_data(max_entries=2, show_spinner=False)
def reproduction_tables(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(published points with the model's value and error, the model's curves) for one reproduction."""
    result = cost_calibration.reproduce(name)
    points, curves = [], []
    for method in result["methods"]:
        for p in method["points"]:
            points.append({"method": method["method"], "quantity": method["quantity"], "batch_size": p["batch"],
                           "model": p["model"], "published": p["published"], "error_pct": 100 * p["error"],
                           "alpha": method["inputs"]["alpha"], "steps/topk/draft tokens": "{steps}/{topk}/{draft_tokens}".format(**method["inputs"])})  # fmt: skip
        if method["quantity"] == "speedup":
            sweep = cost_calibration.sweep_for(method["inputs"], range(1, 65))
            curves += [{"method": method["method"], "batch_size": int(b), "speedup": float(v)}
                       for b, v in zip(sweep.batch_sizes, sweep.speedup, strict=True)]  # fmt: skip
    return pd.DataFrame(points), pd.DataFrame(curves)


def calibration_part() -> None:
    """The calibrated model next to the EAGLE-3 paper's Tables 3 and 4, with the error at each point."""
    st.markdown("##### Does the calibrated model reproduce the measurements?")
    profile = get_profile(cost_calibration.calibration_inputs()["profile"])
    table3, curves = reproduction_tables("eagle3-table3")
    table4, _ = reproduction_tables("eagle3-table4")
    source3 = published_data.get_reference("eagle3-table3-batch").source
    source4 = published_data.get_reference("sglang-docs-llama31-8b-h100").source
    st.markdown(f"{SIMULATED} calibrated model (lines) and {published(source3)} (squares)")
    show_chart("reproduction", curves, table3)
    worst3 = table3["error_pct"].abs().max()
    worst4 = table4["error_pct"].abs().max()
    st.markdown(
        f"Largest error: **{worst3:.1f}%** over the 18 points of Table 3, **{worst4:.1f}%** over the three "
        f"throughputs at batch 1 {published(source4)}. One acceptance α per head, the same at every batch "
        "size: batch changes cost, never acceptance."
    )
    st.dataframe(pd.concat([table3, table4]), hide_index=True, width="stretch")
    csv_button(
        pd.concat([table3, table4]), "cost-model-reproduction", label="Download model vs published (CSV)"
    )
    st.caption(
        f"How it was fitted: {profile.fit} Reproduce it with `speclab cost --reproduce eagle3-table3`."
    )


@st.cache_data(max_entries=1, show_spinner=False)
def published_batch_points() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "method": f"{p.method} (published)",
                "batch_size": p.batch_size,
                "speedup": p.throughput_ratio,
                "source": p.source,
                "url": p.url,
            }
            for p in published_data.batch_throughput_series()
        ]
    )


# ----------------------------------------------------------------------------------------------- page

st.title("Simulator")
st.markdown(
    "Explore how acceptance rate, speculation length and cost decide whether speculative decoding pays off. "
    "Every number is labelled: "
    f"{SIMULATED} this app's Monte Carlo or cost model, {EXACT} closed form, or {published('with its source')}."
)

for message in apply_url():
    st.warning(message, icon=":material/link_off:")
for name, value in (
    ("section", DEFAULTS.section),
    ("alpha", DEFAULTS.alpha),
    ("gamma", DEFAULTS.gamma),
    ("cost", DEFAULTS.cost),
    ("rounds", DEFAULTS.rounds),
    ("preset", DEFAULTS.preset),
    ("hardware", DEFAULTS.hardware),
    ("target", DEFAULTS.target),
    ("draft", DEFAULTS.draft),
    ("batch", DEFAULTS.batch),
    ("context", DEFAULTS.context),
    ("overhead_ms", cost_model.DEFAULT_OVERHEAD_S * 1e3),
    ("cost_model", "calibrated"),
    ("depth", EAGLE1_DEPTH),
    *TREE_DEFAULTS.items(),
):
    st.session_state.setdefault(key(name), value)

nav_col, share_col = st.columns([4, 1], vertical_alignment="center")
section = nav_col.segmented_control(
    "Section",
    SECTIONS,
    format_func=SECTION_LABELS.get,
    required=True,
    key=key("section"),
    label_visibility="collapsed",
    persist_state="session",
)
share_box = share_col.popover("Share this setup", icon=":material/share:", width="stretch")
with st.container(border=True):
    col_alpha, col_gamma, col_cost, col_rounds = st.columns(4)
    alpha = col_alpha.slider(
        "Acceptance rate α",
        min_value=0.0,
        max_value=1.0,
        step=ALPHA_STEP,
        key=key("alpha"),
        help="Probability that one draft token is accepted (i.i.d. across positions).",
        persist_state="session",
    )
    gamma = col_gamma.slider(
        "Speculation length γ",
        min_value=0,
        max_value=MAX_GAMMA,
        step=1,
        key=key("gamma"),
        help="Draft tokens proposed per verify pass; γ = 0 is plain decoding.",
        persist_state="session",
    )
    cost = col_cost.slider(
        "Cost ratio c",
        min_value=0.0,
        max_value=MAX_COST,
        step=COST_STEP,
        key=key("cost"),
        help="Time of one draft forward / time of one target forward.",
        disabled=section == "cost",
        persist_state="session",
    )
    rounds = col_rounds.select_slider(
        "Monte Carlo rounds",
        options=ROUNDS_OPTIONS,
        format_func=lambda n: f"{n:,}",
        key=key("rounds"),
        help="Simulated verify passes. More rounds, smaller standard error (it shrinks as 1/√rounds). "
        f"Runs over {views.CHUNK_ROUNDS:,} go in chunks with a progress bar.",
        persist_state="session",
    )

settings = DEFAULTS.with_values(
    {
        "section": section,
        "alpha": float(alpha),
        "gamma": int(gamma),
        "cost": float(cost),
        "rounds": int(rounds),
        "preset": st.session_state[key("preset")],
        "hardware": st.session_state[key("hardware")],
        "target": st.session_state[key("target")],
        "draft": st.session_state[key("draft")],
        "batch": int(st.session_state[key("batch")]),
        "context": int(st.session_state[key("context")]),
    }
)

if section in ("basics", "presets", "beyond"):
    warm_kernels()
{
    "basics": section_basics,
    "landscape": section_landscape,
    "presets": section_presets,
    "beyond": section_beyond,
    "cost": section_cost,
}[section](settings)

# The cost section's widgets may have changed the settings after they were read above.
settings = settings.with_values(
    {
        name: st.session_state[key(name)]
        for name in ("hardware", "target", "draft", "batch", "context", "preset")
    }
)
params = write_url(settings)
with share_box:
    st.markdown("This link opens the Simulator with exactly these settings (the address bar shows it too):")
    st.code(share_link(st.context.url, params), language=None, wrap_lines=True)
