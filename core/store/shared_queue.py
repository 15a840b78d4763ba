"""The class's run queue and rate limits, in the store, so every replica of the app shares them.

:class:`SharedQueue` has the same methods as the in-process :class:`core.serving.run_queue.ServerQueue`
(join, position, try_start, heartbeat, leave, snapshot): one FIFO per server URL, one run per server at
once. Every change runs in a write transaction holding the server's lock (``BEGIN IMMEDIATE`` on SQLite,
``SELECT ... FOR UPDATE`` on a row of ``locks`` on PostgreSQL), and a partial unique index allows at most
one running ticket per server whatever happens. Tickets whose holder stopped sending heartbeats (a closed
tab, a dead replica) expire: waiting ones after ``stale_after_s``, running ones after ``run_lease_s``.

:class:`SharedRateLimiter` is :class:`core.serving.run_queue.RateLimiter` in the store: at most
``max_events`` per ``window_s`` seconds per key (a learner), counted across replicas.

Clocks: Unix seconds of the replica that writes (keep the class's machines on NTP).
Every method but ``heartbeat`` may raise :class:`~core.store.database.StoreUnavailable`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from core.store.class_store import ClassStore
from core.store.database import StoreUnavailable, lock_name, transaction
from core.store.schema import queue_tickets, rate_events

__all__ = ["QueueEntry", "SharedQueue", "SharedRateLimiter", "SharedTicket"]

Clock = Callable[[], float]


@dataclass
class SharedTicket:
    """A place in a server's queue; ``number`` orders tickets (FIFO), ``session_id`` is its holder."""

    number: int
    server_url: str
    session_id: str
    last_beat: float = 0.0


@dataclass(frozen=True)
class QueueEntry:
    """One server's queue now, for the instructor: running (0 or 1) and waiting tickets, oldest wait (s)."""

    server_url: str
    running: int
    waiting: int
    longest_wait_s: float


class SharedQueue:
    """FIFO queue per server URL in the store; at most one run per server at once, across all replicas.

    ``heartbeat_every_s``: :meth:`heartbeat` writes at most this often per ticket (progress callbacks call
    it many times a second).
    """

    def __init__(
        self,
        store: ClassStore,
        *,
        stale_after_s: float = 30.0,
        run_lease_s: float = 180.0,
        heartbeat_every_s: float = 5.0,
        clock: Clock = time.time,
    ):
        self._store = store
        self._stale_after_s = stale_after_s
        self._run_lease_s = run_lease_s
        self._heartbeat_every_s = heartbeat_every_s
        self._clock = clock

    def _locked(self, server_url: str):
        return _LockedServer(self, server_url)

    def _expire(self, connection: Connection, server_url: str, now: float) -> None:
        tickets = queue_tickets.c
        connection.execute(
            delete(queue_tickets).where(
                tickets.server_url == server_url,
                or_(
                    and_(tickets.running.is_(False), tickets.last_seen < now - self._stale_after_s),
                    and_(tickets.running.is_(True), tickets.last_seen < now - self._run_lease_s),
                ),
            )
        )

    def join(self, server_url: str, session_id: str) -> SharedTicket:
        """Queue ``session_id`` for ``server_url``; a holder already queued there keeps its ticket."""
        with self._locked(server_url) as (connection, now):
            tickets = queue_tickets.c
            number = connection.execute(
                select(tickets.id).where(tickets.server_url == server_url, tickets.holder == session_id)
            ).scalar()
            if number is None:
                values = {"server_url": server_url, "holder": session_id, "running": False}
                result = connection.execute(
                    insert(queue_tickets).values(**values, joined_at=now, last_seen=now)
                )
                number = result.inserted_primary_key[0]
            else:
                _touch(connection, number, now)
        return SharedTicket(int(number), server_url, session_id, now)

    def position(self, ticket: SharedTicket) -> int | None:
        """0 when the ticket runs, k when k tickets are ahead of it, None when it expired or left."""
        with self._locked(ticket.server_url) as (connection, now):
            running = _ticket_state(connection, ticket)
            if running is None:
                return None
            _touch(connection, ticket.number, now)
            ticket.last_beat = now
            if running:
                return 0
            tickets = queue_tickets.c
            ahead = select(func.count()).where(
                tickets.server_url == ticket.server_url,
                or_(tickets.running.is_(True), tickets.id < ticket.number),
            )
            return int(connection.execute(ahead).scalar_one())

    def try_start(self, ticket: SharedTicket) -> bool:
        """Mark the ticket running if no run is on its server and no earlier ticket waits."""
        with self._locked(ticket.server_url) as (connection, now):
            running = _ticket_state(connection, ticket)
            if running is None:
                return False
            _touch(connection, ticket.number, now)
            ticket.last_beat = now
            if running:
                return True
            tickets = queue_tickets.c
            blocking = select(func.count()).where(
                tickets.server_url == ticket.server_url,
                or_(tickets.running.is_(True), tickets.id < ticket.number),
            )
            if connection.execute(blocking).scalar_one():
                return False
            connection.execute(update(queue_tickets).where(tickets.id == ticket.number).values(running=True))
            return True

    def heartbeat(self, ticket: SharedTicket) -> None:
        """Tell the queue this holder is alive (written at most every ``heartbeat_every_s``).

        Never raises: a heartbeat lost while the store is briefly down is made up by the next one, well
        within the lease.
        """
        now = self._clock()
        if now - ticket.last_beat < self._heartbeat_every_s:
            return
        try:
            with transaction(self._store.engine(), write=True) as connection:
                _touch(connection, ticket.number, now)
        except StoreUnavailable:
            return
        ticket.last_beat = now

    def leave(self, ticket: SharedTicket) -> None:
        """Finish or give up the place: frees the server for the next ticket. Safe to call twice."""
        with transaction(self._store.engine(), write=True) as connection:
            connection.execute(delete(queue_tickets).where(queue_tickets.c.id == ticket.number))

    def snapshot(self, server_url: str) -> tuple[int, int]:
        """(running, waiting) tickets on ``server_url`` now."""
        with self._locked(server_url) as (connection, _now):
            tickets = queue_tickets.c
            rows = connection.execute(
                select(tickets.running, func.count())
                .where(tickets.server_url == server_url)
                .group_by(tickets.running)
            ).all()
        counts = {bool(running): int(count) for running, count in rows}
        return counts.get(True, 0), counts.get(False, 0)

    def overview(self) -> list[QueueEntry]:
        """Every server with tickets (expired ones left out), for the instructor."""
        now = self._clock()
        tickets = queue_tickets.c
        live = or_(
            and_(tickets.running.is_(False), tickets.last_seen >= now - self._stale_after_s),
            and_(tickets.running.is_(True), tickets.last_seen >= now - self._run_lease_s),
        )
        query = select(tickets.server_url, tickets.running, tickets.joined_at).where(live)
        with transaction(self._store.engine()) as connection:
            rows = connection.execute(query).all()
        entries: dict[str, list] = {}
        for url, running, joined in rows:
            entry = entries.setdefault(url, [0, 0, 0.0])
            entry[0 if running else 1] += 1
            if not running:
                entry[2] = max(entry[2], now - joined)
        return [QueueEntry(url, r, w, wait) for url, (r, w, wait) in sorted(entries.items())]


