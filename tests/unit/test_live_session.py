"""core.live_session: practice-server leases, connect under the URL policy, server card, limits, queue,
simulator deep links."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from core import live_session as live
from core.closed_form import expected_tokens_per_pass
from core.practice_server import PracticeConfig, PracticeServer
from core.run_queue import ServerQueue
from core.server_policy import ServerPolicy, URLRefused, policy_from_settings
from core.sglang_client import ConnectionFailed, HTTPStatusError, ServerInfo


# ----------------------------------------------------------------------------------------- helpers
class _CountingHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.server.hits.append(self.path)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def counting_server():
    """A local HTTP server that records every path it is asked for (to prove a URL was NOT contacted)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    httpd.hits = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def hosted(*urls: str, custom: bool = False) -> ServerPolicy:
    return policy_from_settings({"sglang": {"allowed_base_urls": list(urls), "allow_custom_url": custom}}, {})


# ------------------------------------------------------------------------------------ practice leases
def test_practice_server_starts_speculative_and_baseline_and_stops():
    spec = live.start_practice_server("speculative", time_scale=0.01)
    try:
        base = live.start_practice_server("baseline", [spec], time_scale=0.01)
        try:
            assert spec.running and base.running
            conn = live.connect(spec.url, None, ServerPolicy())
            assert conn.simulated and conn.info.speculative
            assert live.connect(base.url, None, ServerPolicy()).info.speculative is False
            assert spec.url in spec.describe() and "stops itself" in spec.describe()
        finally:
            base.stop()
    finally:
        spec.stop()
    assert not spec.running and "stopped" in spec.describe()
    with pytest.raises(ConnectionFailed):
        live.connect(spec.url, None, ServerPolicy())
    spec.stop()  # twice is fine


def test_at_most_two_practice_servers_per_session_counting_only_running_ones():
    first = live.start_practice_server("baseline", time_scale=0.01)
    second = live.start_practice_server("speculative", [first], time_scale=0.01)
    try:
        with pytest.raises(RuntimeError, match="already runs 2"):
            live.start_practice_server("baseline", [first, second], time_scale=0.01)
        first.stop()
        third = live.start_practice_server("baseline", [first, second], time_scale=0.01)
        third.stop()
    finally:
        first.stop()
        second.stop()


def test_practice_server_stops_itself_after_its_lifetime():
    lease = live.start_practice_server("baseline", time_scale=0.01, lifetime_s=0.3)
    try:
        deadline = time.monotonic() + 10
        while lease.running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not lease.running
    finally:
        lease.stop()


@pytest.mark.parametrize("kind", ["eagle", "", None])
def test_unknown_practice_kind_is_a_clear_error(kind):
    with pytest.raises(ValueError, match="unknown practice server kind"):
        live.start_practice_server(kind)


def test_practice_overrides_reach_the_config():
    lease = live.start_practice_server("baseline", time_scale=0.01, fault="http500")
    try:
        assert lease.server.config.fault == "http500"
    finally:
        lease.stop()


# ----------------------------------------------------------------------------------------- connect
def test_connect_refused_url_is_never_contacted(counting_server):
    port = counting_server.server_address[1]
    url = f"http://127.0.0.1:{port}"
    policy = hosted("http://10.0.0.12:30000")
    with pytest.raises(URLRefused, match="only connects to the instructor's servers"):
        live.connect(url, None, policy)
    assert live.refuse_reason(url, policy) is not None
    time.sleep(0.1)
    assert counting_server.hits == []
    # The same server, allow-listed, is contacted.
    with pytest.raises(HTTPStatusError, match="404"):  # not SGLang; what matters is that it was contacted
        live.connect(url, None, hosted(url))
    assert counting_server.hits


@pytest.mark.parametrize("url", ["http://169.254.169.254", "http://169.254.169.254/latest/meta-data"])
def test_metadata_address_refused_in_both_modes(url):
    assert "link-local" in live.refuse_reason(url, ServerPolicy())
    assert live.refuse_reason(url, hosted("http://10.0.0.12:30000")) is not None
    assert live.refuse_reason(url, hosted("http://10.0.0.12:30000", custom=True)) is not None


def test_connect_to_closed_port_says_connection_refused():
    with pytest.raises(ConnectionFailed, match="connection refused"):
        live.connect(closed_port_url(), None, ServerPolicy())


def test_connect_reports_a_server_that_is_not_ready():
    with PracticeServer(PracticeConfig(fault="health_503", time_scale=0.01)) as server:
        conn = live.connect(server.url, None, ServerPolicy())
    assert conn.ready_error and "503" in conn.ready_error


def test_connect_with_api_key():
    with PracticeServer(PracticeConfig(api_key="sesame", time_scale=0.01)) as server:
        with pytest.raises(Exception, match="401"):
            live.connect(server.url, None, ServerPolicy())
        conn = live.connect(server.url, "sesame", ServerPolicy())
    assert conn.info.model_path.endswith("-simulated")
    assert "sesame" not in repr(conn)


# ------------------------------------------------------------------------------------- server card
def info(**fields) -> ServerInfo:
    return ServerInfo(raw={}, **fields)


