"""serving_metrics.summarize on hand-built records: every expected number is worked out by hand below."""

from __future__ import annotations

import json

import pytest

from core.serving.serving_metrics import RunSummary, busy_time_s, summarize
from core.serving.sglang_client import RequestRecord


def rec(
    category,
    *,
    ok=True,
    start=100.0,
    ttft=None,
    e2e=None,
    tokens=0,
    itl=(),
    verify=None,
    prompt=10,
    error=None,
):
    return RequestRecord(
        prompt="p",
        category=category,
        success=ok,
        error=error if not ok else None,
        start_time=start,
        ttft_s=ttft,
        e2e_s=e2e,
        itl_s=list(itl),
        completion_tokens=tokens,
        prompt_tokens=prompt,
        spec_verify_ct=verify,
    )


@pytest.fixture
def records():
    return [
        # A: 5 tokens, TTFT 0.1 s, E2E 0.5 s, four gaps of 0.1 s; 2 verify passes
        rec("predictable", ttft=0.1, e2e=0.5, tokens=5, itl=[0.1] * 4, verify=2),
        # B: 9 tokens, TTFT 0.2 s, E2E 0.6 s, eight gaps of 0.05 s; 6 verify passes
        rec("creative", ttft=0.2, e2e=0.6, tokens=9, itl=[0.05] * 8, verify=6, prompt=20),
        # C: failed after measuring a little; its numbers must not count
        rec(
            "predictable",
            ok=False,
            start=100.2,
            ttft=0.3,
            e2e=0.35,
            tokens=3,
            itl=[0.05],
            verify=1,
            error="stream ended before [DONE] after 3 tokens",
        ),
    ]


def test_overall_metrics_by_hand(records):
    s = summarize(records, duration_s=1.0)
    assert (s.requests_total, s.requests_ok, s.requests_failed) == (3, 2, 1)
    assert s.completion_tokens_total == 14  # 5 + 9; the failed request's 3 tokens do not count
    assert s.prompt_tokens_total == 30
    assert s.duration_s == 1.0
    assert s.output_throughput_tok_s == pytest.approx(14.0)
    assert s.request_throughput_req_s == pytest.approx(2.0)
    assert s.concurrency_mean == pytest.approx(1.1)  # (0.5 + 0.6) / 1.0
    # TTFT 100 and 200 ms: mean 150, median 150, p99 = 100 + 0.99 * 100
    assert (s.ttft_ms_mean, s.ttft_ms_median, s.ttft_ms_p99) == pytest.approx((150.0, 150.0, 199.0))
    # ITL pooled: 4 x 100 ms and 8 x 50 ms -> mean 800/12, median 50, p99 at rank 10.89 of 0..11 -> 100
    assert (s.itl_ms_mean, s.itl_ms_median, s.itl_ms_p99) == pytest.approx((800 / 12, 50.0, 100.0))
    # TPOT: A (0.5 - 0.1) / 4 = 100 ms, B (0.6 - 0.2) / 8 = 50 ms
    assert (s.tpot_ms_mean, s.tpot_ms_median, s.tpot_ms_p99) == pytest.approx((75.0, 75.0, 99.5))
    # E2E 500 and 600 ms
    assert (s.e2e_ms_mean, s.e2e_ms_median, s.e2e_ms_p99) == pytest.approx((550.0, 550.0, 599.0))
    # accept length per request = (5 + 9) / (2 + 6); the old short name reads the same field
    assert s.accept_length_per_request == pytest.approx(1.75)
    assert s.accept_length == s.accept_length_per_request
    assert s.spec_requests == 2
    assert s.errors == {"stream ended before [DONE]": 1}


def test_per_category_metrics_by_hand(records):
    s = summarize(records, duration_s=1.0)
    assert list(s.categories) == ["predictable", "creative"]
    p = s.categories["predictable"]
    # A ran 100.0-100.5 and C 100.2-100.55: busy 0.55 s; only A's 5 tokens count
    assert p.duration_s == pytest.approx(0.55)
    assert p.output_throughput_tok_s == pytest.approx(5 / 0.55)
    assert (p.requests_ok, p.requests_failed) == (1, 1)
    assert p.accept_length_per_request == pytest.approx(2.5)
    assert p.ttft_ms_mean == pytest.approx(100.0)
    c = s.categories["creative"]
    assert c.duration_s == pytest.approx(0.6)
    assert c.output_throughput_tok_s == pytest.approx(15.0)
    assert c.accept_length_per_request == pytest.approx(1.5)
    assert c.tpot_ms_mean == pytest.approx(50.0)
    assert c.categories == {}


def test_duration_defaults_to_the_span_of_the_records(records):
    s = summarize(records)
    # earliest start 100.0, latest end 100.6 (B)
    assert s.duration_s == pytest.approx(0.6)
    assert s.output_throughput_tok_s == pytest.approx(14 / 0.6)


def test_no_speculation_means_no_accept_length():
    s = summarize([rec("x", ttft=0.1, e2e=0.3, tokens=3, itl=[0.1, 0.1])], duration_s=0.3)
    assert s.accept_length_per_request is None and s.spec_requests == 0
    assert s.tpot_ms_mean == pytest.approx(100.0)


