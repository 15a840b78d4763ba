"""bench_runner: settings, plans, runs against the practice server and stub servers, faults, stopping,
exports (JSON round trip, CSV), comparisons and concurrency sweeps."""

from __future__ import annotations

import csv
import io
import json
import threading
import time

import pytest

from core.serving.bench_runner import (
    SCHEMA_VERSION,
    BenchRun,
    BenchSettings,
    compare_runs,
    concurrency_sweep,
    run_benchmark,
)
from core.serving.practice_server import PracticeConfig, PracticeServer
from core.serving.prompt_suite import load_suite
from core.serving.serving_metrics import summarize
from core.serving.sglang_client import RequestRecord, ServerInfo, SGLangClient
from tests.unit.serving.test_sglang_client import (
    Reply,
    StubServer,
    free_port,
    native_events,
    sse,
    stream_steps,
)

FAST = {"time_scale": 0.01}


@pytest.fixture(scope="module")
def practice_spec():
    with PracticeServer(PracticeConfig(speculative=True, seed=1, **FAST)) as server:
        yield server.url


@pytest.fixture(scope="module")
def practice_base():
    with PracticeServer(PracticeConfig(speculative=False, seed=1, **FAST)) as server:
        yield server.url


@pytest.fixture
def stub():
    server = StubServer()
    server.start()
    yield server
    server.stop()


# ------------------------------------------------------------------------------------------ settings
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"num_requests": 0}, "num_requests must be between 1"),
        ({"num_requests": 2.5}, "num_requests must be a whole number"),
        ({"concurrency": 1000}, "concurrency must be between 1 and 256"),
        ({"max_tokens": True}, "max_tokens must be a whole number"),
        ({"temperature": -0.1}, "temperature"),
        ({"api": "grpc"}, "api must be one of native, openai"),
        ({"request_timeout_s": 0}, "request_timeout_s"),
        ({"time_budget_s": float("inf")}, "time_budget_s"),
        ({"prompts": (("c", "  "),)}, "prompts must not be empty"),
    ],
)
def test_bad_settings_are_rejected(change, message):
    with pytest.raises(ValueError, match=message):
        BenchSettings(**change).validated()


def test_plan_interleaves_categories_and_cycles():
    suite = load_suite("default")
    plan = BenchSettings(num_requests=7).plan()
    first = [suite.prompts(c)[0] for c in suite.categories]
    second = [suite.prompts(c)[1] for c in suite.categories]
    assert [p for _, p in plan[:6]] == first + second
    assert [c for c, _ in plan[:3]] == list(suite.categories)
    total = len(suite)
    assert BenchSettings(num_requests=total + 2).plan()[total:] == BenchSettings(num_requests=2).plan()


def test_plan_filters_categories_and_reports_unknown_ones():
    plan = BenchSettings(categories=("creative",), num_requests=4).plan()
    assert {c for c, _ in plan} == {"creative"}
    with pytest.raises(ValueError, match="no category 'poetry'"):
        BenchSettings(categories=("poetry",)).plan()
    with pytest.raises(ValueError, match="no prompt suite 'nope'"):
        BenchSettings(suite="nope").plan()


def test_custom_prompts_replace_the_suite():
    settings = BenchSettings(prompts=(("a", "one"), ("b", "two"), ("a", "three")), num_requests=4)
    assert settings.plan() == [("a", "one"), ("b", "two"), ("a", "three"), ("a", "one")]


# ------------------------------------------------------------------------------------------ real runs
def test_run_against_the_practice_server(practice_spec):
    seen = []
    settings = BenchSettings(num_requests=6, concurrency=2, max_tokens=24, ignore_eos=True)
    run = run_benchmark(practice_spec, settings, progress=lambda d, t, r: seen.append((d, t, r.success)))
    assert run.complete and run.stopped_reason is None
    assert [(r.category, r.prompt) for r in run.records] == settings.plan()  # sending order
    assert seen == [(i, 6, True) for i in range(1, 7)]
    assert all(r.completion_tokens == 24 for r in run.records)  # ignore_eos: exactly max_tokens each
    assert run.summary.requests_ok == 6 and run.summary.completion_tokens_total == 144
    assert run.summary.accept_length is not None and run.summary.accept_length > 1
    assert run.speculative and run.simulated  # the practice server says it is simulated
    assert run.server_info_before is not None and run.server_info_before.speculative
    assert run.ended_at >= run.started_at
    assert run.summary.duration_s == pytest.approx(run.ended_at - run.started_at, abs=1e-5)
    assert set(run.summary.categories) == {"predictable", "semi-predictable", "creative"}


