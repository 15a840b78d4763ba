"""The identity check compares output ids prompt by prompt, from the records alone."""

from __future__ import annotations

from core.serving.bench_runner import BenchRun, BenchSettings
from core.serving.identity_check import check_identity
from core.serving.serving_metrics import summarize
from core.serving.sglang_client import RequestRecord, ServerInfo


def record(prompt: str, ids, *, success: bool = True) -> RequestRecord:
    return RequestRecord(prompt=prompt, success=success, output_ids=ids, completion_tokens=len(ids or []))


def run(records, *, temperature=0.0, max_tokens=32, model="speclab-tiny/target") -> BenchRun:
    info = ServerInfo(raw={}, model_path=model)
    return BenchRun(
        settings=BenchSettings(temperature=temperature, max_tokens=max_tokens),
        base_url="http://127.0.0.1:1",
        records=list(records),
        summary=summarize(records),
        started_at=0.0,
        ended_at=1.0,
        server_info_after=info,
    )


def test_every_repeat_of_every_prompt_is_compared_with_the_baseline():
    base = run([record("a", [1, 2, 3]), record("b", [4, 5])])
    spec = run([record("a", [1, 2, 3]), record("b", [4, 5]), record("a", [1, 2, 3])])
    check = check_identity(base, spec)
    assert (check.compared, check.identical, check.skipped) == (3, 3, 0)
    assert check.all_identical and check.headline() == "identical: 3 of 3 outputs"


def test_a_difference_is_found_and_located():
    base = run([record("a", [1, 2, 3]), record("b", [4, 5])])
    spec = run([record("a", [1, 9, 3]), record("b", [4, 5, 6])])
    check = check_identity(base, spec)
    assert check.headline() == "identical: 0 of 2 outputs" and not check.all_identical
    first, second = check.differences
    assert (first.prompt, first.index, first.baseline_token, first.speculative_token) == ("a", 1, 2, 9)
    assert (second.index, second.baseline_token, second.speculative_token) == (2, None, 6)


def test_failed_requests_and_prompts_without_a_baseline_are_skipped():
    base = run([record("a", [1]), record("c", [7], success=False)])
    spec = run([record("a", [1]), record("b", [2]), record("c", [7]), record("a", None)])
    check = check_identity(base, spec)
    assert (check.compared, check.identical, check.skipped) == (1, 1, 3)


def test_sampled_or_unlike_runs_are_not_compared():
    base, spec = run([record("a", [1])]), run([record("a", [1])], temperature=0.7)
    check = check_identity(base, spec)
    assert not check.applicable and "temperature" in check.headline()
    assert "max new tokens" in check_identity(base, run([record("a", [1])], max_tokens=8)).reason
    other = run([record("a", [1])], model="speclab-practice/llama-3.1-8b-simulated")
    assert "different models" in check_identity(base, other).reason
    no_ids = run([record("a", None)])
    assert "output_ids" in check_identity(base, no_ids).reason