def test_one_token_requests_have_no_tpot_and_no_itl():
    s = summarize([rec("x", ttft=0.1, e2e=0.1, tokens=1)], duration_s=0.1)
    assert s.tpot_ms_mean is None and s.itl_ms_mean is None
    assert s.ttft_ms_mean == pytest.approx(100.0)


def test_empty_and_all_failed_runs_give_none_not_zero():
    empty = summarize([], duration_s=0.0)
    assert empty.requests_total == 0 and empty.output_throughput_tok_s is None and empty.ttft_ms_mean is None
    failed = summarize(
        [
            rec("x", ok=False, error="connection refused at http://h:1"),
            rec("x", ok=False, error="HTTP 500 from /generate: boom"),
        ],
        duration_s=2.0,
    )
    assert failed.requests_failed == 2 and failed.completion_tokens_total == 0
    assert failed.output_throughput_tok_s == 0.0
    assert failed.ttft_ms_mean is None and failed.accept_length_per_request is None
    assert failed.errors == {"connection refused at http://h:1": 1, "HTTP 500 from /generate: boom": 1}
    assert failed.categories["x"].duration_s == 0.0  # no request got a response


def test_alike_errors_are_grouped_without_their_token_counts():
    s = summarize(
        [
            rec("x", ok=False, error="stalled: no data for 10 s after 3 tokens"),
            rec("x", ok=False, error="stalled: no data for 10 s after 1 token"),
            rec("x", ok=False, error="stalled: no data for 10 s before the first token"),
        ],
        duration_s=1.0,
    )
    assert s.errors == {"stalled: no data for 10 s": 3}


def test_bad_duration_is_rejected(records):
    with pytest.raises(ValueError, match="duration_s"):
        summarize(records, duration_s=-1.0)
    with pytest.raises(ValueError, match="duration_s"):
        summarize(records, duration_s=float("nan"))


def test_busy_time_merges_overlaps():
    assert busy_time_s([(0, 1), (0.5, 2), (3, 4), (3.2, 3.5)]) == pytest.approx(3.0)
    assert busy_time_s([]) == 0.0
    assert busy_time_s([(5, 5)]) == 0.0


def test_summary_round_trips_through_json(records):
    s = summarize(records, duration_s=1.0)
    again = RunSummary.from_dict(json.loads(json.dumps(s.to_dict())))
    assert again == s
    assert isinstance(again.categories["creative"], RunSummary)


def test_std_p90_p95_and_max_like_bench_serving(records):
    s = summarize(records, duration_s=1.0)
    # TTFT 100 and 200 ms: population std 50, p90 = 100 + 0.9 * 100, p95 = 195, max 200
    assert s.latency_ms("ttft") == pytest.approx(
        {"mean": 150.0, "median": 150.0, "std": 50.0, "p90": 190.0, "p95": 195.0, "p99": 199.0, "max": 200.0}
    )
    # ITL pooled: 4 x 100 ms, 8 x 50 ms. mean 200/3; variance = mean of squares - square of mean
    mean = 800 / 12
    std = ((4 * 100**2 + 8 * 50**2) / 12 - mean**2) ** 0.5
    # sorted: eight 50s (ranks 0-7), four 100s (8-11); p90 at rank 9.9 and p95 at 10.45 are both 100
    itl = s.latency_ms("itl")
    assert (itl["std"], itl["p90"], itl["p95"], itl["max"]) == pytest.approx((std, 100.0, 100.0, 100.0))
    # E2E 500 and 600 ms
    e2e = s.latency_ms("e2e")
    assert (e2e["std"], e2e["p90"], e2e["max"]) == pytest.approx((50.0, 590.0, 600.0))


def test_statistics_of_one_value_and_of_none():
    one = summarize([rec("x", ttft=0.25, e2e=0.25, tokens=1)], duration_s=0.25)
    assert one.latency_ms("ttft") == pytest.approx(
        {"mean": 250.0, "median": 250.0, "std": 0.0, "p90": 250.0, "p95": 250.0, "p99": 250.0, "max": 250.0}
    )
    assert set(one.latency_ms("itl").values()) == {None}
    with pytest.raises(ValueError, match="metric must be one of"):
        one.latency_ms("latency")


def test_files_written_before_the_rename_still_load(records):
    data = summarize(records, duration_s=1.0).to_dict()
    data["accept_length"] = data.pop("accept_length_per_request")
    for key in [k for k in data if k.endswith(("_std", "_p90", "_p95", "_max"))]:
        del data[key]  # an old file has neither these statistics nor the new name
    old = RunSummary.from_dict(data)
    assert old.accept_length_per_request == pytest.approx(1.75)
    assert old.ttft_ms_p90 is None and old.ttft_ms_mean == pytest.approx(150.0)


def test_without_categories():
    s = summarize([rec("a", ttft=0.1, e2e=0.2, tokens=2, itl=[0.1])], duration_s=0.2, by_category=False)
    assert s.categories == {} and s.requests_ok == 1
