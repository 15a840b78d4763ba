"""Exercise 1: a speculation-length sweep on the lab's tiny models, one in-process server per length.

Workshop mode only (the servers run inside the app). Keys owned here: ``live_lsweep_algorithm``,
``live_lsweep_lengths``, ``live_lsweep_requests``, ``live_lsweep_run`` (the button) and
``live_lsweep_points`` (the measured points).
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.serving.bench_runner import BenchSettings
from core.serving.live_tiny import tiny_suite_pairs
from core.serving.server_policy import ServerPolicy
from core.serving.spec_length_sweep import (
    SPEC_LENGTHS,
    LengthPoint,
    describe_sweep,
    length_sweep_frame,
    sweep_speculation_length,
)
from pages._components.live_benchmark.state import badge, csv_button, key

ALGORITHMS = {
    "EAGLE": "EAGLE head (reads the target's hidden state)",
    "STANDALONE": "STANDALONE draft model",
    "NGRAM": "NGRAM (prompt lookup, no model)",
}
SWEEP_MAX_TOKENS = 32


def length_sweep_section(policy: ServerPolicy) -> None:
    st.header("Exercise 1 · How far ahead should the draft guess?")
    st.markdown(
        "A longer draft can be accepted further, but every drafted token costs drafting time and widens the "
        "verify pass, and a rejected one is wasted. Sweep the speculation length (tokens drafted per verify "
        "pass; 0 = no speculation): each length gets its own practice server on the lab's tiny models, "
        "started here with `--speculative-num-steps L --speculative-eagle-topk 1 "
        "--speculative-num-draft-tokens L+1`, and the same short run."
    )
    if policy.hosted:
        st.info(
            "The shared classroom app starts no servers inside itself. Run the sweep with "
            "`speclab practice-server --engine tiny --speculative --speculative-num-steps L ...` on your own "
            "machine, one server per length.",
            icon=":material/school:",
        )
        return
    c1, c2, c3 = st.columns([1, 2, 1])
    algorithm = c1.selectbox(
        "Draft", list(ALGORITHMS), format_func=ALGORITHMS.get, key=key("lsweep_algorithm")
    )
    lengths = c2.multiselect(
        "Speculation lengths", list(SPEC_LENGTHS), default=[0, 1, 2, 4, 6], key=key("lsweep_lengths")
    )
    requests = c3.number_input("Requests per length", 4, 24, 8, key=key("lsweep_requests"))
    if st.button("Run the sweep", key=key("lsweep_run"), disabled=not lengths):
        run_sweep(algorithm, sorted(lengths), int(requests))
    points: list[LengthPoint] = st.session_state.get(key("lsweep_points")) or []
    if points:
        show_points(points)


def run_sweep(algorithm: str, lengths: list[int], requests: int) -> None:
    """Measure each length in turn; points already measured stay if the learner leaves mid-way."""
    settings = BenchSettings(
        suite="tiny",
        prompts=tiny_suite_pairs(),
        num_requests=requests,
        concurrency=1,
        max_tokens=SWEEP_MAX_TOKENS,
        temperature=0.0,
        request_timeout_s=60.0,
        time_budget_s=120.0,
    )
    points: list[LengthPoint] = []
    st.session_state[key("lsweep_points")] = points
    bar = st.progress(0.0, text="Starting the first server…")
    total = len(lengths) * requests

    def progress(length: int, done: int, planned: int, record) -> None:
        finished = len(points) * requests + done
        bar.progress(min(1.0, finished / total), text=f"length {length}: {done} of {planned} requests")

    try:
        sweep_speculation_length(
            settings, lengths, algorithm=algorithm, progress=progress, on_point=points.append
        )
    except FileNotFoundError as error:
        st.error(f"The tiny models' weights are missing: {error}")
    except (ValueError, OSError) as error:
        st.error(f"The sweep stopped: {error}")
    bar.empty()


def show_points(points: list[LengthPoint]) -> None:
    frame = length_sweep_frame(points)
    simulated = any(p.run.simulated for p in points)
    st.markdown(f"**Accept length and throughput against speculation length** {badge(simulated)}")
    c1, c2 = st.columns(2)
    c1.altair_chart(metric_chart(frame, "accept length", "tokens per verify pass"), width="stretch")
    c2.altair_chart(metric_chart(frame, "output tok/s", "output tokens per second"), width="stretch")
    summary = describe_sweep(points)
    if summary:
        st.markdown(summary)
    st.caption(
        "One request at a time on this app's CPU, which other learners share: repeat a sweep before trusting a "
        "small difference."
    )
    csv_button(frame, "speculation-length-sweep")


def metric_chart(frame: pd.DataFrame, column: str, title: str) -> alt.LayerChart:
    base = alt.Chart(frame.dropna(subset=[column])).encode(
        x=alt.X("speculation length:Q", title="speculation length (tokens drafted per pass)"),
        y=alt.Y(f"{column}:Q", title=title),
    )
    line = base.mark_line(point=True, color="#2b6cb0")
    best = base.transform_filter(alt.datum.best).mark_point(
        size=220, shape="diamond", color="#c05621", filled=True
    )
    label = base.transform_filter(alt.datum.best).mark_text(dy=-14, color="#c05621", text="best")
    return line + best + label
