"""The per-server FIFO queue and the per-session rate limiter, including under concurrent sessions."""

import threading
import time

import pytest

from core.serving.run_queue import RateLimiter, ServerQueue


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_fifo_positions_and_one_run_at_a_time():
    queue = ServerQueue(clock=FakeClock())
    a, b, c = (queue.join("http://gpu:30000", s) for s in "abc")
    assert [queue.position(t) for t in (a, b, c)] == [0, 1, 2]
    assert not queue.try_start(b)  # a is ahead
    assert queue.try_start(a)
    assert not queue.try_start(b)  # a is running
    assert queue.position(b) == 1
    queue.leave(a)
    assert queue.try_start(b)
    assert queue.position(c) == 1
    assert queue.snapshot("http://gpu:30000") == (1, 1)


def test_servers_are_independent_and_rejoining_keeps_the_ticket():
    queue = ServerQueue(clock=FakeClock())
    a = queue.join("http://one", "s1")
    b = queue.join("http://two", "s2")
    assert queue.try_start(a) and queue.try_start(b)
    assert queue.join("http://one", "s1") is a


def test_dead_sessions_expire():
    clock = FakeClock()
    queue = ServerQueue(stale_after_s=30, max_run_s=100, clock=clock)
    a = queue.join("u", "a")
    b = queue.join("u", "b")
    assert queue.try_start(a)
    for now in (25, 50, 75):  # b keeps polling; a runs silently but within max_run_s
        clock.now = now
        assert queue.position(b) == 1
    clock.now = 101
    assert queue.try_start(b)  # a sent no heartbeat for longer than max_run_s
    assert queue.position(a) is None
    c = queue.join("u", "c")
    clock.now = 140
    queue.heartbeat(b)
    assert queue.position(c) is None  # waited silently longer than stale_after_s


def test_concurrent_sessions_never_run_together():
    queue = ServerQueue(stale_after_s=60)
    active = []
    overlaps = []
    lock = threading.Lock()

    def session(name):
        ticket = queue.join("http://gpu", name)
        while not queue.try_start(ticket):
            time.sleep(0.001)
        with lock:
            active.append(name)
            if len(active) > 1:
                overlaps.append(tuple(active))
        time.sleep(0.002)
        with lock:
            active.remove(name)
        queue.leave(ticket)

    threads = [threading.Thread(target=session, args=(f"s{i}",)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not overlaps
    assert queue.snapshot("http://gpu") == (0, 0)


def test_rate_limiter_window():
    clock = FakeClock()
    limiter = RateLimiter(max_events=2, window_s=10, clock=clock)
    assert limiter.check("s")[0] and limiter.check("s")[0]
    allowed, retry = limiter.check("s")
    assert not allowed and retry == pytest.approx(10)
    assert limiter.check("other")[0]
    clock.now = 10.5
    assert limiter.check("s")[0]


def test_rate_limiter_memory_is_bounded():
    clock = FakeClock()
    limiter = RateLimiter(max_events=1, window_s=1, max_keys=10, clock=clock)
    for i in range(100):
        clock.now = i * 2.0
        limiter.check(f"session-{i}")
    assert len(limiter._events) <= 11