def test_openai_api_run(practice_base):
    run = run_benchmark(
        practice_base, BenchSettings(num_requests=3, max_tokens=10, ignore_eos=True, api="openai")
    )
    assert run.complete, run.records[0].error
    assert run.summary.completion_tokens_total == 30
    assert run.summary.accept_length is None and not run.speculative


def test_openai_chat_against_a_speculating_practice_server_splits_itl_by_tokens(practice_spec):
    # sglang-review #14: the practice server once ignored continuous_usage_stats, so the client's per-token
    # ITL split for chat (what a real server's cumulative usage allows) was never exercised end to end.
    from core.serving.sglang_client import SGLangClient

    rec = SGLangClient(practice_spec).generate(
        "def fibonacci(n):", api="openai", max_tokens=40, ignore_eos=True, temperature=0.0
    )
    assert rec.success and rec.completion_tokens == 40
    assert sum(rec.event_tokens) == 40 and max(rec.event_tokens) > 1  # verify passes add several tokens
    assert len(rec.itl_s) == 40 - 1  # one ITL per token after the first, not one per chunk


def test_concurrency_is_respected(stub):
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def slow(request):  # runs in the stub's handler thread, one per request being served
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        stub._stop.wait(0.3)
        with lock:
            state["now"] -= 1
        return Reply(200, steps=stream_steps(native_events([("a", 1), ("b", 1)])))

    stub.routes[("POST", "/generate")] = slow
    run = run_benchmark(stub.url, BenchSettings(prompts=(("c", "x"),), num_requests=6, concurrency=3))
    assert run.summary.requests_ok == 6
    assert 1 < state["max"] <= 3


# ------------------------------------------------------------------------------------------ faults
def mixed_server(stub: StubServer, bad_prompts: dict[str, Reply]) -> None:
    """/generate answers a good stream, or the given Reply for the listed prompts."""
    good = Reply(200, steps=stream_steps(native_events([("a", 1), ("b", 2)])))

    def route(request):
        return bad_prompts.get(request["json"]["text"], good)

    stub.routes[("POST", "/generate")] = route


def test_failed_requests_do_not_stop_the_run_by_default(stub):
    mixed_server(stub, {"bad": Reply(500, body=b'{"error": {"message": "boom"}}')})
    prompts = (("c", "ok1"), ("c", "bad"), ("c", "ok2"), ("d", "ok3"))
    run = run_benchmark(stub.url, BenchSettings(prompts=prompts, num_requests=4))
    assert run.stopped_reason is None and not run.complete
    # categories interleave: ok1 (c), ok3 (d), bad (c), ok2 (c)
    assert [r.prompt for r in run.records] == ["ok1", "ok3", "bad", "ok2"]
    assert [r.success for r in run.records] == [True, True, False, True]
    assert run.records[2].error == "HTTP 500 from /generate: boom"
    assert run.summary.requests_failed == 1 and run.summary.completion_tokens_total == 9
    assert run.summary.errors == {"HTTP 500 from /generate: boom": 1}
    assert any("could not read /server_info" in n for n in run.notes)  # the stub has no /server_info


def test_stop_on_error_stops_sending_and_keeps_results(stub):
    mixed_server(stub, {"bad": Reply(200, steps=[("send", sse({"error": {"message": "nope"}}))])})
    prompts = (("c", "ok1"), ("c", "bad"), ("c", "ok2"), ("c", "ok3"))
    run = run_benchmark(stub.url, BenchSettings(prompts=prompts, num_requests=8, stop_on_error=True))
    assert (
        run.stopped_reason
        == "stopped after the first failed request (stop_on_error): server error event: nope"
    )
    assert len(run.records) == 2 and run.records[0].success and not run.records[1].success