class _LockedServer:
    """``with`` block: a write transaction holding one server's lock, expired tickets already removed."""

    def __init__(self, queue: SharedQueue, server_url: str):
        self._queue, self._server_url = queue, server_url
        self._context = None

    def __enter__(self) -> tuple[Connection, float]:
        self._context = transaction(self._queue._store.engine(), write=True)
        connection = self._context.__enter__()
        try:
            lock_name(connection, f"queue:{self._server_url}")
            now = self._queue._clock()
            self._queue._expire(connection, self._server_url, now)
        except BaseException as error:
            self._context.__exit__(type(error), error, error.__traceback__)
            raise
        return connection, now

    def __exit__(self, *exc_info):
        return self._context.__exit__(*exc_info)


def _ticket_state(connection: Connection, ticket: SharedTicket) -> bool | None:
    """Whether the ticket runs (True/False), or None when it is gone."""
    value = connection.execute(
        select(queue_tickets.c.running).where(queue_tickets.c.id == ticket.number)
    ).scalar()
    return None if value is None else bool(value)


def _touch(connection: Connection, number: int, now: float) -> None:
    connection.execute(update(queue_tickets).where(queue_tickets.c.id == number).values(last_seen=now))


class SharedRateLimiter:
    """At most ``max_events`` per ``window_s`` seconds per key, counted in the store (all replicas)."""

    def __init__(self, store: ClassStore, max_events: int, window_s: float, clock: Clock = time.time):
        if max_events < 1 or window_s <= 0:
            raise ValueError("max_events must be >= 1 and window_s > 0")
        self._store = store
        self._max_events = max_events
        self._window_s = window_s
        self._clock = clock

    def check(self, key: str, consume: bool = True) -> tuple[bool, float]:
        """(allowed, seconds until the next event is allowed). ``consume`` records the event if allowed."""
        events = rate_events.c
        with transaction(self._store.engine(), write=True) as connection:
            lock_name(connection, f"rate:{key}")
            now = self._clock()
            connection.execute(
                delete(rate_events).where(events.key == key, events.at <= now - self._window_s)
            )
            times = (
                connection.execute(select(events.at).where(events.key == key).order_by(events.at))
                .scalars()
                .all()
            )
            if len(times) >= self._max_events:
                return False, self._window_s - (now - times[0])
            if consume:
                connection.execute(insert(rate_events).values(key=key, at=now))
            return True, 0.0
