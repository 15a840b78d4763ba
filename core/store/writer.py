"""Saving off the page's thread: a bounded queue drained by one background thread, retried until saved.

A page rerun must never wait on a slow or dead database, so a session hands each finished item to
:meth:`BackgroundWriter.submit` and goes on. The writer thread saves jobs in order; a job that fails
(database unreachable or locked) is retried with a growing delay (``first_retry_s`` doubling up to
``max_retry_s``) for as long as the process lives. Each :class:`SaveJob` carries its own state, which the
session reads to say what is saved and what is not yet (:class:`PendingSaves`). Nothing is dropped: a
full queue refuses the job (``submit`` returns False) and the session keeps it and submits it again later.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from core.store.class_store import ClassStore
from core.store.database import StoreUnavailable, transaction

__all__ = ["BackgroundWriter", "PendingSaves", "SaveJob"]


@dataclass
class SaveJob:
    """One write: ``apply(connection)`` runs inside a write transaction. ``state`` is "new", "queued",
    "retrying" (failed at least once; ``error`` says why), "saved" or "refused" (the data itself cannot be
    saved, e.g. too large; ``error`` says why; never retried)."""

    description: str
    apply: Callable[[Connection], None]
    state: str = "new"
    error: str | None = None
    attempts: int = 0
    saved_at: float | None = None
    cancelled: bool = field(default=False, repr=False)
    kind: str = ""  # the kind of work saved ("run", "quiz", ...); empty for other writes


class BackgroundWriter:
    """One per process (thread-safe). ``capacity``: jobs waiting at most (``submit`` refuses past it)."""

    def __init__(
        self,
        store: ClassStore,
        *,
        capacity: int = 2000,
        first_retry_s: float = 1.0,
        max_retry_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._store = store
        self._queue: queue.Queue[SaveJob] = queue.Queue(maxsize=capacity)
        self._retries: list[tuple[float, int, SaveJob]] = []  # heap of (due, tiebreak, job)
        self._tiebreak = itertools.count()
        self._first_retry_s = first_retry_s
        self._max_retry_s = max_retry_s
        self._clock = clock
        self._thread = threading.Thread(target=self._loop, name="speclab-store-writer", daemon=True)
        self._thread.start()

    def submit(self, job: SaveJob) -> bool:
        """Queue ``job``; False (and the job untouched) when the queue is full."""
        try:
            job.state = "queued" if job.state == "new" else job.state
            self._queue.put_nowait(job)
            return True
        except queue.Full:
            job.state = "new"
            return False

    def backlog(self) -> int:
        """Jobs not saved yet (waiting or waiting to be retried)."""
        return self._queue.qsize() + len(self._retries)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until nothing is queued (tests, shutdown); True when all was saved in time."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0 and not self._retries:
                return True
            time.sleep(0.01)
        return False

    def _loop(self) -> None:
        while True:
            wait = None
            if self._retries:
                wait = max(0.0, self._retries[0][0] - self._clock())
            try:
                job = self._queue.get(timeout=wait) if wait is None or wait > 0 else None
            except queue.Empty:
                job = None
            if job is not None:
                self._save(job)
                self._queue.task_done()
            while self._retries and self._retries[0][0] <= self._clock():
                self._save(heapq.heappop(self._retries)[2])

    def _save(self, job: SaveJob) -> None:
        if job.cancelled:
            return
        job.attempts += 1
        try:
            with transaction(self._store.engine(), write=True) as connection:
                job.apply(connection)
        except StoreUnavailable as error:
            job.state, job.error = "retrying", str(error)
            self._retry_later(job)
            return
        except (ValueError, TypeError) as error:
            job.state, job.error = "refused", str(error)
            return
        except Exception as error:  # the writer thread must outlive any one job: keep it, retry it
            job.state, job.error = "retrying", f"unexpected error: {type(error).__name__}: {error}"[:300]
            self._retry_later(job)
            return
        job.state, job.error, job.saved_at = "saved", None, time.time()

    def _retry_later(self, job: SaveJob) -> None:
        delay = min(self._max_retry_s, self._first_retry_s * 2 ** min(job.attempts - 1, 20))
        heapq.heappush(self._retries, (self._clock() + delay, next(self._tiebreak), job))


class PendingSaves:
    """A session's jobs until saved: what the banner lists. Keep one per session (session state)."""

    def __init__(self):
        self._jobs: list[SaveJob] = []
        self.saved: Counter[str] = Counter()  # items of each kind saved so far (what the page confirms)

    def add(self, writer: BackgroundWriter, job: SaveJob) -> None:
        """Hand ``job`` to ``writer`` and keep it here until it is saved."""
        self._jobs.append(job)
        writer.submit(job)

    def refresh(self, writer: BackgroundWriter) -> None:
        """Forget saved jobs (counting them by kind in ``saved``); submit again jobs the writer's full queue
        refused."""
        self.saved.update(job.kind for job in self._jobs if job.state == "saved" and job.kind)
        self._jobs = [job for job in self._jobs if job.state != "saved"]
        for job in self._jobs:
            if job.state == "new":
                writer.submit(job)

    def unsaved(self) -> list[SaveJob]:
        """Jobs not saved (yet): queued, retrying, refused or not accepted."""
        return [job for job in self._jobs if job.state != "saved"]

    def problems(self) -> list[SaveJob]:
        """Jobs that failed at least once or were refused (the ones a banner must name)."""
        return [job for job in self._jobs if job.state in {"retrying", "refused"}]

    def cancel_all(self) -> None:
        """Drop every pending job (the learner deleted their data)."""
        for job in self._jobs:
            job.cancelled = True
        self._jobs = []
        self.saved.clear()
