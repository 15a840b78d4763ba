"""Section 5 · When it hurts: batch size on a roofline cost model (hardware, target, draft presets).

Kept in its own module so the cost model's lesson can change here alone. Keys owned here:
``sim_hardware``, ``sim_target``, ``sim_draft``, ``sim_batch``, ``sim_context`` (shared with the URL, see
``controls``), ``sim_overhead_ms``, ``sim_cost_model`` and ``sim_match_table3``. The calibrated model's
reproduction of the published measurements is drawn by ``cost_reproduction``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core.lessons import simulator_views as views
from core.lessons.simulator_settings import MAX_BATCH, MAX_CONTEXT, MIN_CONTEXT, SimulatorSettings
from core.references import published as published_data
from core.simulation import closed_form, cost_model
from core.simulation.engine_profile import calibrated_profile_for
from pages._common import SIMULATED, published
from pages._components.simulator.common import (
    cost_choices,
    csv_button,
    fmt_speedup,
    key,
    set_values,
    show_chart,
)
from pages._components.simulator.cost_reproduction import calibration_part

SESSION_DEFAULTS = {"overhead_ms": cost_model.DEFAULT_OVERHEAD_S * 1e3, "cost_model": "calibrated"}


@st.cache_data(max_entries=128, show_spinner=False)
def batch_sweep(
    hardware, target, draft, alpha, gamma, batches, context, overhead_s, profile=None
) -> pd.DataFrame:
    sweep = cost_model.speedup_vs_batch(
        hardware, target, draft, alpha, gamma, batches, context, overhead_s=overhead_s, profile=profile
    )
    return pd.DataFrame(sweep.rows())


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


@dataclass(frozen=True)
class CostSetting:
    """The section's own inputs: preset ids, batch size (sequences), context (tokens), overhead (ms), and
    the engine profile (None: the ideal roofline)."""

    hardware: str
    target: str
    draft: str
    batch: int
    context: int
    overhead_ms: float
    profile: str | None


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
    c = cost_inputs()
    st.caption(
        f"Uses α = {s.alpha:.2f} and γ = {s.gamma} from the sliders above. The cost ratio c comes from the "
        "model below (draft time / target time at this batch), so the c slider is not used here."
        + (
            " The calibrated model has its own fitted costs per pass, so the overhead slider is not used."
            if c.profile
            else ""
        )
    )
    overhead_s = c.overhead_ms / 1e3
    try:
        frame = batch_sweep(
            c.hardware,
            c.target,
            c.draft,
            s.alpha,
            s.gamma,
            views.batch_sizes(c.batch),
            c.context,
            overhead_s,
            c.profile,
        )
        fit = cost_model.memory_check(c.hardware, c.target, c.draft, c.batch, c.context, s.gamma)
        c_eff = cost_model.effective_cost_ratio(
            c.hardware, c.target, c.draft, c.batch, c.context, overhead_s, c.profile
        )
        max_fit = cost_model.max_batch_that_fits(c.hardware, c.target, c.draft, c.context, s.gamma)
    except ValueError as error:
        st.error(f"The cost model cannot use this setting: {error}")
        return
    memory_fit(fit, max_fit)
    break_even = frame.loc[frame["speedup"] < 1.0, "batch_size"]
    first_loss = int(break_even.iloc[0]) if len(break_even) else None
    at_this_batch(frame, c.batch, c_eff, first_loss, c.profile)
    cost_charts(frame, c.batch, first_loss)
    why_the_gain_shrinks(s, cost_model.ridge_tokens(c.hardware, c.target))
    csv_button(frame, "speedup-vs-batch")
    csv_button(
        published_batch_points(), "published-batch-points", label="Download the published points (CSV)"
    )
    calibration_part()


def cost_inputs() -> CostSetting:
    choices = cost_choices()
    a, b, c = st.columns(3)
    hardware, target, draft = (
        column.selectbox(
            label,
            list(choices[name]),
            format_func=choices[name].get,
            key=key(name),
            persist_state="session",
        )
        for column, label, name in (
            (a, "Hardware", "hardware"),
            (b, "Target model", "target"),
            (c, "Draft", "draft"),
        )
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
    return CostSetting(hardware, target, draft, int(batch), int(context), float(overhead_ms), profile)


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
        "Cost model",
        list(options),
        format_func=options.get,
        key=key("cost_model"),
        horizontal=True,
        persist_state="session",
    )
    return calibrated.id if choice == "calibrated" else None


def memory_fit(fit, max_fit: int) -> None:
    """Whether weights and KV cache fit in memory at this batch (the model still computes if not)."""
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


def at_this_batch(
    frame: pd.DataFrame, batch: int, c_eff: float, first_loss: int | None, profile: str | None
) -> None:
    row = frame[frame["batch_size"] == batch].iloc[0]
    model_name = f"calibrated cost model ({profile})" if profile else "ideal roofline (a best case)"
    st.markdown(f"{SIMULATED} {model_name} at batch {batch} (a model, not a measurement)")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Speedup (simulated)", fmt_speedup(row["speedup"]))
    m2.metric("Plain decoding (tok/s, simulated)", f"{row['baseline_tok_s']:,.0f}")
    m3.metric("Speculative (tok/s, simulated)", f"{row['speculative_tok_s']:,.0f}")
    m4.metric(
        "Effective c (simulated)",
        f"{c_eff:.3f}",
        help="Draft forward time / target forward time at this batch and context.",
    )
    st.markdown(
        f"The verify pass is **{row['verify_regime']}** at this batch "
        + (
            f"and speculation first loses at **batch {first_loss}** in this sweep."
            if first_loss is not None
            else f"and speculation stays ahead up to batch {int(frame['batch_size'].max())} in this sweep."
        )
    )


def cost_charts(frame: pd.DataFrame, batch: int, first_loss: int | None) -> None:
    points = published_batch_points()
    chart_col, tok_col = st.columns([3, 2])
    with chart_col:
        st.markdown(
            f"**Speedup vs batch size** {SIMULATED} model, {published('EAGLE-3 paper, Table 3')} points"
        )
        show_chart("speedup_vs_batch", frame, points, batch, first_loss)
    with tok_col:
        st.markdown(f"**Throughput** {SIMULATED}")
        show_chart("throughput_vs_batch", frame)
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


def why_the_gain_shrinks(s: SimulatorSettings, ridge: float) -> None:
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
