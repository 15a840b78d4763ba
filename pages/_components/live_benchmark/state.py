"""What every Live benchmark section shares: session keys, process-wide resources, the session's saved
results, and small display helpers.

Keys owned here: ``live_session_id``, ``live_practice`` (practice-server leases), ``live_runs``,
``live_sweeps`` and ``live_state`` (the :class:`~core.serving.result_shelf.ResultShelf` parts).
"""

from __future__ import annotations

import os
import time
import uuid

import altair as alt
import pandas as pd
import streamlit as st

from core.serving import live_session as live
from core.serving.result_shelf import ResultShelf, ShelfState
from core.serving.run_queue import RateLimiter, ServerQueue
from core.serving.server_policy import ServerPolicy, policy_from_settings
from pages._common import MEASURED, SIMULATED, csv_download

SERVER_COLORS = alt.Scale(domain=["baseline", "speculative"], range=["#64748b", "#2b6cb0"])
NUMBER_FORMATS = {  # table columns shown with a sensible number of digits
    "output tok/s": st.column_config.NumberColumn(format="%.0f"),
    "TTFT mean (ms)": st.column_config.NumberColumn(format="%.1f"),
    "ITL mean (ms)": st.column_config.NumberColumn(format="%.2f"),
    "TPOT mean (ms)": st.column_config.NumberColumn(format="%.2f"),
    "TTFT (ms)": st.column_config.NumberColumn(format="%.1f"),
    "TPOT (ms)": st.column_config.NumberColumn(format="%.2f"),
    "E2E (ms)": st.column_config.NumberColumn(format="%.0f"),
    "accept length": st.column_config.NumberColumn(format="%.2f"),
}


def key(name: str) -> str:
    """Session-state key of this page (prefixed ``live_``)."""
    return f"live_{name}"


# ------------------------------------------------------------------------------- shared resources
@st.cache_resource(show_spinner=False)
def server_queue() -> ServerQueue:
    """The process-wide FIFO queue of runs per server URL (thread-safe; shared by every session)."""
    return ServerQueue(slots=1)


@st.cache_resource(show_spinner=False, max_entries=8)
def rate_limiter(runs_per_window: int, window_s: float) -> RateLimiter:
    """The process-wide per-session rate limiter for the policy's limits (thread-safe)."""
    return RateLimiter(runs_per_window, window_s)


@st.cache_data(max_entries=1, show_spinner=False)
def published_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The published single-H100 throughputs and the published ratios by batch size (chart tables)."""
    return live.published_throughput_frame(), live.published_batch_frame()


def load_policy() -> ServerPolicy:
    """Which servers this app may contact and the limits per run; stops the page on a bad configuration."""
    try:
        return policy_from_settings(st.secrets, os.environ)
    except (ValueError, TypeError) as error:
        st.error(
            f"The app's server configuration is invalid, so the live benchmark is off: {error}. "
            "Fix the [sglang] section of .streamlit/secrets.toml (or SPECLAB_ALLOWED_BASE_URLS)."
        )
        st.stop()


# ---------------------------------------------------------------------------------- session state
def session_id() -> str:
    """This browser session's id (for the queue and the rate limiter)."""
    return st.session_state.setdefault(key("session_id"), uuid.uuid4().hex)


def practice_leases() -> list[live.PracticeLease]:
    """The practice servers this session started."""
    return st.session_state.setdefault(key("practice"), [])


def shelf() -> ResultShelf:
    """The session's saved runs and sweeps, as plain objects a run can still save into while Streamlit
    interrupts it (every access to ``st.session_state`` then re-raises the stop)."""
    return ResultShelf(
        runs=st.session_state.setdefault(key("runs"), []),
        sweeps=st.session_state.setdefault(key("sweeps"), []),
        state=st.session_state.setdefault(key("state"), ShelfState()),
    )


def forget(kind: str, item_id: str) -> None:
    """Remove button callback: forget one saved run or sweep."""
    shelf().forget(kind, item_id)


def reset_page() -> None:
    """Stop this session's practice servers and forget its connection and results."""
    for lease in practice_leases():
        lease.stop()
    for name in (
        "practice",
        "runs",
        "sweeps",
        "conn",
        "conn_error",
        "conn_refused",
        "state",
        "practice_error",
    ):
        st.session_state.pop(key(name), None)


def await_interrupted_run(timeout_s: float = 10.0) -> None:
    """After Stop (or any click during a run) Streamlit starts this rerun at once while the interrupted
    run is still saving what finished; wait for it so the saved results show now, not one click later."""
    state = shelf().state
    if not state.running:
        return
    deadline = time.monotonic() + timeout_s
    with st.spinner("Stopping the run and keeping what finished..."):
        while state.running and time.monotonic() < deadline:
            time.sleep(0.1)
    state.running = False  # if the old run never reported back (should not happen), do not wait again


# ---------------------------------------------------------------------------------- display helpers
def badge(simulated: bool) -> str:
    """The label of a figure from this page: simulated (practice server) or measured."""
    return SIMULATED if simulated else MEASURED


def fmt(value, spec: str = ",.1f", unit: str = "") -> str:
    """A number for a metric tile; a dash when there is none."""
    return "—" if value is None else f"{value:{spec}}{unit}"


def csv_button(frame: pd.DataFrame, name: str, label: str = "Download the chart data (CSV)") -> None:
    """A CSV download of a chart's or table's data (key ``live_csv_<name>``)."""
    csv_download(frame, name, key(f"csv_{name}"), label)


def one_line(axis: str) -> alt.Chart:
    """The red dashed rule at speedup 1 (no gain), on the ``axis`` ("x" or "y") channel."""
    rule = alt.Chart(pd.DataFrame({axis: [1.0]})).mark_rule(color="#c53030", strokeDash=[4, 3])
    return rule.encode(**{axis: f"{axis}:Q"})
