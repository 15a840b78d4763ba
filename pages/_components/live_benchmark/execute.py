"""Running a benchmark or a sweep from the page: rate limit, the server's queue, live progress, and
keeping what finished when Streamlit interrupts the run.

A run happens in the script thread: the runner calls our progress and stop hooks in this thread, and every
widget update there is a point where Streamlit can interrupt the script (the Stop button, or leaving the
page). When that happens the requests that already finished are kept as a stopped run and the
interruption carries on. Key owned here: ``live_stop`` (the Stop button).
"""

from __future__ import annotations

import time

import streamlit as st

from core.serving import live_session as live
from core.serving.bench_runner import BenchSettings, concurrency_sweep, run_benchmark
from core.serving.result_shelf import ResultShelf
from core.serving.run_queue import ServerQueue, Ticket
from core.serving.server_policy import ServerPolicy
from core.serving.sglang_client import SGLangClient
from pages._components.live_benchmark.state import (
    NUMBER_FORMATS,
    key,
    rate_limiter,
    server_queue,
    session_id,
    shelf,
)

TABLE_REFRESH_S = 0.5  # how often the live table is redrawn during a run
QUEUE_OUTCOMES = {
    "expired": "Your place in the queue expired (the page stopped checking in). Run again.",
    "timeout": "Waited too long for the server; try again later.",
    "stopped": "Left the queue.",
}


class RunView:
    """The placeholders a run redraws while it waits and measures, and the requests finished so far."""

    def __init__(self, url: str, queue: ServerQueue, ticket: Ticket) -> None:
        self.url, self.queue, self.ticket = url, queue, ticket
        self.status, self.stop_slot, self.bar, self.table = st.empty(), st.empty(), st.empty(), st.empty()
        self.stop_slot.button(
            "Stop", key=key("stop"), icon=":material/stop_circle:", help="Stop now and keep what finished."
        )
        self.finished: list = []  # records of the run (or the sweep level) under way
        self.level: int | None = None  # the sweep level under way
        self.started = time.time()  # wall clock, seconds
        self.table_at = self.tick_at = 0.0  # monotonic seconds of the last redraws

    def on_wait(self, ahead: int) -> None:
        self.status.info(
            f"Waiting for your turn on {self.url}: {ahead} run{'s' if ahead != 1 else ''} ahead of you. "
            "Keep this tab open; press Stop to leave the queue.",
            icon=":material/hourglass_top:",
        )

    def progress(self, done: int, total: int, record) -> None:
        self.finished.append(record)
        self.queue.heartbeat(self.ticket)
        failed = sum(1 for r in self.finished if not r.success)
        level = f" at concurrency {self.level}" if self.level else ""
        self.bar.progress(
            done / total,
            text=f"{done} of {total} requests finished{level}" + (f", {failed} failed" if failed else ""),
        )
        now = time.monotonic()
        if now - self.table_at >= TABLE_REFRESH_S or done == total:
            self.table_at = now
            self.table.dataframe(
                live.records_frame(self.finished).tail(15),
                hide_index=True,
                width="stretch",
                column_config=NUMBER_FORMATS,
            )

    def should_stop(self) -> bool:
        now = time.monotonic()
        if now - self.tick_at >= TABLE_REFRESH_S:  # a widget update: Streamlit may interrupt here
            self.tick_at = now
            self.queue.heartbeat(self.ticket)
            self.status.info(
                f"Measuring {self.url}: {time.time() - self.started:.0f} s so far.", icon=":material/speed:"
            )
        return False

    def left_queue(self, outcome: str) -> None:
        self.stop_slot.empty()
        self.status.warning(QUEUE_OUTCOMES.get(outcome, outcome))

    def clear(self) -> None:
        for slot in (self.status, self.stop_slot, self.bar, self.table):
            slot.empty()


def within_rate_limit(policy: ServerPolicy, sid: str) -> bool:
    """False (with an error saying when to try again) when this session started too many runs lately."""
    allowed, wait_s = rate_limiter(policy.runs_per_window, policy.window_s).check(sid)
    if not allowed:
        st.error(
            f"You have started {policy.runs_per_window} runs in the last {policy.window_s / 60:.0f} minutes, "
            f"the most this server allows per student. Try again in {wait_s / 60:.1f} minutes; meanwhile "
            "compare the runs you have."
        )
    return allowed


def execute(conn: live.Connection, policy: ServerPolicy, settings: BenchSettings, levels=None) -> None:
    """Run once (``levels`` None) or sweep ``levels`` against the connected server, through the queue.

    Saves the result in the session. If Streamlit interrupts the script (Stop pressed, page left), the
    requests that finished are saved as a stopped run and the interruption continues.
    """
    sid = session_id()
    if not within_rate_limit(policy, sid):
        return
    queue = server_queue()
    ticket = queue.join(conn.url, sid)
    view = RunView(conn.url, queue, ticket)
    keep, sweep_runs, client = shelf(), [], None
    keep.state.running = True
    try:
        outcome = live.wait_for_turn(queue, ticket, on_wait=view.on_wait, poll_s=1.0)
        if outcome != "run":
            view.left_queue(outcome)
            return
        view.started = time.time()
        client = live.make_client(conn.url, st.session_state.get(key("api_key")) or None, policy)
        measure(client, settings, levels, view, keep, sweep_runs)
    except Exception as error:  # a bug or an unexpected failure: say so, keep what was measured
        keep_what_finished(conn, settings, levels, view, keep, sweep_runs)
        st.error(f"The run failed: {error}. The requests measured before it are kept.")
    except BaseException:  # Streamlit's stop/rerun: keep what finished, then let the interruption go on
        keep_what_finished(conn, settings, levels, view, keep, sweep_runs)
        raise
    finally:
        queue.leave(ticket)
        if client is not None:
            client.close()
        keep.state.running = False
    view.clear()


def measure(
    client: SGLangClient, settings: BenchSettings, levels, view: RunView, keep: ResultShelf, sweep_runs: list
) -> None:
    """The measurement itself: one run, or one run per sweep level (appended to ``sweep_runs`` as they end)."""
    if levels is None:
        keep.keep_run(run_benchmark(client, settings, progress=view.progress, should_stop=view.should_stop))
        return
    for level in levels:
        view.level = level
        view.finished.clear()
        sweep_runs.extend(
            concurrency_sweep(client, settings, [level], progress=view.progress, should_stop=view.should_stop)
        )
    keep.keep_sweep(sweep_runs)


def keep_what_finished(
    conn: live.Connection, settings: BenchSettings, levels, view: RunView, keep: ResultShelf, sweep_runs: list
) -> None:
    """Save what finished before a run was cut off; touches only plain objects (see :func:`state.shelf`)."""
    keep.keep_interrupted(
        settings,
        conn.url,
        view.finished,
        started_at=view.started,
        simulated=conn.simulated,
        server_info=conn.info,
        sweep_runs=None if levels is None else sweep_runs,
        level=view.level,
    )
