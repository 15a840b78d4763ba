"""core.serving.live_session: practice-server leases, connect under the URL policy, server card, limits, queue,
simulator deep links."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from core.serving import live_session as live
from core.serving.bench_runner import BenchRun, BenchSettings, compare_runs
from core.serving.practice_server import PracticeConfig, PracticeServer
from core.serving.run_queue import ServerQueue
from core.serving.server_policy import ServerPolicy, URLRefused, policy_from_settings
from core.serving.serving_metrics import summarize
from core.serving.sglang_client import ConnectionFailed, HTTPStatusError, RequestRecord, ServerInfo
from core.simulation.closed_form import expected_tokens_per_pass


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


# ------------------------------------------------------------------------------ saved results, tables

SPEC_INFO = {
    "model_path": "meta-llama/Llama-3.1-8B-Instruct",
    "speculative_algorithm": "EAGLE3",
    "speculative_num_steps": 3,
    "speculative_eagle_topk": 1,
    "speculative_num_draft_tokens": 4,
    "internal_states": [{"avg_spec_accept_length": 2.5}],
}
PLAIN_INFO = {"model_path": "meta-llama/Llama-3.1-8B-Instruct", "speculative_algorithm": None}


def record(category, tokens, ttft, e2e, start=0.0, verify=None, ok=True, error=None) -> RequestRecord:
    """A finished request: ``tokens`` output tokens, TTFT and E2E in seconds, evenly spaced tokens."""
    itl = [] if tokens < 2 else [(e2e - ttft) / (tokens - 1)] * (tokens - 1)
    return RequestRecord(
        prompt=f"{category} prompt",
        category=category,
        success=ok,
        error=error,
        start_time=start,
        ttft_s=ttft,
        e2e_s=e2e,
        itl_s=itl,
        completion_tokens=tokens,
        spec_verify_ct=verify,
        spec_accept_length=None if verify is None else tokens / verify,
    )


def make_run(
    records, *, concurrency=1, info=PLAIN_INFO, duration=None, simulated=False, **settings
) -> BenchRun:
    summary = summarize(records, duration)
    return BenchRun(
        settings=BenchSettings(num_requests=len(records), concurrency=concurrency, **settings),
        base_url="http://gpu:30000",
        records=list(records),
        summary=summary,
        started_at=1000.0,
        ended_at=1000.0 + summary.duration_s,
        server_info_before=ServerInfo.from_raw(info),
        server_info_after=ServerInfo.from_raw(info),
        simulated=simulated,
    )


def pair_of_runs():
    """Baseline: 100 tokens per request in 2 s; speculative: the same tokens in 1 s (predictable) and
    1.6 s (creative), 25 and 50 verify passes (accept lengths 4 and 2)."""
    baseline = make_run(
        [record("predictable", 100, 0.1, 2.0, 0.0), record("creative", 100, 0.1, 2.0, 2.0)], duration=4.0
    )
    speculative = make_run(
        [
            record("predictable", 100, 0.1, 1.0, 0.0, verify=25),
            record("creative", 100, 0.1, 1.6, 1.0, verify=50),
        ],
        info=SPEC_INFO,
        duration=2.6,
    )
    return baseline, speculative


def test_saved_run_labels_say_kind_model_size_and_origin():
    baseline, speculative = pair_of_runs()
    a = live.SavedRun.new(baseline, 1)
    b = live.SavedRun.new(speculative, 2, origin="file old.json")
    assert a.label == "#1 baseline · Llama-3.1-8B-Instruct · 2 req @ c1"
    assert b.label == "#2 speculative (EAGLE3) · Llama-3.1-8B-Instruct · 2 req @ c1 · file old.json"
    assert a.id != b.id
    simulated = make_run([record("creative", 10, 0.1, 0.5)], simulated=True)
    assert live.SavedRun.new(simulated, 3).label.endswith("· simulated")


def test_keep_bounded_drops_the_oldest():
    items = []
    dropped = [live.keep_bounded(items, n, limit=3) for n in range(5)]
    assert items == [2, 3, 4] and dropped == [0, 0, 0, 1, 1]


def test_pick_comparison_takes_the_latest_of_each_kind():
    baseline, speculative = pair_of_runs()
    saved = [live.SavedRun.new(r, i) for i, r in enumerate([baseline, speculative, baseline, speculative])]
    assert live.pick_comparison(saved) == (saved[2], saved[3])
    assert live.pick_comparison(saved[:1]) == (saved[0], None)
    assert live.pick_comparison([]) == (None, None)


def test_comparison_frame_carries_each_runs_summary():
    baseline, speculative = pair_of_runs()
    frame = live.comparison_frame(baseline, speculative)
    assert list(dict.fromkeys(frame["category"])) == ["predictable", "creative", "overall"]

    def value(category, metric, server):
        row = frame[(frame.category == category) & (frame.metric == metric) & (frame.server == server)]
        assert len(row) == 1
        return row["value"].iloc[0]

    # Hand-computed: speculative predictable = 100 tokens / 1.0 s; overall = 200 tokens / 2.6 s.
    assert value("predictable", "output tok/s", "speculative") == pytest.approx(100.0)
    assert value("overall", "output tok/s", "speculative") == pytest.approx(200 / 2.6)
    assert value("overall", "output tok/s", "baseline") == pytest.approx(200 / 4.0)
    assert value("predictable", "accept length", "speculative") == pytest.approx(4.0)
    assert value("creative", "accept length", "speculative") == pytest.approx(2.0)
    assert value("creative", "accept length", "baseline") == 1.0  # one token per step without speculation
    assert value("creative", "TTFT mean (ms)", "baseline") == pytest.approx(100.0)
    assert value("creative", "ITL mean (ms)", "speculative") == pytest.approx(1500 / 99)


def test_speedup_frame_matches_compare_runs():
    baseline, speculative = pair_of_runs()
    comparison = compare_runs(baseline, speculative)
    frame = live.speedup_frame(comparison)
    row = frame[(frame.category == "predictable") & (frame.measure == "per-request speed (1/TPOT)")]
    assert row["speedup"].iloc[0] == pytest.approx((1.9 / 99) / (0.9 / 99))
    overall = frame[(frame.category == "overall") & (frame.measure == "output throughput")]
    assert overall["speedup"].iloc[0] == pytest.approx((200 / 2.6) / (200 / 4.0))
    assert set(frame["category"]) == {"predictable", "creative", "overall"}


def test_category_and_records_frames():
    _, speculative = pair_of_runs()
    categories = live.category_frame(speculative)
    assert list(categories["category"]) == ["predictable", "creative", "overall"]
    assert list(categories["accept length"]) == pytest.approx([4.0, 2.0, 200 / 75])
    records = live.records_frame(speculative.records)
    assert list(records["#"]) == [1, 2] and list(records["output tokens"]) == [100, 100]
    assert records["TTFT (ms)"].tolist() == pytest.approx([100.0, 100.0])
    assert records["accept length"].tolist() == pytest.approx([4.0, 2.0])
    failed = live.records_frame([record("creative", 3, 0.1, 0.2, ok=False, error="stalled: no data for 1 s")])
    assert failed["ok"].tolist() == [False] and failed["error"].tolist() == ["stalled: no data for 1 s"]
    assert list(live.records_frame([]).columns) == list(records.columns)


def test_sweep_tables_and_speedup_by_level():
    def level(c, seconds, info):
        verify = 50 if info is SPEC_INFO else None
        return make_run(
            [record("creative", 100, 0.1, seconds, verify=verify)] * c,
            concurrency=c,
            info=info,
            duration=seconds,
        )

    base = live.SavedSweep.new([level(1, 2.0, PLAIN_INFO), level(8, 4.0, PLAIN_INFO)], 1)
    spec = live.SavedSweep.new(
        [level(1, 1.0, SPEC_INFO), level(8, 5.0, SPEC_INFO), level(64, 9.0, SPEC_INFO)], 2
    )
    assert base.label.startswith("sweep #1 baseline") and "c = 1, 8" in base.label
    assert spec.speculative and not base.speculative
    frame = live.sweep_frame([base, spec])
    assert list(frame["concurrency"]) == [1, 8, 1, 8, 64]
    assert set(frame["series"]) == {"sweep #1 baseline", "sweep #2 speculative (EAGLE3)"}
    speedup = live.sweep_speedup_frame(base, spec)
    assert list(speedup["concurrency"]) == [1, 8]  # 64 has no baseline to compare with
    assert speedup["speedup"].tolist() == pytest.approx(
        [(100 / 1.0) / (100 / 2.0), (800 / 5.0) / (800 / 4.0)]
    )
    with pytest.raises(ValueError):
        live.SavedSweep.new([], 3)


def test_results_file_round_trips_runs_and_sweeps():
    baseline, speculative = pair_of_runs()
    loaded = live.read_results_file(speculative.to_json().encode(), "run.json")
    assert loaded.kind == "run" and loaded.runs[0].summary == speculative.summary
    document = live.sweep_to_json([baseline, speculative]).encode()
    loaded = live.read_results_file(document, "sweep.json")
    assert loaded.kind == "sweep" and [r.summary for r in loaded.runs] == [
        baseline.summary,
        speculative.summary,
    ]
    csv_text = live.sweep_to_csv([baseline, speculative])
    assert len(csv_text.splitlines()) == 1 + 4 and "c1" in csv_text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"   \n", "is empty"),
        (b"\xff\xfe", "not a text file"),
        (b"{broken", "is not JSON"),
        (b"a,b,c\n1,2,3\n", "upload the JSON export"),
        (b"[1, 2, 3]", "not a speclab benchmark run"),
        (b'{"schema": "speclab.bench_run", "schema_version": 99}', "schema version 99"),
        (b'{"schema": "speclab.bench_run", "schema_version": 1, "records": []}', "damaged"),
        (b'{"schema": "speclab.concurrency_sweep", "schema_version": 1, "runs": []}', "without runs"),
        (b'{"schema": "speclab.concurrency_sweep", "schema_version": 7, "runs": [{}]}', "schema version 7"),
        (
            b'{"schema": "speclab.concurrency_sweep", "schema_version": 1, "runs": [{"a": 1}]}',
            "not a speclab",
        ),
    ],
)
def test_bad_results_files_are_one_clear_error(content, message):
    with pytest.raises(live.ResultsFileError, match="upload.json") as info:
        live.read_results_file(content, "upload.json")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_results_file_size_cap():
    _, speculative = pair_of_runs()
    data = speculative.to_json().encode()
    assert live.read_results_file(data, "ok.json", max_bytes=len(data)).kind == "run"
    with pytest.raises(live.ResultsFileError, match="up to"):
        live.read_results_file(data, "big.json", max_bytes=len(data) - 1)


def test_partial_run_summarises_what_finished():
    records = [
        record("creative", 50, 0.1, 1.0, start=1000.0),
        record("predictable", 20, 0.1, 0.5, start=1000.2),
    ]
    run = live.partial_run(
        BenchSettings(num_requests=10),
        "http://gpu:30000",
        records,
        started_at=1000.0,
        simulated=True,
        reason="x",
    )
    assert run.summary == summarize(records) and run.stopped_reason == "x" and run.simulated
    assert run.ended_at == pytest.approx(1001.0)
    assert run.summary.output_throughput_tok_s == pytest.approx(70 / 1.0)
    empty = live.partial_run(
        BenchSettings(), "http://gpu:30000", [], started_at=5.0, simulated=False, reason="y"
    )
    assert empty.summary.requests_total == 0 and empty.ended_at == 5.0


def test_run_caveats_flag_short_and_small_runs():
    steady = make_run([record("creative", 100, 0.1, 2.5, start=i * 0.5) for i in range(8)], concurrency=2)
    assert live.run_caveats(steady) == []
    short = make_run([record("creative", 10, 0.01, 0.1)], duration=0.1)
    assert any("lasted only 0.10 s" in c for c in live.run_caveats(short))
    one_wave = make_run([record("creative", 100, 0.1, 3.0)] * 16, concurrency=16, duration=3.0)
    [caveat] = live.run_caveats(one_wave)
    assert "16 requests at concurrency 16" in caveat and "at least 32 requests" in caveat


def test_run_gamma_and_published_frames():
    baseline, speculative = pair_of_runs()
    assert live.run_gamma(speculative) == 3 and live.run_gamma(baseline) is None
    from core.references import published

    docs = live.published_throughput_frame()
    ref = published.get_reference("sglang-docs-llama31-8b-h100")
    assert docs["output tok/s"].iloc[0] == ref.metric("baseline_tok_s")
    assert dict(zip(docs["method"][1:], docs["output tok/s"][1:], strict=True)) == dict(
        ref.metric("throughput_tok_s")
    )
    assert docs["speedup"].iloc[0] == 1.0 and (docs["source"] == ref.source).all()
    points = live.published_batch_frame()
    assert len(points) == len(published.batch_throughput_series())
    assert set(points["source"]) == {published.get_reference("eagle3-table3-batch").source}


@pytest.mark.parametrize(
    ("url", "port"),
    [("http://gpu:30001", 30001), ("http://gpu", 30000), ("gpu:8000", 8000), ("http://gpu:99999", 30000)],
)
def test_start_commands_serve_on_the_port_the_user_tried(url, port):
    from core.serving.launch_command import LaunchSpec, build_launch_command

    baseline, speculative = live.start_commands(url)
    assert baseline.argv[baseline.argv.index("--port") + 1] == str(port)
    assert speculative.argv[speculative.argv.index("--port") + 1] == str(port)
    assert "--speculative-algorithm" not in baseline.argv
    expected = build_launch_command(LaunchSpec(model=live.DEFAULT_MODEL, port=port, algorithm="EAGLE3"))
    assert speculative.text == expected.text


def test_sweep_verdict_finds_where_speculation_stops_paying():
    import pandas as pd

    def frame(pairs):
        return pd.DataFrame(pairs, columns=["concurrency", "speedup"])

    losing = live.sweep_verdict(frame([(1, 1.8), (4, 1.3), (16, 0.9), (64, 0.7)]))
    assert losing.slower_from == 16 and losing.highest_level == 64
    assert losing.lowest_speedup == pytest.approx(0.7) and losing.lowest_speedup_at == 64
    ahead = live.sweep_verdict(frame([(1, 2.0), (8, 1.1), (32, 1.4)]))
    assert ahead.slower_from is None and ahead.highest_level == 32
    assert ahead.lowest_speedup == pytest.approx(1.1) and ahead.lowest_speedup_at == 8
    assert live.sweep_verdict(frame([])) is None


def test_unsteady_levels_name_the_short_levels_of_the_last_two_sweeps():
    steady = make_run([record("creative", 100, 0.1, 2.5, start=i * 0.5) for i in range(8)], concurrency=2)
    short = make_run([record("creative", 10, 0.01, 0.1)], duration=0.1)
    old = live.SavedSweep.new([short], 1)
    recent = [live.SavedSweep.new([steady], 2), live.SavedSweep.new([steady, short], 3)]
    assert live.unsteady_levels(recent) == ["c = 1 (it lasted only 0.10 s)"]
    assert live.unsteady_levels([old, *recent]) == ["c = 1 (it lasted only 0.10 s)"]  # only the last two
    assert live.unsteady_levels([old]) == ["c = 1 (it lasted only 0.10 s)"]


def test_flags_used_lists_the_explained_flags_of_the_commands_in_order():
    from core.serving.launch_command import LaunchCommand

    baseline = LaunchCommand(argv=["python", "-m", "sglang.launch_server", "--port", "30000"], text="")
    speculative = LaunchCommand(
        argv=["python", "--model-path", "m", "--port", "1"], text="", env={"SGLANG_X": "1"}
    )
    explanations = {"--model-path": "model", "--port": "port", "SGLANG_X": "env", "--host": "host"}
    assert live.flags_used([baseline, None], explanations) == [("--port", "port")]
    assert live.flags_used([baseline, speculative], explanations) == [
        ("--model-path", "model"),
        ("--port", "port"),
        ("SGLANG_X", "env"),
    ]
    assert live.flags_used([None, None], explanations) == []