@pytest.mark.parametrize("how", ["should_stop", "time_budget"])
def test_a_stalled_run_can_be_stopped_and_keeps_its_results(stub, how):
    event = sse(native_events([("a", 1)])[0])
    first_sent = []  # when the stalling stream's first event left the stub (perf_counter)
    steps = [("send", event), ("call", lambda: first_sent.append(time.perf_counter())), ("stall", 60)]
    mixed_server(stub, {"stall": Reply(200, steps=steps)})
    prompts = (("c", "ok"), ("c", "stall"))
    done = []

    def should_stop() -> bool:  # after the ok request, once the stalled one surely got its first token
        return bool(done) and bool(first_sent) and time.perf_counter() - first_sent[0] > 0.3

    if how == "should_stop":
        settings = BenchSettings(prompts=prompts, num_requests=2, concurrency=2, request_timeout_s=60)
        run = run_benchmark(
            stub.url, settings, progress=lambda d, t, r: done.append(r), should_stop=should_stop
        )
        assert run.stopped_reason == "stopped by the user"
    else:
        settings = BenchSettings(prompts=prompts, num_requests=2, concurrency=2, time_budget_s=1.0)
        run = run_benchmark(stub.url, settings)
        assert run.stopped_reason == "time budget of 1 s reached"
    assert run.records[0].success and run.records[0].completion_tokens == 3
    assert run.records[1].error == "stopped before the request finished after 1 token"
    assert run.records[1].ttft_s is not None  # measured before the stop, kept
    assert run.summary.requests_ok == 1 and run.summary.requests_failed == 1


def test_an_unreachable_server_gives_failed_records_not_an_exception():
    url = f"http://127.0.0.1:{free_port()}"
    run = run_benchmark(url, BenchSettings(prompts=(("c", "x"),), num_requests=3, concurrency=2))
    assert run.summary.requests_failed == 3
    assert all(r.error.startswith(f"connection refused at {url}") for r in run.records)
    assert len(run.notes) == 2 and run.server_info_before is None


def test_a_failing_progress_callback_does_not_lose_the_run(stub):
    mixed_server(stub, {})

    def broken(done, total, record):
        raise RuntimeError("widget gone")

    run = run_benchmark(stub.url, BenchSettings(prompts=(("c", "x"),), num_requests=3), progress=broken)
    assert run.summary.requests_ok == 3
    assert any("progress callback failed" in n for n in run.notes)


def test_a_client_can_be_passed_in_and_stays_open(stub):
    mixed_server(stub, {})
    client = SGLangClient(stub.url, api_key="k")
    run_benchmark(client, BenchSettings(prompts=(("c", "x"),), num_requests=2))
    assert client.generate("x").success  # not closed by the runner
    assert all(
        r["headers"].get("Authorization") == "Bearer k" for r in stub.requests if r["method"] == "POST"
    )


# ------------------------------------------------------------------------------------------ exports
def test_json_round_trip(practice_spec):
    run = run_benchmark(practice_spec, BenchSettings(num_requests=3, max_tokens=8))
    text = run.to_json()
    again = BenchRun.from_json(text)
    assert again.to_dict() == run.to_dict()
    assert again.records == run.records and again.summary == run.summary and again.settings == run.settings
    assert again.server_info_after.raw == run.server_info_after.raw
    assert json.loads(text)["schema_version"] == SCHEMA_VERSION


def test_from_json_rejects_other_files():
    with pytest.raises(ValueError, match="not JSON"):
        BenchRun.from_json("{nope")
    with pytest.raises(ValueError, match="not a speclab benchmark run"):
        BenchRun.from_json('{"hello": 1}')
    with pytest.raises(ValueError, match="schema version 99"):
        BenchRun.from_json(json.dumps({"schema": "speclab.bench_run", "schema_version": 99}))
    with pytest.raises(ValueError, match="damaged"):
        BenchRun.from_json(json.dumps({"schema": "speclab.bench_run", "schema_version": 1}))


