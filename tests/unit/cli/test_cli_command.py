"""``speclab command``: the launch command on stdout, explanations on stderr, rule errors as one line and
exit 2, ``--sglang-version`` and ``--check`` (SGLang's own parser when importable, else the flag table)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap

import pytest

from core.serving.launch import LaunchSpec, build_launch_command
from tests.conftest import ROOT
from tests.unit.serving.test_launch_command import flags

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def speclab(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "core", "command", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_cli_prints_only_the_command_on_stdout():
    result = speclab(
        "--model", LLAMA, "--algorithm", "EAGLE3", "--steps", "3", "--topk", "1", "--draft-tokens", "4"
    )
    assert result.returncode == 0
    assert result.stdout.startswith("sglang serve")
    argv = shlex.split(result.stdout.replace("\\\n", " "))
    assert flags(argv)["--speculative-num-steps"] == "3"
    assert "note:" in result.stderr and "note:" not in result.stdout


def test_cli_argv_json():
    result = speclab("--model", LLAMA, "--baseline", "--argv")
    assert result.returncode == 0
    payload = json.loads(result.stdout)
    assert payload["argv"] == build_launch_command(LaunchSpec(LLAMA, baseline=True)).argv


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--model", "x/y", "--algorithm", "EAGLE3"], "--draft-model"),
        (["--model", LLAMA, "--algorithm", "LOOKAHEAD"], "NGRAM"),
        (["--model", LLAMA, "--algorithm", "EAGLE3", "--steps", "3"], "all three"),
        (["--model", LLAMA, "--baseline", "--algorithm", "EAGLE3"], "contradict"),
        (["--algorithm", "EAGLE3"], "--model"),
    ],
)
def test_cli_rule_violations_exit_2(args, fragment):
    result = speclab(*args)
    assert result.returncode == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_cli_sglang_version_and_check():
    result = speclab(
        "--model",
        LLAMA,
        "--algorithm",
        "EAGLE3",
        "--sglang-version",
        "0.5.12",
        "--cuda-graph-max-bs",
        "4",
        "--check",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sglang serve") and "--cuda-graph-max-bs 4" in result.stdout
    assert "check: ok:" in result.stderr
    bad = speclab("--model", LLAMA, "--sglang-version", "0.6", "--argv")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "known releases: 0.5.5, 0.5.9" in bad.stderr


FAKE_SERVER_ARGS = """
class ServerArgs:
    @staticmethod
    def add_cli_args(parser):
        parser.add_argument("--model-path", required=True)
        parser.add_argument("--port", type=int, default=30000)
        parser.add_argument("--speculative-algorithm")
        parser.add_argument("--speculative-draft-model-path")
        parser.add_argument("--cuda-graph-max-bs-decode", type=int)
        parser.add_argument("--cuda-graph-max-bs-prefill", type=int)
"""


@pytest.fixture
def fake_sglang(tmp_path):
    """A stand-in ``sglang`` package whose ServerArgs parser knows a few flags: the --check path that
    imports SGLang runs without installing it."""
    package = tmp_path / "sglang" / "srt"
    package.mkdir(parents=True)
    (tmp_path / "sglang" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "server_args.py").write_text(textwrap.dedent(FAKE_SERVER_ARGS))
    info = tmp_path / "sglang-0.5.23.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sglang\nVersion: 0.5.23\n")
    return {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}


def test_check_uses_sglangs_parser_when_importable(fake_sglang):
    ok = speclab(
        "--model", LLAMA, "--algorithm", "EAGLE3", "--cuda-graph-max-bs", "8", "--check", env=fake_sglang
    )
    assert ok.returncode == 0, ok.stderr
    assert "check: ok: SGLang 0.5.23's own parser (ServerArgs.add_cli_args + parse_args) accepts" in ok.stderr
    # The stand-in does not know --host: SGLang's parser says so, and the exit code is 1.
    refused = speclab("--model", LLAMA, "--host", "0.0.0.0", "--check", env=fake_sglang)
    assert refused.returncode == 1
    assert "check: error: SGLang 0.5.23's own parser" in refused.stderr
    assert "unrecognized arguments: --host 0.0.0.0" in refused.stderr
    assert "Traceback" not in refused.stderr
    other = speclab("--model", LLAMA, "--sglang-version", "0.5.12", "--check", env=fake_sglang)
    assert "the installed sglang is 0.5.23, the command targets 0.5.12" in other.stderr


def test_check_without_sglang_says_so_and_uses_the_flag_table():
    result = speclab("--model", LLAMA, "--algorithm", "NGRAM", "--check")
    assert result.returncode == 0
    assert "sglang is not importable here" in result.stderr
    assert "check: ok: the flag table of SGLang 0.5.23 (extracted from its wheel)" in result.stderr
