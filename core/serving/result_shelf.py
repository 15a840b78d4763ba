"""What one Live benchmark session keeps: its numbered runs and sweeps, bounded, and a notice about them.

Plain objects only. A run that Streamlit interrupts (Stop pressed, page left) can no longer touch the
session, so the page fetches a :class:`ResultShelf` before a run and the run saves into it on the way out,
even while the interruption unwinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from core.serving.bench_runner import BenchRun, BenchSettings
from core.serving.live_session import (
    MAX_SAVED,
    ResultsFile,
    SavedRun,
    SavedSweep,
    keep_bounded,
    partial_run,
)
from core.serving.sglang_client import RequestRecord, ServerInfo

INTERRUPTED = "interrupted: Stop was pressed, a setting changed or the page was left"


@dataclass
class ShelfState:
    """The shelf's small state: the last result number, the notice to show, the run to select next, and
    whether a run is under way in this session (so the next rerun can wait for it to save)."""

    counter: int = 0
    notice: str | None = None
    select_run: str | None = None
    running: bool = False


@dataclass
class ResultShelf:
    """The session's saved runs and sweeps (each list bounded by ``MAX_SAVED``, oldest dropped first)."""

    runs: list[SavedRun] = field(default_factory=list)
    sweeps: list[SavedSweep] = field(default_factory=list)
    state: ShelfState = field(default_factory=ShelfState)

    def next_number(self) -> int:
        """The number of the next result (#1, #2, ...: its label shows it)."""
        self.state.counter += 1
        return self.state.counter

    def keep_run(self, run: BenchRun) -> SavedRun:
        """Keep a run measured now and select it; the notice says only whether the oldest run was dropped
        (a stopped run says so in its own results)."""
        saved = SavedRun.new(run, self.next_number())
        dropped = keep_bounded(self.runs, saved)
        self.state.select_run = saved.id
        self.state.notice = f"The oldest run was dropped (this page keeps {MAX_SAVED})." if dropped else None
        return saved

    def keep_sweep(self, sweep_runs: list[BenchRun]) -> SavedSweep | None:
        """Keep a sweep measured now (one run per level); nothing when no level finished."""
        if not sweep_runs:
            return None
        saved = SavedSweep.new(sweep_runs, self.next_number())
        keep_bounded(self.sweeps, saved)
        stopped = [r for r in sweep_runs if r.stopped_reason]
        self.state.notice = (
            f"The sweep stopped early ({stopped[-1].stopped_reason}); the {len(sweep_runs)} level(s) measured "
            "are kept."
            if stopped
            else None
        )
        return saved

    def keep_interrupted(
        self,
        settings: BenchSettings,
        url: str,
        finished: list[RequestRecord],
        *,
        started_at: float,
        simulated: bool,
        server_info: ServerInfo | None,
        sweep_runs: list[BenchRun] | None = None,
        level: int | None = None,
    ) -> None:
        """Keep what finished before a run was cut off.

        ``sweep_runs`` None: a single run, kept as a stopped run if any request finished. Otherwise a sweep:
        the levels already measured plus, if requests of the current ``level`` finished, that level's part.
        ``started_at`` is a wall-clock time in seconds (``time.time()``).
        """
        part = None
        if finished:
            if sweep_runs is not None and level is not None:
                settings = replace(
                    settings, concurrency=level, num_requests=max(settings.num_requests, level)
                )
            part = partial_run(
                settings,
                url,
                finished,
                started_at=started_at,
                simulated=simulated,
                reason=INTERRUPTED,
                server_info=server_info,
            )
        if sweep_runs is None:
            if part is not None:
                self.keep_run(part)
        else:
            self.keep_sweep([*sweep_runs, part] if part is not None else list(sweep_runs))

    def load(self, loaded: ResultsFile, file_name: str) -> SavedRun | SavedSweep:
        """Keep a run or sweep read from a results file, labelled with the file's name."""
        origin = f"file {file_name}"
        if loaded.kind == "run":
            item = SavedRun.new(loaded.runs[0], self.next_number(), origin=origin)
            keep_bounded(self.runs, item)
        else:
            item = SavedSweep.new(loaded.runs, self.next_number(), origin=origin)
            keep_bounded(self.sweeps, item)
        return item

    def forget(self, kind: str, item_id: str) -> None:
        """Remove the run (``kind`` "run") or sweep with this id."""
        items = self.runs if kind == "run" else self.sweeps
        items[:] = [item for item in items if item.id != item_id]