def test_csv_has_one_row_per_request_with_settings(stub):
    mixed_server(stub, {"bad": Reply(404, body=b"")})
    settings = BenchSettings(prompts=(("c", "x"), ("d", "bad")), num_requests=3, max_tokens=5)
    run = run_benchmark(stub.url, settings)
    rows = list(csv.DictReader(io.StringIO(run.to_csv(label="spec"))))
    assert len(rows) == 3
    assert [r["category"] for r in rows] == ["c", "d", "c"]
    assert rows[0]["success"] == "True" and rows[1]["success"] == "False"
    assert rows[1]["error"].startswith("HTTP 404 from /generate")
    assert rows[0]["completion_tokens"] == "3" and rows[0]["max_tokens"] == "5" and rows[0]["run"] == "spec"
    assert float(rows[0]["ttft_ms"]) == pytest.approx(run.records[0].ttft_s * 1000)
    assert rows[1]["ttft_ms"] == ""  # nothing measured is an empty cell, not 0


# ------------------------------------------------------------------------------------------ comparing
def hand_run(records, duration, *, speculative_server=False, **settings) -> BenchRun:
    raw = {"model_path": "m", "speculative_algorithm": "EAGLE3" if speculative_server else None}
    return BenchRun(
        settings=BenchSettings(**settings),
        base_url="http://h:1",
        records=records,
        summary=summarize(records, duration),
        started_at=0.0,
        ended_at=duration,
        server_info_after=ServerInfo.from_raw(raw),
    )


def r(category, ttft, e2e, tokens, itl, verify=None):
    return RequestRecord(
        prompt=category,
        category=category,
        success=True,
        ttft_s=ttft,
        e2e_s=e2e,
        completion_tokens=tokens,
        itl_s=itl,
        spec_verify_ct=verify,
    )


def test_compare_runs_by_hand():
    base = hand_run([r("p", 0.1, 1.1, 11, [0.1] * 10), r("c", 0.1, 1.1, 11, [0.1] * 10)], 2.2)
    spec = hand_run(
        [r("p", 0.12, 0.62, 11, [0.05] * 10, verify=4), r("c", 0.12, 0.87, 11, [0.075] * 10, verify=8)],
        1.49,
        speculative_server=True,
    )
    cmp = compare_runs(base, spec)
    assert cmp.warnings == []
    # overall throughput 22/2.2 = 10 vs 22/1.49; TPOT 100 ms vs mean(50, 75) = 62.5 ms
    assert cmp.overall.throughput_speedup == pytest.approx((22 / 1.49) / 10)
    assert cmp.overall.tpot_speedup == pytest.approx(100 / 62.5)
    assert cmp.overall.ttft_delta_ms == pytest.approx(20.0)
    assert cmp.overall.accept_length == pytest.approx(22 / 12)
    # per category (each category's own busy time = its E2E here): p 1.1 s vs 0.62 s, c 1.1 s vs 0.87 s
    assert cmp.categories["p"].throughput_speedup == pytest.approx(1.1 / 0.62)
    assert cmp.categories["c"].throughput_speedup == pytest.approx(1.1 / 0.87)
    assert cmp.categories["p"].accept_length == pytest.approx(11 / 4)
    assert cmp.to_dict()["categories"]["c"]["tpot_speedup"] == pytest.approx(100 / 75)


def test_compare_runs_warns_about_unfair_comparisons():
    base = hand_run([r("p", 0.1, 1.1, 11, [0.1] * 10, verify=5)], 1.1, speculative_server=True, max_tokens=64)
    spec = hand_run([r("q", 0.1, 1.1, 11, [0.1] * 10)], 1.1, max_tokens=128)
    text = " | ".join(compare_runs(base, spec).warnings)
    assert "differ in max_tokens (64 vs 128)" in text
    assert "not send the same prompts" in text
    assert "baseline server speculates" in text
    assert "reports no speculation" in text
    assert compare_runs(base, spec).categories == {}  # no category in common


