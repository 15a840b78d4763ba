"""Section 3: compare a baseline run with a speculative run, overall and per prompt category.

Keys owned here: ``live_cmp_base`` and ``live_cmp_spec`` (the two runs compared). Next to the speedup,
the identity check: at temperature 0 the speculative outputs must equal the baseline's token for token.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.serving import live_session as live
from core.serving.bench_runner import Comparison
from core.serving.identity_check import IdentityCheck, check_identity
from pages._common import published
from pages._components.live_benchmark.state import (
    SERVER_COLORS,
    badge,
    csv_button,
    fmt,
    key,
    one_line,
    published_frames,
    shelf,
)


def compare_section() -> None:
    st.header("3 · Compare baseline and speculative")
    runs = shelf().runs
    if len(runs) < 2:
        st.info(
            "Run the same settings once against a server **without** speculation and once against a server "
            "**with** it (two URLs, or two practice servers), or load a saved run in section 6. The "
            "comparison appears here.",
            icon=":material/compare_arrows:",
        )
        show_published_throughput()
        return
    pair = chosen_pair(runs)
    if pair is None:
        st.warning("Pick two different runs.")
        return
    baseline, speculative = pair
    comparison = live.compare(baseline, speculative)
    for warning in comparison.warnings:
        st.warning(f"Not like for like: {warning}.", icon=":material/warning:")
    overall_metrics(comparison)
    identity_panel(check_identity(baseline.run, speculative.run))
    category_charts(comparison, baseline, speculative)
    with st.container(border=True):
        explain_comparison(comparison, speculative)
    show_published_throughput()


def chosen_pair(runs: list[live.SavedRun]) -> tuple[live.SavedRun, live.SavedRun] | None:
    """The baseline and speculative runs picked (the latest of each kind at first); None if the same."""
    ids = [s.id for s in runs]
    labels = {s.id: s.label for s in runs}
    default_base, default_spec = live.pick_comparison(runs)
    if st.session_state.get(key("cmp_base")) not in ids:
        st.session_state[key("cmp_base")] = (default_base or runs[0]).id
    if st.session_state.get(key("cmp_spec")) not in ids:
        st.session_state[key("cmp_spec")] = (default_spec or runs[-1]).id
    c1, c2 = st.columns(2)
    base_id = c1.selectbox("Baseline run", ids, format_func=labels.get, key=key("cmp_base"))
    spec_id = c2.selectbox("Speculative run", ids, format_func=labels.get, key=key("cmp_spec"))
    if base_id == spec_id:
        return None
    return runs[ids.index(base_id)], runs[ids.index(spec_id)]


def overall_metrics(comparison: Comparison) -> None:
    overall = comparison.overall
    st.markdown(f"**Overall** {badge(comparison.simulated)}")
    m = st.columns(4)
    m[0].metric(
        "Throughput speedup",
        fmt(overall.throughput_speedup, ".2f", "x"),
        help="Speculative output tok/s ÷ baseline output tok/s over the whole run.",
    )
    m[1].metric(
        "Per-request speedup",
        fmt(overall.tpot_speedup, ".2f", "x"),
        help="Baseline TPOT ÷ speculative TPOT: how much faster one answer streams once it has started.",
    )
    m[2].metric(
        "TTFT change",
        fmt(overall.ttft_delta_ms, "+,.1f", " ms"),
        help="Speculative minus baseline mean time to first token.",
    )
    m[3].metric(
        "Accept length per request",
        fmt(overall.accept_length, ".2f"),
        help="Output tokens ÷ verify passes of the speculative run's requests (the prefill token included); "
        "the charts below use this one, not the server's own figure.",
    )


def identity_panel(check: IdentityCheck) -> None:
    """Same output, proven: at temperature 0 speculation must not change a single token."""
    text = f"**Same output?** {check.headline()}."
    if check.all_identical:
        st.success(
            f"{text} At temperature 0 a drafted token is kept only when it is the target's own greedy choice, "
            "so the speculative server wrote exactly what the baseline wrote, only in fewer target passes.",
            icon=":material/verified:",
        )
    elif check.applicable:
        first = check.differences[0]
        st.error(
            f"{text} The first difference is at output token {first.index} of the prompt "
            f"{first.prompt[:60]!r} ({first.baseline_token} vs {first.speculative_token}). Greedy speculation "
            "should never change the output: different models or settings on the two servers, or a bug.",
            icon=":material/error:",
        )
    else:
        st.info(text, icon=":material/help:")
    if check.skipped and check.applicable:
        st.caption(
            f"{check.skipped} speculative request(s) had no output ids or no baseline output of the same "
            "prompt to compare with."
        )


def category_charts(comparison: Comparison, baseline: live.SavedRun, speculative: live.SavedRun) -> None:
    frame = live.comparison_frame(baseline.run, speculative.run)
    speedups = live.speedup_frame(comparison)
    st.markdown(f"**Per category** {badge(comparison.simulated)}")
    c1, c2 = st.columns(2)
    with c1:
        chart_block("Output throughput (tok/s)", bars(frame, "output tok/s"))
    with c2:
        chart_block("Speedup of speculation", speedup_chart(speedups))
    st.caption(
        "A category's tok/s counts its own tokens over the time its requests were in flight. When categories "
        "run at the same time they share that time, so they do not add up to the overall figure, and their "
        "throughput ratios look alike; the per-request speed (1/TPOT) separates the categories more cleanly."
    )
    c1, c2, c3 = st.columns(3)
    with c1:
        chart_block("Time to first token (ms)", bars(frame, "TTFT mean (ms)"))
    with c2:
        chart_block("Inter-token latency (ms)", bars(frame, "ITL mean (ms)"))
    with c3:
        chart_block("Accept length per request (output tokens ÷ verify passes)", bars(frame, "accept length"))
        st.caption("Without speculation every step yields one token: the baseline's accept length is 1.")
    c1, c2 = st.columns(2)
    with c1:
        csv_button(frame, "comparison")
    with c2:
        csv_button(speedups, "speedups", label="Download the speedups (CSV)")


def bars(frame: pd.DataFrame, metric: str) -> alt.Chart:
    """Horizontal grouped bars: one row per category, baseline and speculative side by side."""
    data = frame[frame["metric"] == metric].dropna(subset=["value"])
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("category:N", sort=None, title=None, axis=alt.Axis(labelLimit=130)),
            yOffset=alt.YOffset("server:N", sort=["baseline", "speculative"]),
            x=alt.X("value:Q", title=metric),
            color=alt.Color("server:N", scale=SERVER_COLORS, legend=alt.Legend(orient="top", title=None)),
            tooltip=["category", "server", alt.Tooltip("value:Q", format=",.2f", title=metric)],
        )
        .properties(height=alt.Step(13))
    )


def speedup_chart(frame: pd.DataFrame) -> alt.LayerChart:
    data = frame.dropna(subset=["speedup"])
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("category:N", sort=None, title=None, axis=alt.Axis(labelLimit=130)),
            yOffset=alt.YOffset("measure:N"),
            x=alt.X("speedup:Q", title="speedup (x); the red line marks 1 = no gain"),
            color=alt.Color(
                "measure:N",
                scale=alt.Scale(range=["#2b6cb0", "#90cdf4"]),
                legend=alt.Legend(orient="top", title=None, labelLimit=220),
            ),
            tooltip=["category", "measure", alt.Tooltip("speedup:Q", format=".2f")],
        )
    )
    return (chart + one_line("x")).properties(height=alt.Step(13))


def chart_block(title: str, chart) -> None:
    st.markdown(f"**{title}**")
    st.altair_chart(chart, width="stretch")


def explain_comparison(comparison: Comparison, speculative: live.SavedRun) -> None:
    """What the comparison teaches: predictable text accepts more, load erodes the gain, the 48 cap."""
    st.markdown("**What this means**")
    left, right = st.columns(2)
    category_lesson(comparison, left)
    right.markdown(
        "- **Speedup falls as concurrency grows.** At low load a decode step is memory-bound: reading the "
        "weights costs about the same for 1 or 5 tokens, so verifying drafts is cheap. With many requests in "
        "flight the processor (a GPU, or this machine's CPU for the tiny models) is already busy computing, "
        "every drafted token (rejected ones included) costs real time, and speculation can end up *slower* "
        "than plain decoding. Section 4 measures where.\n"
        "- **The 48-request cap.** Turning speculation on makes SGLang cap `--max-running-requests` at 48 "
        "unless you set it. Above 48 concurrent requests the rest wait in the queue, so TTFT and throughput "
        "suffer for a reason that has nothing to do with acceptance."
    )
    if comparison.overall.ttft_delta_ms is not None:
        left.markdown(
            "- **TTFT** is the prompt's prefill plus queueing; speculation does not shorten prefill (and the "
            "draft adds a little), so expect TTFT about equal, and the gain in ITL/TPOT."
        )
    simulator_link(speculative.run, left)


def category_lesson(comparison: Comparison, column) -> None:
    """The most and least predictable categories, when at least two have an accept length and a speedup."""
    cats = {
        name: c
        for name, c in comparison.categories.items()
        if c.accept_length is not None and c.tpot_speedup is not None
    }
    if len(cats) < 2:
        return
    best = max(cats.values(), key=lambda c: c.accept_length)
    worst = min(cats.values(), key=lambda c: c.accept_length)
    if best.accept_length - worst.accept_length < 0.05:
        return  # no category accepted clearly more: the lesson below would not be what was measured
    column.markdown(
        f"- **Predictable text accepts more.** *{best.category}* prompts averaged "
        f"{best.accept_length:.2f} tokens per verify pass and streamed {best.tpot_speedup:.2f}x faster per "
        f"request; *{worst.category}* prompts only {worst.accept_length:.2f} and {worst.tpot_speedup:.2f}x. "
        "When the answer is nearly fixed (lists, counting, copying, code syntax) the draft guesses the "
        "target's next tokens, so each expensive target pass keeps several; open-ended writing has many "
        "good continuations, so the draft is often wrong and the pass keeps little more than one token."
    )


def simulator_link(run, column) -> None:
    """A link to the Simulator at the α that gives this run's accept length (when it has one)."""
    accept = run.summary.accept_length
    gamma = live.run_gamma(run)
    params = live.simulator_link_params(accept, gamma)
    if params is None:
        return
    column.page_link(
        "pages/simulator.py",
        label=f"Open the Simulator at α = {params['alpha']}, γ = {params['gamma']} (your accept length "
        f"{accept:.2f})",
        icon=":material/insights:",
        query_params=params,
    )
    column.caption(
        "α is the per-token acceptance rate that gives your measured accept length for this draft depth γ "
        "if every position were accepted alike (i.i.d.); real acceptance decays with depth, so read it as a "
        "summary."
    )


def show_published_throughput() -> None:
    frame, _ = published_frames()
    source = frame["source"].iloc[0]
    with st.expander(
        "For reference: what the SGLang documentation reports (published, not your measurement)"
    ):
        st.markdown(
            f"{published(source)}: Llama-3.1-8B-Instruct on MT-Bench, one H100 ([link]({frame['url'].iloc[0]}))."
        )
        st.dataframe(
            frame[["method", "output tok/s", "speedup"]],
            hide_index=True,
            column_config={"speedup": st.column_config.NumberColumn(format="%.2fx")},
        )
        st.caption(
            "Different hardware, prompts and settings give different numbers: compare trends, not values."
        )
