"""Fair sharing of one GPU server among many sessions: a FIFO queue per server URL and a rate limiter.

On a hosted classroom instance 30+ students may press "Run" against the instructor's one SGLang box.
Benchmark runs against the same base URL are serialised: each session takes a :class:`Ticket`, sees its
position, and runs only when it reaches the front. Sessions that leave (closed tab) stop sending
heartbeats; their tickets expire, so a dead session cannot block the queue.

One :class:`ServerQueue` and one :class:`RateLimiter` are shared by the whole process (the app keeps them
in ``st.cache_resource``); both are thread-safe and keep only opaque session ids and timestamps.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Ticket", "ServerQueue", "RateLimiter"]

Clock = Callable[[], float]


@dataclass
class Ticket:
    """A session's place in the queue of one server. ``number`` orders tickets (FIFO)."""

    number: int
    server_url: str
    session_id: str
    last_seen: float
    running: bool = False


class ServerQueue:
    """FIFO queue per server URL; at most ``slots`` runs per server at once.

    ``stale_after_s``: a waiting ticket with no heartbeat (``position()`` / ``try_start()`` call) for this
    long is dropped; a running one with no heartbeat for ``max_run_s`` is dropped too.
    """

    def __init__(
        self,
        slots: int = 1,
        stale_after_s: float = 30.0,
        max_run_s: float = 900.0,
        clock: Clock = time.monotonic,
    ):
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self._slots = slots
        self._stale_after_s = stale_after_s
        self._max_run_s = max_run_s
        self._clock = clock
        self._lock = threading.Lock()
        self._queues: dict[str, list[Ticket]] = {}
        self._numbers = itertools.count(1)

    def join(self, server_url: str, session_id: str) -> Ticket:
        """Queue ``session_id`` for ``server_url``; a session already queued there keeps its ticket."""
        with self._lock:
            queue = self._queues.setdefault(server_url, [])
            for ticket in queue:
                if ticket.session_id == session_id:
                    ticket.last_seen = self._clock()
                    return ticket
            ticket = Ticket(next(self._numbers), server_url, session_id, self._clock())
            queue.append(ticket)
            return ticket

    def _expire(self, server_url: str) -> list[Ticket]:
        now = self._clock()
        queue = self._queues.get(server_url, [])
        queue[:] = [
            t for t in queue if now - t.last_seen <= (self._max_run_s if t.running else self._stale_after_s)
        ]
        if not queue:
            self._queues.pop(server_url, None)
        return queue

    def position(self, ticket: Ticket) -> int | None:
        """0 when the ticket is running, k when k runs are ahead of it, None when it expired or left."""
        with self._lock:
            queue = self._expire(ticket.server_url)
            if ticket not in queue:
                return None
            ticket.last_seen = self._clock()
            if ticket.running:
                return 0
            return sum(1 for t in queue if t.running or t.number < ticket.number)

    def try_start(self, ticket: Ticket) -> bool:
        """Mark the ticket running if a slot is free and no earlier ticket waits; returns whether it runs."""
        with self._lock:
            queue = self._expire(ticket.server_url)
            if ticket not in queue:
                return False
            ticket.last_seen = self._clock()
            if ticket.running:
                return True
            running = sum(1 for t in queue if t.running)
            earlier_waiting = any(not t.running and t.number < ticket.number for t in queue)
            if running < self._slots and not earlier_waiting:
                ticket.running = True
                return True
            return False

    def heartbeat(self, ticket: Ticket) -> None:
        """Tell the queue this session is still alive (call it from progress callbacks)."""
        with self._lock:
            ticket.last_seen = self._clock()

    def leave(self, ticket: Ticket) -> None:
        """Finish or abandon: frees the slot and the place in line. Safe to call twice."""
        with self._lock:
            queue = self._queues.get(ticket.server_url, [])
            if ticket in queue:
                queue.remove(ticket)
            if not queue:
                self._queues.pop(ticket.server_url, None)

    def snapshot(self, server_url: str) -> tuple[int, int]:
        """(running, waiting) counts for a server, for display."""
        with self._lock:
            queue = self._expire(server_url)
            running = sum(1 for t in queue if t.running)
            return running, len(queue) - running


class RateLimiter:
    """At most ``max_events`` per ``window_s`` seconds per key (a session id); thread-safe, bounded memory."""

    def __init__(
        self, max_events: int, window_s: float, max_keys: int = 10_000, clock: Clock = time.monotonic
    ):
        if max_events < 1 or window_s <= 0:
            raise ValueError("max_events must be >= 1 and window_s > 0")
        self._max_events = max_events
        self._window_s = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._events: dict[str, deque[float]] = {}

    def check(self, key: str, consume: bool = True) -> tuple[bool, float]:
        """(allowed, seconds until the next event is allowed). ``consume`` records the event if allowed."""
        with self._lock:
            now = self._clock()
            events = self._events.setdefault(key, deque())
            while events and now - events[0] >= self._window_s:
                events.popleft()
            if len(events) >= self._max_events:
                return False, self._window_s - (now - events[0])
            if consume:
                events.append(now)
            if len(self._events) > self._max_keys:
                self._prune(now)
            return True, 0.0

    def _prune(self, now: float) -> None:
        for key in [k for k, ev in self._events.items() if not ev or now - ev[-1] >= self._window_s]:
            del self._events[key]