def test_concurrency_sweep(practice_spec):
    seen = []
    runs = concurrency_sweep(
        practice_spec,
        BenchSettings(num_requests=2, max_tokens=8),
        levels=(1, 3),
        progress=lambda d, t, rec: seen.append((d, t)),
    )
    assert [run.settings.concurrency for run in runs] == [1, 3]
    assert [run.settings.num_requests for run in runs] == [2, 3]  # at least one request per slot
    assert seen == [(i, 5) for i in range(1, 6)]
    assert all(run.complete for run in runs)
    with pytest.raises(ValueError, match="concurrency levels"):
        concurrency_sweep(practice_spec, BenchSettings(), levels=(0,))


def test_sweep_stops_when_asked(practice_spec):
    runs = concurrency_sweep(
        practice_spec, BenchSettings(num_requests=2, max_tokens=4), levels=(1, 2, 4), should_stop=lambda: True
    )
    assert len(runs) == 1 and runs[0].stopped_reason == "stopped by the user" and runs[0].records == []


# ------------------------------------------------------------------------- like bench_serving
def test_like_bench_serving_defaults():
    s = BenchSettings.like_bench_serving(num_requests=5)
    assert (s.temperature, s.ignore_eos, s.warmup_requests, s.api, s.flush_cache) == (
        0.0,
        True,
        1,
        "native",
        False,
    )
    assert s.num_requests == 5 and s.validated() == s
    with pytest.raises(ValueError, match="warmup_requests must be between 0 and 64"):
        BenchSettings(warmup_requests=65).validated()


def test_warm_up_is_sent_first_and_left_out(stub):
    mixed_server(stub, {})
    settings = BenchSettings(prompts=(("c", "first"), ("c", "second")), num_requests=2, warmup_requests=2)
    run = run_benchmark(stub.url, settings)
    sent = [r["json"]["text"] for r in stub.requests if r["path"] == "/generate"]
    assert sent == ["first", "first", "first", "second"]  # two warm-ups with the first prompt, then the run
    assert len(run.records) == 2 and run.summary.requests_total == 2
    assert any(
        "2 warm-up request(s) sent before the run and left out of it (2 succeeded)" in n for n in run.notes
    )


def test_a_refused_flush_is_a_note_and_the_accept_length_says_what_it_covers(stub):
    mixed_server(stub, {})
    info = {
        "model_path": "m",
        "speculative_algorithm": "EAGLE",
        "internal_states": [{"avg_spec_accept_length": 2.5}],
    }
    stub.routes[("GET", "/server_info")] = Reply(200, body=json.dumps(info).encode())
    stub.routes[("POST", "/flush_cache")] = Reply(400, body=b"Cache not flushed: requests are running")
    run = run_benchmark(stub.url, BenchSettings(prompts=(("c", "x"),), num_requests=1, flush_cache=True))
    assert not run.flushed_before and run.engine == "sglang"
    assert any("/flush_cache before the run failed" in n and "HTTP 400" in n for n in run.notes)
    accept = run.server_accept
    assert accept.value == 2.5 and "earlier runs and other clients included" in accept.covers
    stub.routes[("POST", "/flush_cache")] = Reply(200, body=b"")
    flushed = run_benchmark(stub.url, BenchSettings(prompts=(("c", "x"),), num_requests=1, flush_cache=True))
    assert flushed.flushed_before and "just before this run" in flushed.server_accept.covers


def test_the_server_accept_length_is_read_after_the_run_never_before():
    run = BenchRun.from_dict(
        {
            "schema": "speclab.bench_run",
            "schema_version": 1,  # an older file still loads
            "settings": {},
            "base_url": "http://h:1",
            "records": [],
            "summary": {"accept_length": 3.0},
            "started_at": 0,
            "ended_at": 1,
            "server_info_before": {"internal_states": [{"avg_spec_accept_length": 2.0}]},
            "server_info_after": None,
        }
    )
    assert run.server_accept is None and run.summary.accept_length_per_request == 3.0
