"""The results of one saved run: its metrics, what to read with care, and its per-category table.

Key owned here: ``live_selected_run`` (which saved run is shown).
"""

from __future__ import annotations

import streamlit as st

from core.serving import live_session as live
from core.serving.bench_runner import BenchRun
from pages._components.live_benchmark.state import NUMBER_FORMATS, badge, fmt, key, shelf


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
    st.markdown(f"**Per category** {badge(run.simulated)}")
    frame = live.category_frame(run)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=NUMBER_FORMATS)
    with st.expander(f"Every request ({len(run.records)})"):
        st.dataframe(
            live.records_frame(run.records), hide_index=True, width="stretch", column_config=NUMBER_FORMATS
        )


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
    m = st.columns(5)
    m[0].metric(f"Output tok/s ({tag})", fmt(s.output_throughput_tok_s))
    m[1].metric(f"TTFT mean ({tag})", fmt(s.ttft_ms_mean, ",.0f", " ms"))
    m[2].metric(f"ITL mean ({tag})", fmt(s.itl_ms_mean, ",.1f", " ms"))
    m[3].metric(f"TPOT mean ({tag})", fmt(s.tpot_ms_mean, ",.1f", " ms"))
    m[4].metric(
        f"Accept length ({tag})",
        fmt(s.accept_length, ".2f") if s.accept_length is not None else ("n/a" if run.speculative else "off"),
        help="Tokens per target verify pass (bonus token included) = output tokens / verify passes, over "
        "this run's successful requests. 'off': the server does not speculate; 'n/a': it speculates but did not "
        "report verify passes (the OpenAI API of older servers).",
    )


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
    server_accept = run.server_accept_length
    if server_accept is not None:
        st.caption(
            f"The server's own lifetime mean accept length after this run: {server_accept:.2f} (since it started "
            "or its cache was last flushed, so it includes other runs)."
        )
    for note in run.notes:
        st.caption(f"Note: {note}")
