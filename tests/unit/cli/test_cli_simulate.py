"""`speclab simulate` and `speclab perf`: JSON and text output, errors as one line with exit code 2."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from core.cli import main
from core.simulation import closed_form as cf
from tests.conftest import ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_simulate_json_via_python_dash_m():
    result = run_cli(
        "simulate", "--alpha", "0.8", "--gamma", "5", "--cost-ratio", "0.05", "--rounds", "200000", "--json"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    for key in (
        "tokens_per_round",
        "tokens_per_round_stderr",
        "tokens_per_round_closed_form",
        "speedup",
        "speedup_closed_form",
        "rounds",
        "alpha",
        "gamma",
        "cost_ratio",
        "seed",
        "accepted_histogram",
    ):
        assert key in data, key
    assert data["rounds"] == 200_000 and data["alpha"] == 0.8 and data["gamma"] == 5
    assert data["tokens_per_round_closed_form"] == pytest.approx(cf.expected_tokens_per_pass(0.8, 5))
    assert data["speedup_closed_form"] == pytest.approx(cf.walltime_speedup(0.8, 5, 0.05))
    assert (
        abs(data["tokens_per_round"] - data["tokens_per_round_closed_form"])
        <= 4 * data["tokens_per_round_stderr"]
    )
    assert sum(data["accepted_histogram"]) == 200_000


def test_simulate_text_report_labels_simulated_and_closed_form(capsys):
    assert main(["simulate", "--alpha", "0.6", "--gamma", "3", "--rounds", "10000", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "simulated" in out and "closed form" in out
    assert f"{cf.expected_tokens_per_pass(0.6, 3):.4f}" in out


def test_simulate_same_seed_same_output(capsys):
    args = ["simulate", "--alpha", "0.7", "--gamma", "4", "--rounds", "5000", "--seed", "9", "--json"]
    main(args)
    first = capsys.readouterr().out
    main(args)
    assert capsys.readouterr().out == first


def test_simulate_per_position_acceptances(capsys):
    assert (
        main(["simulate", "--acceptances", "0.79,0.74,0.72,0.73,0.67", "--rounds", "100000", "--json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["gamma"] == 5
    assert data["tokens_per_round_closed_form"] == pytest.approx(
        1 + sum(math.prod([0.79, 0.74, 0.72, 0.73, 0.67][:k]) for k in range(1, 6))
    )
    assert (
        abs(data["tokens_per_round"] - data["tokens_per_round_closed_form"])
        <= 4 * data["tokens_per_round_stderr"]
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--alpha", "1.5", "--gamma", "3"],
        ["--alpha", "-0.1", "--gamma", "3"],
        ["--alpha", "nan", "--gamma", "3"],
        ["--alpha", "x", "--gamma", "3"],
        ["--alpha", "0.5", "--gamma", "-2"],
        ["--alpha", "0.5", "--gamma", "2.5"],
        ["--alpha", "0.5", "--gamma", "3", "--rounds", "0"],
        ["--alpha", "0.5", "--gamma", "3", "--rounds", "1000000000000"],
        ["--alpha", "0.5", "--gamma", "3", "--rounds", "ten"],
        ["--alpha", "0.5", "--gamma", "3", "--cost-ratio", "-1"],
        ["--alpha", "0.5", "--gamma", "3", "--seed", "-5"],
        ["--alpha", "0.5"],
        ["--acceptances", "0.5,abc"],
        ["--acceptances", "0.5", "--alpha", "0.5"],
    ],
)
def test_simulate_bad_values_exit_2_with_one_line(args):
    result = run_cli("simulate", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "error" in result.stderr and "Traceback" not in result.stderr


def test_simulate_bad_value_through_main(capsys):
    assert main(["simulate", "--alpha", "2", "--gamma", "3"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "alpha" in captured.err


def test_perf_json_with_tiny_sizes(capsys):
    args = ["perf", "--rounds", "20000", "--python-rounds", "1000", "--repeats", "1", "--json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    for key in (
        "kernel_rounds_per_s",
        "numpy_rounds_per_s",
        "python_rounds_per_s",
        "raw_rng_per_s",
        "kernel_over_raw",
        "kernel_over_numpy",
        "kernel_over_python",
    ):
        assert data[key] > 0, key


def test_perf_text_and_bad_rounds(capsys):
    assert main(["perf", "--rounds", "10000", "--python-rounds", "1000", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "kernel / numpy" in out and "measured" in out
    assert main(["perf", "--rounds", "0"]) == 2
    assert "rounds" in capsys.readouterr().err
