"""Section 4: a concurrency sweep, and where speculation stops paying on the learner's server.

Keys owned here: ``live_levels`` (the concurrency levels) and ``live_sweep`` (the button).
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.serving import live_session as live
from core.serving.bench_runner import BenchSettings
from core.serving.server_policy import ServerPolicy
from pages._common import published
from pages._components.chart_data import with_arrow_datasets
from pages._components.live_benchmark.execute import execute
from pages._components.live_benchmark.state import badge, csv_button, key, one_line, published_frames, shelf


def sweep_section(conn: live.Connection | None, policy: ServerPolicy, settings: BenchSettings) -> None:
    st.header("4 · Where speculation stops paying: a concurrency sweep")
    st.markdown(
        "Repeat the run at several concurrency levels, once on the baseline server and once on the speculative "
        "one. The throughput ratio at each level shows where speculation stops paying on *your* server. Each "
        "level sends at least as many requests as its concurrency."
    )
    offered = [level for level in live.SWEEP_LEVELS if level <= policy.max_concurrency]
    default = [level for level in (1, 4, 16, 64) if level in offered]
    levels = st.multiselect("Concurrency levels", offered, default=default, key=key("levels"))
    clicked = st.button(
        "Run concurrency sweep",
        key=key("sweep"),
        disabled=conn is None or not levels,
        help="Uses the settings of section 2 (except concurrency).",
    )
    if clicked and conn is not None and levels:
        if settings.categories:
            execute(conn, policy, settings, levels=sorted(levels))
        else:
            st.error("Pick at least one prompt category (section 2) to run the sweep.")
    sweeps = shelf().sweeps
    if not sweeps:
        st.caption("No sweep yet.")
        show_published_batch()
        return
    frame = live.sweep_frame(sweeps)
    simulated = any(s.simulated for s in sweeps)
    c1, c2 = st.columns(2)
    with c1:
        throughput_chart(frame, simulated)
    with c2:
        speedup_panel(sweeps, simulated)
    sweep_warnings(sweeps)
    csv_button(frame, "sweep")
    st.markdown(
        "Why it falls: with few requests a decode step is limited by reading the weights, and checking several "
        "drafted tokens rides along for free. As the batch grows the verify pass becomes compute-bound, so every "
        "drafted token costs real time; and past **48** running requests a speculative SGLang server (its "
        "default cap) queues the rest."
    )
    show_published_batch()


def throughput_chart(frame: pd.DataFrame, simulated: bool) -> None:
    st.markdown(f"**Throughput vs concurrency** {badge(simulated)}")
    chart = (
        alt.Chart(frame.dropna(subset=["output tok/s"]))
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "concurrency:Q",
                scale=alt.Scale(type="log", base=2),
                title="concurrency (requests in flight)",
            ),
            y=alt.Y("output tok/s:Q"),
            color=alt.Color("series:N", legend=alt.Legend(orient="top", title=None, labelLimit=300)),
            tooltip=["sweep", "concurrency", alt.Tooltip("output tok/s:Q", format=",.0f"), "failed"],
        )
        .properties(height=280)
    )
    st.altair_chart(chart, width="stretch")


def speedup_panel(sweeps: list[live.SavedSweep], simulated: bool) -> None:
    """Speedup at each level of the latest baseline and speculative sweeps, and where it fell below 1."""
    base_sweeps = [s for s in sweeps if not s.speculative]
    spec_sweeps = [s for s in sweeps if s.speculative]
    if not (base_sweeps and spec_sweeps):
        st.info("Sweep both a baseline and a speculative server to see the speedup at each level.")
        return
    speedup = live.sweep_speedup_frame(base_sweeps[-1], spec_sweeps[-1])
    st.markdown(f"**Speedup vs concurrency** {badge(simulated)}")
    line = (
        alt.Chart(speedup)
        .mark_line(point=True, color="#2b6cb0")
        .encode(
            x=alt.X("concurrency:Q", scale=alt.Scale(type="log", base=2), title="concurrency"),
            y=alt.Y("speedup:Q", title="speculative ÷ baseline throughput (x)"),
            tooltip=["concurrency", alt.Tooltip("speedup:Q", format=".2f")],
        )
    )
    st.altair_chart((line + one_line("y")).properties(height=280), width="stretch")
    verdict = live.sweep_verdict(speedup)
    if verdict is not None and verdict.slower_from is not None:
        st.markdown(
            f"Speculation is **slower** than plain decoding from concurrency **{verdict.slower_from}** in this sweep."
        )
    elif verdict is not None:
        st.markdown(
            f"Speculation stays ahead up to concurrency {verdict.highest_level} here "
            f"(lowest gain {verdict.lowest_speedup:.2f}x at concurrency {verdict.lowest_speedup_at})."
        )
    csv_button(speedup, "sweep-speedup", label="Download the speedups (CSV)")


def sweep_warnings(sweeps: list[live.SavedSweep]) -> None:
    """Levels too short or small to trust, and levels with failed requests."""
    shaky = live.unsteady_levels(sweeps)
    if shaky:
        st.info(
            "Some levels are too short or too small to trust fully: " + "; ".join(shaky) + ". More requests "
            "or more tokens per request give steadier curves.",
            icon=":material/info:",
        )
    failed = [(sweep, run) for sweep in sweeps for run in sweep.runs if run.summary.requests_failed]
    for sweep, run in failed:
        st.warning(
            f"{sweep.label.split(' · ')[0]}, concurrency {run.settings.concurrency}: "
            f"{run.summary.requests_failed} request(s) failed ("
            + "; ".join(run.summary.errors)
            + "); its throughput counts only the ones that succeeded."
        )


@st.cache_data(max_entries=1, show_spinner=False)
def published_batch_spec() -> dict:
    """The published ratios' chart as a Vega-Lite spec, built once per process (the data never changes;
    building the Altair chart cost about half of every rerun of this page)."""
    _, frame = published_frames()
    chart = (
        alt.Chart(frame)
        .mark_point(filled=True, size=90)
        .encode(
            x=alt.X("batch size:Q", scale=alt.Scale(type="log", base=2)),
            y=alt.Y("speedup:Q", title="throughput ratio (x)", scale=alt.Scale(zero=False)),
            color=alt.Color(
                "method:N",
                scale=alt.Scale(range=["#ffa726", "#ef6c00"]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["method", "batch size", "speedup"],
        )
        .properties(height=220)
    )
    return with_arrow_datasets((chart + one_line("y")).to_dict())


def show_published_batch() -> None:
    _, frame = published_frames()
    with st.expander("For reference: published throughput ratios by batch size (not your measurement)"):
        st.markdown(
            f"{published(frame['source'].iloc[0])} (SGLang, one H100, Llama-3.1-8B, a chain of 3 drafts): "
            "speculative ÷ plain throughput at the batch sizes the paper quotes."
        )
        st.vega_lite_chart(spec=published_batch_spec(), width="stretch")
        csv_button(frame, "published-batch-points", label="Download the published points (CSV)")
