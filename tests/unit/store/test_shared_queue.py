"""The class's shared queue and rate limits: FIFO, expiry, and never two runs on one server, whatever the
process, against SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from core.store.class_store import ClassStore
from core.store.shared_queue import SharedQueue, SharedRateLimiter

GPU = "http://gpu:30000"


class FakeClock:
    def __init__(self, now: float = 1_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_fifo_positions_and_one_run_at_a_time(store):
    queue = SharedQueue(store, clock=FakeClock())
    a, b, c = (queue.join(GPU, holder) for holder in "abc")
    assert [queue.position(t) for t in (a, b, c)] == [0, 1, 2]
    assert not queue.try_start(b)  # a is ahead
    assert queue.try_start(a)
    assert queue.try_start(a)  # asking again while running keeps running
    assert not queue.try_start(b)
    assert queue.snapshot(GPU) == (1, 2)
    queue.leave(a)
    queue.leave(a)  # twice is harmless
    assert queue.try_start(b)
    assert queue.position(c) == 1
    assert queue.join(GPU, "c").number == c.number  # joining again keeps the place
    other = queue.join("http://other:30000", "a")
    assert queue.try_start(other)  # servers are independent


def test_two_queue_objects_share_one_line(store):
    """Two replicas are two SharedQueue objects over one database."""
    clock = FakeClock()
    replica_1, replica_2 = SharedQueue(store, clock=clock), SharedQueue(ClassStore(store.url), clock=clock)
    a = replica_1.join(GPU, "a")
    b = replica_2.join(GPU, "b")
    assert replica_2.try_start(a)
    assert not replica_1.try_start(b)
    assert replica_1.position(b) == 1


def test_tickets_without_heartbeats_expire(store):
    clock = FakeClock()
    queue = SharedQueue(store, stale_after_s=30, run_lease_s=120, heartbeat_every_s=5, clock=clock)
    runner, waiter, closed_tab = (queue.join(GPU, h) for h in ("runner", "waiter", "closed"))
    assert queue.try_start(runner)
    clock.now += 25
    queue.heartbeat(runner)
    assert queue.position(waiter) == 1  # the runner is ahead; the closed tab queued after the waiter
    clock.now += 20  # closed tab silent for 45 s > 30 s
    assert queue.position(closed_tab) is None
    assert queue.snapshot(GPU) == (1, 1)
    for _ in range(8):  # the waiter keeps polling; the runner's replica died after its heartbeat at 25 s
        clock.now += 10
        assert queue.position(waiter) == 1
    assert queue.snapshot(GPU) == (1, 1)  # 100 s silent: within the 120 s lease
    for _ in range(3):
        clock.now += 10
        queue.position(waiter)
    assert queue.snapshot(GPU) == (0, 1)  # 130 s silent: the lease expired, the server is free
    assert queue.try_start(waiter)


def test_heartbeats_are_throttled(store):
    clock = FakeClock()
    queue = SharedQueue(store, stale_after_s=30, heartbeat_every_s=5, clock=clock)
    ticket = queue.join(GPU, "a")
    clock.now += 3
    queue.heartbeat(ticket)  # too soon after join: not written
    assert ticket.last_beat == 1_000.0
    clock.now += 3
    queue.heartbeat(ticket)
    assert ticket.last_beat == 1_006.0


def test_overview_lists_servers_with_live_tickets(store):
    clock = FakeClock()
    queue = SharedQueue(store, clock=clock)
    a, _b = queue.join(GPU, "a"), queue.join(GPU, "b")
    queue.try_start(a)
    clock.now += 10
    [entry] = queue.overview()
    assert (entry.server_url, entry.running, entry.waiting) == (GPU, 1, 1)
    assert entry.longest_wait_s == pytest.approx(10.0)


def test_rate_limit_is_shared_by_replicas(store):
    clock = FakeClock()
    first = SharedRateLimiter(store, max_events=2, window_s=60, clock=clock)
    second = SharedRateLimiter(ClassStore(store.url), max_events=2, window_s=60, clock=clock)
    assert first.check("learner-1") == (True, 0.0)
    clock.now += 10
    assert second.check("learner-1") == (True, 0.0)
    allowed, wait = first.check("learner-1")
    assert not allowed and wait == pytest.approx(50.0)
    assert second.check("learner-2")[0]  # others are not limited
    assert first.check("learner-1", consume=False)[0] is False
    clock.now += 51
    assert second.check("learner-1")[0]


# ---------------------------------------------------------------------------------- hammering
def _hammer(url: str, worker: str, runs: int, log, barrier=None) -> None:
    """Join, wait for the turn, "run" briefly, leave; log (server, start, end) of each run."""
    queue = SharedQueue(ClassStore(url), stale_after_s=60, run_lease_s=60)
    if barrier is not None:
        barrier.wait()
    for index in range(runs):
        server = ("http://gpu-a:30000", "http://gpu-b:30000")[index % 2]
        ticket = queue.join(server, f"{worker}-{index}")
        while not queue.try_start(ticket):
            time.sleep(0.002)
        start = time.time()
        time.sleep(0.01)
        end = time.time()
        queue.leave(ticket)
        log.put((server, start, end))


def _assert_no_overlap(intervals: list[tuple[str, float, float]]) -> None:
    by_server: dict[str, list[tuple[float, float]]] = {}
    for server, start, end in intervals:
        by_server.setdefault(server, []).append((start, end))
    for server, spans in by_server.items():
        spans.sort()
        for (_s1, e1), (s2, _e2) in zip(spans, spans[1:], strict=False):
            assert s2 >= e1, f"two runs overlapped on {server}"


class _ListLog:
    def __init__(self):
        self.items, self._lock = [], threading.Lock()

    def put(self, item):
        with self._lock:
            self.items.append(item)


def test_threads_hammering_the_queue_never_overlap_on_a_server(store):
    log = _ListLog()
    threads = [threading.Thread(target=_hammer, args=(store.url, f"t{i}", 6, log)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(log.items) == 36
    _assert_no_overlap(log.items)


@pytest.mark.slow
def test_processes_hammering_the_queue_never_overlap_on_a_server(store):
    context = multiprocessing.get_context("spawn")
    log, barrier = context.Queue(), context.Barrier(4)
    workers = [context.Process(target=_hammer, args=(store.url, f"p{i}", 6, log, barrier)) for i in range(4)]
    for worker in workers:
        worker.start()
    intervals = [log.get(timeout=120) for _ in range(24)]
    for worker in workers:
        worker.join(30)
    assert [w.exitcode for w in workers] == [0] * 4
    _assert_no_overlap(intervals)
