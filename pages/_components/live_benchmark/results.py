"""The results of one saved run: its metrics, what to read with care, and its per-category table.

Key owned here: ``live_selected_run`` (which saved run is shown).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.serving import live_session as live
from core.serving.bench_runner import BenchRun
from core.serving.serving_metrics import LATENCY_METRICS, STATISTICS
from pages._components.live_benchmark.state import NUMBER_FORMATS, badge, csv_button, fmt, key, shelf


def results_view() -> None:
    """The selected saved run (the one just measured, unless the learner picked another)."""
    saved = selected_run()
    if saved is None:
        return
    run, s = saved.run, saved.run.summary
    st.subheader(f"Results {badge(run.simulated)}")
    origin = "" if saved.origin == "measured now" else f" (loaded from {saved.origin.removeprefix('file ')})"
    st.caption(
        f"{run.base_url}{origin}: {s.requests_ok} of {s.requests_total} requests succeeded in "
        f"{s.duration_s:.1f} s; settings: {run.settings.num_requests} requests, concurrency "
        f"{run.settings.concurrency}, max {run.settings.max_tokens} tokens, temperature {run.settings.temperature:g}, "
        f"{'ignore_eos' if run.settings.ignore_eos else 'natural stops'}, {run.settings.api} API."
    )
    run_metrics(run)
    run_warnings(run)
    engine_facts(run)
    file_figures(run)
    st.markdown(f"**Per category** {badge(run.simulated)} (its accept length is the one per request)")
    frame = live.category_frame(run)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=NUMBER_FORMATS)
    with st.expander(f"Every request ({len(run.records)})"):
        st.dataframe(
            live.records_frame(run.records), hide_index=True, width="stretch", column_config=NUMBER_FORMATS
        )
    latency_statistics(run)


def selected_run() -> live.SavedRun | None:
    """The results menu: the run just kept is selected once; None when nothing is saved."""
    box = shelf()
    runs, state = box.runs, box.state
    if not runs:
        return None
    ids = [s.id for s in runs]
    labels = {s.id: s.label for s in runs}
    if state.select_run in ids:
        st.session_state[key("selected_run")] = state.select_run
    state.select_run = None
    if st.session_state.get(key("selected_run")) not in ids:
        st.session_state[key("selected_run")] = ids[-1]
    chosen = st.selectbox("Results of", ids, format_func=labels.get, key=key("selected_run"))
    return runs[ids.index(chosen)]


def run_metrics(run: BenchRun) -> None:
    s = run.summary
    tag = "simulated" if run.simulated else "measured"
    m = st.columns(4)
    m[0].metric(f"Output tok/s ({tag})", fmt(s.output_throughput_tok_s))
    m[1].metric(f"TTFT mean ({tag})", fmt(s.ttft_ms_mean, ",.0f", " ms"))
    m[2].metric(f"ITL mean ({tag})", fmt(s.itl_ms_mean, ",.1f", " ms"))
    m[3].metric(f"TPOT mean ({tag})", fmt(s.tpot_ms_mean, ",.1f", " ms"))
    a = st.columns(2)
    per_request = s.accept_length_per_request
    a[0].metric(
        f"Accept length per request ({tag})",
        fmt(per_request, ".2f") if per_request is not None else ("n/a" if run.speculative else "off"),
        help="Output tokens ÷ target verify passes over this run's successful requests: SGLang's per-request "
        "spec_accept_length. It counts the first token, which prefill samples (no verify pass), so it runs "
        "about 1 ÷ (verify passes) above the server's figure. 'off': the server does not speculate; 'n/a': "
        "it speculates but sent no verify counts for this API (or the run came from a bench_serving file, which "
        "has none). The charts and tables on this page use this one.",
    )
    accept = run.server_accept
    a[1].metric(
        f"Server accept length ({tag})",
        fmt(None if accept is None else accept.value, ".2f"),
        help="What SGLang's bench_serving prints as 'Accept length': tokens per verify pass as the server "
        "counts them (bonus token included, prefill token left out). "
        + ("The server gave none." if accept is None else f"From {accept.source}; covers {accept.covers}."),
    )


ENGINE_FACTS = {
    "sglang": "**SGLang**: token counts and verify passes per request come from `/generate`'s `meta_info` "
    "(native API), or on the OpenAI API from `sglext.spec_tokens_details` (SGLang 0.5.21 and later only); "
    "the server accept length is `/server_info` `internal_states[0].avg_spec_accept_length` after the run.",
    "vllm": "**vLLM**: no `/server_info` and no native `/generate` (use the OpenAI API). The server accept "
    "length is 1 + accepted ÷ drafts from its `/metrics` counters (`vllm:spec_decode_num_accepted_tokens`, "
    "`vllm:spec_decode_num_drafts`) read before and after the run, so it includes other clients' requests "
    "made meanwhile; verify passes per request only with `--enable-per-request-metrics` (vLLM 0.34).",
}


def engine_facts(run: BenchRun) -> None:
    """What this engine lets the app know, and where success rules differ from bench_serving."""
    facts = ENGINE_FACTS.get(
        run.engine or "",
        "**Engine unknown**: the server answered neither `/server_info` "
        "(SGLang) nor vLLM's `/metrics`, so there is no server accept length.",
    )
    st.caption(
        f"{facts} A request counts as successful here only if its stream ended with `[DONE]`, carried no "
        "error event and reported its token count; bench_serving counts any HTTP-200 stream as a success, so "
        "with errors its throughput is higher."
    )


def latency_statistics(run: BenchRun) -> None:
    """Every latency statistic bench_serving reports (std, p90, p95, p99, max as well as mean and median)."""
    frame = live_latency_frame(run)
    with st.expander(f"All latency statistics, as bench_serving reports them {badge(run.simulated)}"):
        st.dataframe(frame, hide_index=True, width="stretch")
        st.caption(
            "Milliseconds, over successful requests; ITL pooled over all of them. std is numpy's population "
            "standard deviation and the percentiles numpy's linear ones, as in bench_serving. A dash: no value "
            "(bench_serving would print 0)."
        )
        csv_button(frame, "latency_statistics", "Download the table (CSV)")


def live_latency_frame(run: BenchRun) -> pd.DataFrame:
    names = {"ttft": "TTFT", "itl": "ITL", "tpot": "TPOT", "e2e": "E2E"}
    rows = [{"metric": names[m], **run.summary.latency_ms(m)} for m in LATENCY_METRICS]
    return pd.DataFrame(rows, columns=["metric", *STATISTICS])


def file_figures(run: BenchRun) -> None:
    """For a run read from a bench_serving file: the file's own figures next to the app's recomputation."""
    imported = run.imported
    if not imported or imported.get("origin") != "bench_serving":
        return
    rows = imported.get("recomputed_vs_file") or []
    with st.expander("What bench_serving's file says, next to the app's recomputation", expanded=True):
        if not rows:
            st.info(
                "This file was written without `--output-details`, so it has no per-request data: the figures "
                "above are bench_serving's own aggregates, and nothing could be recomputed.",
                icon=":material/info:",
            )
            return
        frame = pd.DataFrame(rows).rename(
            columns={
                "key": "bench_serving figure",
                "file": "in the file",
                "relative_difference": "difference",
            }
        )
        st.dataframe(
            frame,
            hide_index=True,
            width="stretch",
            column_config={"difference": st.column_config.NumberColumn(format="percent")},
        )
        st.caption(
            "Recomputed with this app's metric code from the requests in the file. TTFT, ITL, counts and "
            "throughput use the same definitions; the file stores no per-request latency, so E2E, TPOT and "
            "concurrency are estimated from TTFT + the ITLs."
        )
        csv_button(frame, "bench_serving_file", "Download the table (CSV)")


def run_warnings(run: BenchRun) -> None:
    """Stopped early, failed requests, too short to trust, the server's own figure, the run's notes."""
    s = run.summary
    if run.stopped_reason:
        st.warning(
            f"This run stopped early ({run.stopped_reason}); the {len(run.records)} requests that finished are "
            "kept and the figures above use them."
        )
    if s.requests_failed:
        lines = "\n".join(f"- {count} × {message}" for message, count in s.errors.items())
        st.error(
            f"{s.requests_failed} of {s.requests_total} requests failed; the figures above use the "
            f"{s.requests_ok} that succeeded.\n\n{lines}",
            icon=":material/error:",
        )
    caveats = live.run_caveats(run)
    if caveats:
        st.info("Read these figures with care: " + "; ".join(caveats) + ".", icon=":material/info:")
    for note in run.notes:
        st.caption(f"Note: {note}")