def test_server_card_rows_for_speculative_and_plain_servers():
    spec = info(
        model_path="meta-llama/Llama-3.1-8B-Instruct",
        speculative_algorithm="EAGLE3",
        draft_model_path="jamesliu1/sglang-EAGLE3-Llama-3.1-Instruct-8B",
        num_steps=3,
        eagle_topk=4,
        num_draft_tokens=16,
        max_running_requests=48,
        avg_spec_accept_length=3.4567,
    )
    rows = dict(live.server_card(spec))
    assert rows["Speculation"] == "on" and rows["Algorithm"] == "EAGLE3"
    assert rows["Steps / topk / draft tokens"] == "3 / 4 / 16"
    assert rows["Max running requests"] == "48"
    assert rows["Accept length so far (server)"].startswith("3.46")
    plain = dict(live.server_card(info(model_path="m", max_running_requests=256)))
    assert (
        plain["Speculation"] == "off"
        and "Algorithm" not in plain
        and "Accept length so far (server)" not in plain
    )
    unknown = dict(live.server_card(info(speculative_algorithm="EAGLE")))
    assert unknown["Model"] == "—" and unknown["Accept length so far (server)"] == "not reported yet"


@pytest.mark.parametrize(
    ("steps", "topk", "tokens", "gamma"),
    [(3, 1, 4, 3), (5, 4, 8, 5), (3, 4, 16, 3), (6, 2, 4, 3), (None, None, None, None)],
)
def test_gamma_is_the_longest_acceptable_path(steps, topk, tokens, gamma):
    server = info(speculative_algorithm="EAGLE3", num_steps=steps, eagle_topk=topk, num_draft_tokens=tokens)
    assert live.gamma_of(server) == gamma


def test_gamma_of_a_plain_server_is_none():
    assert live.gamma_of(info(num_steps=3)) is None


# ---------------------------------------------------------------------------------------- limits
def test_clamp_to_hosted_limits_with_messages():
    policy = hosted("http://10.0.0.12:30000")
    size, messages = live.clamp_run_settings(live.RunSize(1000, 100, 9999), policy)
    assert size == live.RunSize(
        policy.max_requests_per_run,
        min(policy.max_concurrency, policy.max_requests_per_run),
        policy.max_tokens,
    )
    assert len(messages) == 3 and all("classroom server allows at most" in m for m in messages)


def test_clamp_keeps_values_inside_the_limits_and_caps_concurrency_at_requests():
    size, messages = live.clamp_run_settings(live.RunSize(4, 8, 64), ServerPolicy())
    assert size == live.RunSize(4, 4, 64) and messages == []
    size, _ = live.clamp_run_settings(live.RunSize(0, 0, 0), ServerPolicy())
    assert size == live.RunSize(1, 1, 1)


# ----------------------------------------------------------------------------------------- queue
class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_wait_for_turn_reports_position_then_runs_when_the_first_leaves():
    clock = FakeClock()
    queue = ServerQueue(clock=clock)
    first = queue.join("http://gpu:30000", "a")
    assert queue.try_start(first)
    second = queue.join("http://gpu:30000", "b")
    seen = []

    def on_wait(ahead):
        seen.append(ahead)
        if len(seen) == 3:
            queue.leave(first)

    result = live.wait_for_turn(queue, second, on_wait=on_wait, sleep=clock.sleep, clock=clock, poll_s=1)
    assert result == "run" and seen == [1, 1, 1]
    assert queue.position(second) == 0


def test_wait_for_turn_stops_and_times_out():
    clock = FakeClock()
    queue = ServerQueue(clock=clock, stale_after_s=1e9)
    first = queue.join("u", "a")
    queue.try_start(first)
    second = queue.join("u", "b")
    assert (
        live.wait_for_turn(queue, second, should_stop=lambda: True, sleep=clock.sleep, clock=clock)
        == "stopped"
    )
    result = live.wait_for_turn(queue, second, sleep=clock.sleep, clock=clock, poll_s=10, max_wait_s=30)
    assert result == "timeout" and clock.now >= 30


def test_wait_for_turn_expired_ticket():
    clock = FakeClock()
    queue = ServerQueue(clock=clock)
    ticket = queue.join("u", "a")
    queue.leave(ticket)
    assert live.wait_for_turn(queue, ticket, sleep=clock.sleep, clock=clock) == "expired"


# ------------------------------------------------------------------------------- simulator link
@pytest.mark.parametrize(("accept", "gamma"), [(3.2, 3), (1.0, 5), (2.5, 4), (4.0, 3)])
def test_simulator_link_inverts_the_accept_length(accept, gamma):
    params = live.simulator_link_params(accept, gamma)
    assert params["section"] == "basics" and params["gamma"] == str(gamma)
    alpha = float(params["alpha"])
    assert 0 <= alpha <= 1
    # The rounded alpha gives back the accept length to within the rounding of alpha (0.005).
    lo = expected_tokens_per_pass(max(0.0, alpha - 0.005), gamma)
    hi = expected_tokens_per_pass(min(1.0, alpha + 0.005), gamma)
    assert lo - 1e-9 <= accept <= hi + 1e-9


@pytest.mark.parametrize(
    ("accept", "gamma"), [(None, 3), (2.0, None), (5.5, 3), (0.5, 3), (float("nan"), 3), (2.0, 0)]
)
def test_simulator_link_none_when_not_meaningful(accept, gamma):
    assert live.simulator_link_params(accept, gamma) is None
