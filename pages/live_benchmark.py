"""Live benchmark: measure a running SGLang server (or the practice server), baseline vs speculative.

A lesson in six steps: connect, run, compare, sweep concurrency, launch commands, keep results. Each step
is a section in ``pages/_components/live_benchmark/`` that owns its session keys (prefixed ``live_``); the
logic lives in ``core.serving`` (``live_session``: connect, limits, files, chart tables; ``result_shelf``:
what the session keeps; ``bench_runner``: the measurement).

Runs go through a process-wide FIFO queue per server URL (``st.cache_resource``), so a classroom sharing
one GPU box measures one run at a time; a run stopped midway keeps the requests that finished.
"""

import streamlit as st

from pages._common import MEASURED, SIMULATED, published
from pages._components.live_benchmark import state
from pages._components.live_benchmark.compare import compare_section
from pages._components.live_benchmark.connect import connect_section
from pages._components.live_benchmark.launch import launch_section
from pages._components.live_benchmark.run import run_section
from pages._components.live_benchmark.saved import results_section
from pages._components.live_benchmark.sweep import sweep_section

st.title("Live benchmark")
st.markdown(
    "Measure a running SGLang server the way SGLang's own `bench_serving` does: time to first token (TTFT), "
    "inter-token latency (ITL), output throughput and the **accept length** (tokens per target verify pass). "
    f"Numbers from your server are labelled {MEASURED}; numbers from the practice server {SIMULATED}; figures "
    f"quoted from papers or docs {published('with their source')}."
)
POLICY = state.load_policy()
state.session_id()
state.await_interrupted_run()
connection = connect_section(POLICY)  # 1 · connect to a server
settings = run_section(connection, POLICY)  # 2 · run a benchmark, see its results
compare_section()  # 3 · baseline vs speculative
sweep_section(connection, POLICY, settings)  # 4 · where speculation stops paying
launch_section()  # 5 · the SGLang commands to compare
results_section()  # 6 · keep (download, load) your results
