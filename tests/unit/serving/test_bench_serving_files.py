"""bench_serving_files: real bench_serving 0.5.23 output files (tests/fixtures/bench_serving, see its
README) are read back, and the app's metric code reproduces bench_serving's own figures from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.serving.bench_runner import BenchRun, BenchSettings, run_benchmark
from core.serving.bench_serving_files import load_results, looks_like_bench_serving, read_bench_serving
from core.serving.practice_server import PracticeConfig, PracticeServer

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bench_serving"
DETAILS = FIXTURES / "bench_serving_details.jsonl"
SUMMARY = FIXTURES / "bench_serving_summary.jsonl"


def file_result(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8").splitlines()[0])


def test_recomputation_reproduces_bench_servings_figures_within_one_percent():
    (imported,) = load_results(DETAILS.read_bytes())
    assert imported.origin == "bench_serving" and imported.has_details
    figures = {f.key: f for f in imported.figures}
    same = [f for f in figures.values() if f.how == "same definition"]
    # every TTFT and ITL statistic, token and request counts and both throughputs
    assert {"completed", "total_output_tokens", "output_throughput", "request_throughput"} <= set(figures)
    assert len([f for f in same if f.key.endswith(("_ttft_ms", "_itl_ms"))]) == 12
    for figure in same:
        assert figure.recomputed == pytest.approx(figure.file_value, rel=0.01), figure.key
    # E2E, TPOT and concurrency are estimates (no per-request latency in the file), still within 1% here
    estimated = [f for f in figures.values() if f.how.startswith("estimated")]
    assert {"mean_e2e_latency_ms", "mean_tpot_ms", "concurrency"} <= {f.key for f in estimated}
    for figure in estimated:
        assert abs(figure.relative_difference) < 0.01, figure.key


def test_recomputed_summary_follows_the_requests_in_the_file():
    result = file_result(DETAILS)
    run = load_results(DETAILS.read_text(encoding="utf-8"))[0].run
    assert len(run.records) == len(result["ttfts"]) == 16
    assert run.summary.completion_tokens_total == sum(result["output_lens"])
    assert run.summary.ttft_ms_max == pytest.approx(max(result["ttfts"]) * 1000)
    assert run.summary.itl_ms_max == pytest.approx(max(x for itl in result["itls"] for x in itl) * 1000)
    assert run.summary.duration_s == result["duration"]
    # the file's prompt total counts the dataset's lengths; its input_lens are the server's counts
    figure = {f.key: f for f in load_results(DETAILS.read_bytes())[0].figures}["total_input_tokens"]
    assert figure.how.startswith("different count") and figure.recomputed == sum(result["input_lens"])


def test_server_facts_and_accept_lengths_from_the_file():
    result = file_result(DETAILS)
    run = load_results(DETAILS.read_bytes())[0].run
    assert run.engine == "sglang" and run.simulated  # recorded against the practice server
    assert run.server_accept_length == pytest.approx(
        result["accept_length"]
    )  # bench_serving's "Accept length"
    assert run.server_accept.source.startswith("SGLang /server_info internal_states[0]")
    assert run.summary.accept_length_per_request is None  # no verify counts in the file
    assert run.settings.concurrency == 4 and run.settings.max_tokens == 64
    assert any("bench_serving's rule" in note for note in run.notes)


def test_a_file_without_details_keeps_its_own_aggregates():
    result = file_result(SUMMARY)
    (imported,) = load_results(SUMMARY.read_bytes())
    assert not imported.has_details and imported.figures == [] and imported.run.records == []
    s = imported.run.summary
    assert s.requests_ok == result["completed"]
    assert s.output_throughput_tok_s == result["output_throughput"]
    assert (s.ttft_ms_p90, s.itl_ms_std, s.e2e_ms_p95) == (
        result["p90_ttft_ms"],
        result["std_itl_ms"],
        result["p95_e2e_latency_ms"],
    )
    assert imported.aggregates["backend"] == "sglang" and "server_info" not in imported.aggregates
    assert any("without --output-details" in note for note in imported.run.notes)


def test_several_runs_in_one_file_and_failed_requests():
    result = file_result(DETAILS)
    failed = dict(result, completed=15)
    failed["output_lens"] = [0, *result["output_lens"][1:]]
    failed["errors"] = [
        "Traceback (most recent call last):\n  ...\naiohttp.ClientPayloadError: cut",
        *result["errors"][1:],
    ]
    text = json.dumps(result) + "\n" + json.dumps(failed) + "\n"
    runs = read_bench_serving(text)
    assert [r.label for r in runs] == ["line 1", "line 2"]
    second = runs[1].run.summary
    assert second.requests_failed == 1 and second.errors == {"aiohttp.ClientPayloadError: cut": 1}
    assert {f.key: f for f in runs[1].figures}["completed"].relative_difference == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\xff\xfe", "UTF-8"),
        (b"hello\n", "line 1 is not JSON"),
        (b'{"a": 1}\n', "not a bench_serving result"),
        (b'{"completed": 1, "duration": "x", "output_throughput": 1}\n', "line 1 is damaged"),
        (b'{"schema": "speclab.bench_run", "schema_version": 99}', "schema version"),
    ],
)
def test_bad_files_give_one_clear_message(content, message):
    with pytest.raises(ValueError, match=message):
        load_results(content)


def test_the_apps_own_exports_load_too():
    with PracticeServer(PracticeConfig(speculative=True, seed=2, time_scale=0.01)) as server:
        run = run_benchmark(server.url, BenchSettings(num_requests=2, max_tokens=8))
    (imported,) = load_results(run.to_json())
    assert imported.origin == "speclab" and imported.run.summary == run.summary
    pair = {"schema": "speclab.bench_comparison", "baseline": run.to_dict(), "speculative": run.to_dict()}
    assert [r.label for r in load_results(json.dumps(pair))] == ["baseline", "speculative"]
    assert isinstance(imported.run, BenchRun)


def test_telling_a_bench_serving_file_from_others():
    assert looks_like_bench_serving(DETAILS.read_bytes()) and looks_like_bench_serving(SUMMARY.read_text())
    assert not looks_like_bench_serving(b'{"schema": "speclab.bench_run"}')
    assert not looks_like_bench_serving(b"a,b,c\n1,2,3\n")


def test_the_file_figures_travel_with_a_saved_run():
    run = load_results(DETAILS.read_bytes())[0].run
    again = BenchRun.from_json(run.to_json())
    assert again.imported["origin"] == "bench_serving"
    assert again.imported["recomputed_vs_file"] == run.imported["recomputed_vs_file"]


def test_uploads_of_either_kind():
    from core.serving.bench_serving_files import read_upload
    from core.serving.live_session import ResultsFileError

    line = DETAILS.read_text(encoding="utf-8").splitlines()[0]
    two = read_upload(f"{line}\n{line}\n".encode(), "box.jsonl", 5_000_000)
    assert [label for _, label in two] == ["box.jsonl line 1", "box.jsonl line 2"]
    assert all(results.kind == "run" for results, _ in two)
    with pytest.raises(ResultsFileError, match="files up to 0 MB"):
        read_upload(DETAILS.read_bytes(), "big.jsonl", 1000)
    with pytest.raises(ResultsFileError, match="not JSON"):
        read_upload(b"plain text", "x.json", 1000)  # not bench_serving: the app's own reader answers
