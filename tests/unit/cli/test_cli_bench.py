"""``speclab bench`` end to end against practice servers: JSON and table output, baselines, exports, exit
codes for success, partial failure, bad arguments and unusable servers."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from core.cli import main
from core.serving.bench_runner import BenchRun
from core.serving.practice_server import PracticeConfig, PracticeServer
from tests.unit.serving.test_sglang_client import free_port

FAST = {"time_scale": 0.01, "seed": 3}
REQUIRED = (
    "requests_ok",
    "requests_failed",
    "completion_tokens_total",
    "ttft_ms_mean",
    "itl_ms_mean",
    "tpot_ms_mean",
    "output_throughput_tok_s",
    "accept_length_per_request",
)


@pytest.fixture(scope="module")
def spec_url():
    with PracticeServer(PracticeConfig(speculative=True, **FAST)) as server:
        yield server.url


@pytest.fixture(scope="module")
def base_url():
    with PracticeServer(PracticeConfig(speculative=False, **FAST)) as server:
        yield server.url


def bench(capsys, *argv):
    code = main(["bench", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_prints_one_object_with_the_summary(capsys, spec_url):
    code, out, err = bench(
        capsys, "--url", spec_url, "--requests", "3", "--max-tokens", "12", "--ignore-eos", "--json"
    )
    assert code == 0
    result = json.loads(out)  # exactly one JSON document on stdout
    summary = result["summary"]
    for key in REQUIRED:
        assert key in summary
    assert summary["requests_ok"] == 3 and summary["requests_failed"] == 0
    assert summary["completion_tokens_total"] == 36
    assert summary["accept_length_per_request"] > 1
    assert result["simulated"] is True and result["source"].startswith("simulated")
    assert "baseline_summary" not in result and "speedup" not in result
    assert "[run 3/3] ok" in err and "practice server: SIMULATED" in err


def test_baseline_adds_baseline_summary_and_speedup(capsys, spec_url, base_url):
    code, out, _ = bench(
        capsys,
        "--url",
        spec_url,
        "--baseline-url",
        base_url,
        "--requests",
        "3",
        "--max-tokens",
        "16",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert result["baseline_summary"]["accept_length_per_request"] is None  # the baseline does not speculate
    assert result["summary"]["accept_length_per_request"] is not None
    speedup = result["speedup"]["overall"]
    expected = (
        result["summary"]["output_throughput_tok_s"] / result["baseline_summary"]["output_throughput_tok_s"]
    )
    assert speedup["throughput_speedup"] == pytest.approx(expected)
    assert set(result["speedup"]["categories"]) == {"predictable", "semi-predictable", "creative"}


def test_table_output_labels_the_source(capsys, spec_url, base_url):
    code, out, _ = bench(
        capsys, "--url", spec_url, "--baseline-url", base_url, "--requests", "3", "--max-tokens", "8"
    )
    assert code == 0
    assert "Baseline:" in out and "Speculative:" in out and "Speedup" in out
    assert "SIMULATED" in out
    for category in ("overall", "predictable", "semi-predictable", "creative"):
        assert category in out


def test_accept_length_is_null_without_speculation(capsys, base_url):
    code, out, _ = bench(
        capsys, "--url", base_url, "--requests", "2", "--max-tokens", "8", "--json", "--api", "openai"
    )
    assert code == 0
    assert json.loads(out)["summary"]["accept_length_per_request"] is None


@pytest.mark.parametrize("fault", ["http500", "error_event", "truncate", "malformed_json"])
def test_failed_requests_exit_1_and_still_print_results(capsys, fault):
    with PracticeServer(PracticeConfig(fault=fault, **FAST)) as server:
        code, out, err = bench(capsys, "--url", server.url, "--requests", "2", "--max-tokens", "16", "--json")
    assert code == 1
    summary = json.loads(out)["summary"]
    assert summary["requests_failed"] == 2 and summary["requests_ok"] == 0
    assert len(summary["errors"]) == 1
    assert "FAIL" in err


def test_stop_on_error(capsys):
    with PracticeServer(PracticeConfig(fault="http500", **FAST)) as server:
        code, out, _ = bench(capsys, "--url", server.url, "--requests", "5", "--stop-on-error", "--json")
    result = json.loads(out)
    assert code == 1 and result["summary"]["requests_total"] == 1
    assert result["stopped_reason"].startswith("stopped after the first failed request")


def test_unreachable_server_exits_2_before_sending(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = bench(capsys, "--url", url, "--json")
    assert code == 2 and out == ""
    assert (
        err.strip()
        == f"speclab bench: error: cannot reach the server at {url}: connection refused at {url} (is the server running?)"
    )


def test_unreachable_baseline_exits_2_before_any_run(capsys, spec_url):
    code, out, err = bench(
        capsys, "--url", spec_url, "--baseline-url", "http://no-such-host.invalid", "--json"
    )
    assert code == 2 and out == "" and "could not resolve host no-such-host.invalid" in err
    assert "[run" not in err and "[speculative" not in err


def test_server_not_ready_exits_2(capsys):
    with PracticeServer(PracticeConfig(fault="health_503", **FAST)) as server:
        code, _, err = bench(capsys, "--url", server.url)
    assert code == 2 and "HTTP 503 from /health" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--url", "localhost:30000"], "has no scheme"),
        (["--url", "http://h:1", "--requests", "0"], "--requests must be between 1"),
        (["--url", "http://h:1", "--concurrency", "999"], "--concurrency must be between 1 and 256"),
        (["--url", "http://h:1", "--temperature", "-1"], "--temperature must be between 0 and 2"),
        (["--url", "http://h:1", "--timeout", "0"], "--timeout must be a positive number"),
        (["--url", "http://h:1", "--suite", "nope"], "no prompt suite 'nope'"),
        (["--url", "http://h:1", "--categories", "poetry"], "no category 'poetry'"),
        (["--url", "http://h:1", "--out", "result.txt"], "--out must end in .json or .csv"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, argv, message):
    code, out, err = bench(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["bench", "--url", "http://h:1", "--api", "grpc"])
    assert stop.value.code == 2
    with pytest.raises(SystemExit) as stop:
        main(["bench"])  # --url (or --from-file) is required
    assert stop.value.code == 2
    with pytest.raises(SystemExit) as stop:
        main(["bench", "--url", "http://h:1", "--from-file", "x.jsonl"])  # one or the other
    assert stop.value.code == 2


def test_api_key_from_option_or_environment(capsys, monkeypatch):
    with PracticeServer(PracticeConfig(api_key="s3cret", **FAST)) as server:
        code, _, err = bench(capsys, "--url", server.url, "--requests", "1", "--max-tokens", "4")
        assert code == 2 and "HTTP 401" in err and "check the API key" in err
        code, out, _ = bench(
            capsys,
            "--url",
            server.url,
            "--requests",
            "1",
            "--max-tokens",
            "4",
            "--api-key",
            "s3cret",
            "--json",
        )
        assert code == 0 and "s3cret" not in out  # the key is never printed
        monkeypatch.setenv("SPECLAB_API_KEY", "s3cret")
        code, _, _ = bench(capsys, "--url", server.url, "--requests", "1", "--max-tokens", "4")
        assert code == 0


def test_out_json_loads_back_as_a_run(capsys, spec_url, tmp_path):
    path = tmp_path / "run.json"
    code, _, err = bench(
        capsys, "--url", spec_url, "--requests", "2", "--max-tokens", "8", "--out", str(path)
    )
    assert code == 0 and f"saved {path}" in err
    run = BenchRun.from_json(path.read_text())
    assert len(run.records) == 2 and run.simulated and run.summary.requests_ok == 2
    assert "s3cret" not in path.read_text()


def test_out_csv_with_baseline_has_both_runs(capsys, spec_url, base_url, tmp_path):
    path = tmp_path / "runs.csv"
    code, _, _ = bench(
        capsys,
        "--url",
        spec_url,
        "--baseline-url",
        base_url,
        "--requests",
        "2",
        "--max-tokens",
        "8",
        "--out",
        str(path),
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [r["run"] for r in rows] == ["baseline", "baseline", "speculative", "speculative"]
    assert all(r["success"] == "True" and r["max_tokens"] == "8" for r in rows)


def test_out_json_with_baseline_holds_both_runs(capsys, spec_url, base_url, tmp_path):
    path = tmp_path / "cmp.json"
    code, _, _ = bench(
        capsys,
        "--url",
        spec_url,
        "--baseline-url",
        base_url,
        "--requests",
        "2",
        "--max-tokens",
        "8",
        "--out",
        str(path),
    )
    data = json.loads(path.read_text())
    assert code == 0 and data["schema"] == "speclab.bench_comparison"
    assert BenchRun.from_dict(data["baseline"]).summary.accept_length is None
    assert BenchRun.from_dict(data["speculative"]).summary.accept_length is not None
    assert "overall" in data["speedup"]


def test_a_failed_save_keeps_the_printed_results(capsys, spec_url, tmp_path):
    target = tmp_path / "taken.json"
    target.mkdir()  # a folder where the file should go: writing fails after the run
    code, out, err = bench(
        capsys, "--url", spec_url, "--requests", "1", "--max-tokens", "4", "--json", "--out", str(target)
    )
    assert code == 1
    assert json.loads(out)["summary"]["requests_ok"] == 1
    assert f"could not write {target}" in err


# ------------------------------------------------------------------------------ bench_serving likeness
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bench_serving"


def test_like_bench_serving_is_one_flag(capsys, spec_url):
    code, out, err = bench(
        capsys, "--url", spec_url, "--requests", "2", "--max-tokens", "9", "--like-bench-serving", "--json"
    )
    assert code == 0
    result = json.loads(out)
    settings = result["settings"]
    assert (
        settings["ignore_eos"] is True and settings["temperature"] == 0.0 and settings["warmup_requests"] == 1
    )
    assert result["summary"]["completion_tokens_total"] == 18  # ignore_eos: exactly 9 tokens each
    assert any("warm-up" in note for note in result["notes"])
    assert set(result["accept_length_names"]) == {"summary.accept_length_per_request", "server_accept_length"}


def test_flush_cache_makes_the_server_accept_length_this_runs_own(capsys, spec_url):
    code, out, _ = bench(
        capsys, "--url", spec_url, "--requests", "2", "--max-tokens", "40", "--flush-cache", "--json"
    )
    assert code == 0
    result = json.loads(out)
    assert "/flush_cache just before this run" in result["server_accept_length_covers"]
    assert result["server_accept_length_source"].startswith("SGLang /server_info")


def test_from_file_prints_the_same_summary_json_as_a_live_run(capsys):
    path = FIXTURES / "bench_serving_details.jsonl"
    code, out, err = bench(capsys, "--from-file", str(path), "--json")
    assert code == 0 and err == ""
    result = json.loads(out)
    live_keys = {"url", "engine", "simulated", "summary", "server_accept_length", "settings"}
    assert live_keys <= set(result)
    for key in REQUIRED:
        assert key in result["summary"]
    source = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert result["summary"]["ttft_ms_p95"] == pytest.approx(source["p95_ttft_ms"], rel=0.01)
    assert result["server_accept_length"] == pytest.approx(source["accept_length"])
    assert result["from_file"]["origin"] == "bench_serving" and result["from_file"]["has_details"]
    figures = {f["key"]: f for f in result["from_file"]["recomputed_vs_file"]}
    assert figures["output_throughput"]["file"] == source["output_throughput"]


def test_from_file_table_and_a_saved_speclab_run(capsys, spec_url, tmp_path):
    code, out, _ = bench(capsys, "--from-file", str(FIXTURES / "bench_serving_summary.jsonl"))
    assert code == 0 and "without --output-details" in out
    saved = tmp_path / "run.json"
    bench(capsys, "--url", spec_url, "--requests", "2", "--max-tokens", "8", "--out", str(saved))
    code, out, _ = bench(capsys, "--from-file", str(saved), "--json")
    assert code == 0 and json.loads(out)["summary"]["requests_ok"] == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from-file", "/nonexistent/x.jsonl"], "cannot read /nonexistent/x.jsonl"),
        (["--from-file", str(Path(__file__))], "is not JSON"),
        (["--from-file", "x.jsonl", "--baseline-url", "http://127.0.0.1:1"], "do not combine"),
    ],
)
def test_from_file_errors_exit_2_with_one_line(capsys, argv, message):
    code, out, err = bench(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_vllm_server_over_the_openai_api(capsys):
    from tests.unit.serving.test_vllm_server import VLLMStub

    with VLLMStub(tokens=10) as stub:
        code, out, err = bench(
            capsys, "--url", stub.url, "--api", "openai", "--requests", "2", "--max-tokens", "10", "--json"
        )
    assert code == 0, err
    result = json.loads(out)
    assert result["engine"] == "vllm" and result["summary"]["completion_tokens_total"] == 20
    assert result["server_accept_length"] == pytest.approx(3.0)
    assert result["server_accept_length_source"].startswith("vLLM /metrics")
    assert "not SGLang" in err  # the server line says what is known for this engine
