"""The flag table: scripts/extract_sglang_flags.py reads SGLang's two ways of declaring flags, and the
release rules in core/data/sglang_releases.toml agree with the table extracted from the real wheels."""

from __future__ import annotations

import importlib.util
import json
import zipfile

import pytest

from core.serving.launch import check_against_flag_table, flag_table, known_releases, release_rules
from tests.conftest import ROOT

OLD_STYLE = """
CHOICES = ["fa3", "triton"]

class ServerArgs:
    @staticmethod
    def add_cli_args(parser):
        parser.add_argument("--tensor-parallel-size", "--tp-size", type=int, default=1)
        parser.add_argument("--speculative-algorithm", type=str, choices=["EAGLE", "NGRAM"])
        parser.add_argument("--attention-backend", type=str, choices=CHOICES)
        parser.add_argument("--trust-remote-code", action="store_true")
        parser.add_argument("--lora-paths", type=str, nargs="*")
        parser.add_argument("--mem-fraction-static", type=float, dest="mem_fraction_static")
"""

NEW_STYLE = """
from typing import Literal, Optional
import argparse

class Spec(msgspec.Struct):
    _NS_PATH = "spec"
    speculative_num_steps: A[Optional[int], "Draft steps."] = None
    speculative_draft_model_path: A[Optional[str], Arg(help="Draft.", aliases=["--speculative-draft-model"])] = None
    speculative_attention_mode: A[Literal["prefill", "decode"], "Mode."] = "prefill"
    speculative_hidden: A[int, Arg(no_cli=True)] = 0
    enable_thing: A[bool, "A switch."] = False
    fused_norm: A[Optional[bool], Arg(help="Both ways.", action=argparse.BooleanOptionalAction)] = None
    context_length: A[Optional[int], Arg(help="Tokens.", type_parser=human_readable_int)] = None
    draft_backend: A[Optional[str], Arg(help="Backend.", choices=CHOICES)] = None
    plain_field: int = 3
"""


def _extractor():
    spec = importlib.util.spec_from_file_location(
        "extract_sglang_flags", ROOT / "scripts" / "extract_sglang_flags.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def wheel(tmp_path):
    path = tmp_path / "sglang-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("sglang/srt/server_args.py", OLD_STYLE)
        archive.writestr("sglang/srt/arg_groups/fields/spec.py", NEW_STYLE)
        archive.writestr("sglang/srt/models/broken.py", "\ufeffdef oops(:\n")  # skipped, not fatal
    return path


def test_extractor_reads_add_argument_calls_and_namespace_fields(wheel):
    table = _extractor().extract(wheel)
    assert table["release"] == "9.9.9"
    options = {o["names"][0]: o for o in table["options"]}
    assert options["--tensor-parallel-size"]["names"] == ["--tensor-parallel-size", "--tp-size"]
    assert options["--tensor-parallel-size"]["dest"] == "tensor_parallel_size"  # argparse's own dest
    assert options["--speculative-algorithm"]["choices"] == ["EAGLE", "NGRAM"]
    assert options["--attention-backend"]["choices"] == ["fa3", "triton"]  # resolved through the constant
    assert options["--trust-remote-code"]["kind"] == "switch"
    assert options["--lora-paths"]["kind"] == "list"
    assert options["--mem-fraction-static"]["kind"] == "float"
    assert options["--speculative-num-steps"]["kind"] == "int"
    assert options["--speculative-draft-model-path"]["names"][1] == "--speculative-draft-model"
    assert options["--speculative-attention-mode"]["choices"] == ["decode", "prefill"]
    assert options["--enable-thing"]["kind"] == "switch"
    assert options["--fused-norm"]["names"] == ["--fused-norm", "--no-fused-norm"]
    assert options["--context-length"]["kind"] == "str"  # a custom parser: SGLang checks the value
    assert options["--draft-backend"]["choices"] == ["fa3", "triton"]
    assert "--speculative-hidden" not in options and "--plain-field" not in options
    assert options["--speculative-num-steps"]["source"].startswith("sglang/srt/arg_groups/fields/spec.py:")


def test_extractor_cli_writes_json_and_refuses_a_missing_wheel(wheel, tmp_path, capsys):
    extractor = _extractor()
    out = tmp_path / "flags.json"
    assert extractor.main([str(wheel), "--out", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert list(payload["releases"]) == ["9.9.9"] and "never edited by hand" in payload["about"]
    assert extractor.main([str(tmp_path / "nope.whl"), "--out", str(out)]) == 2
    assert "no such wheel" in capsys.readouterr().err


def test_the_shipped_table_covers_every_release():
    for release in known_releases():
        table = flag_table(release)
        assert len(table) > 250
        assert {"--model-path", "--speculative-algorithm", "--speculative-num-draft-tokens"} <= set(table)


@pytest.mark.parametrize("release", known_releases())
def test_release_rules_agree_with_the_extracted_table(release):
    rules = release_rules(release)
    table = flag_table(release)
    assert rules.cuda_graph_max_bs_flag in table
    assert rules.incremental_streaming_flag in table
    old_cuda, old_stream = "--cuda-graph-max-bs", "--stream-output"
    assert (old_cuda in table) == (release in ("0.5.5", "0.5.9", "0.5.12", "0.5.17"))
    assert (old_stream in table) == (release in ("0.5.5", "0.5.9", "0.5.12", "0.5.17"))
    ngram_window = "--speculative-ngram-max-match-window-size" in table
    assert ngram_window == (release in ("0.5.5", "0.5.9"))
    choices = table["--speculative-algorithm"].choices
    if choices is not None:  # 0.5.5 and 0.5.9 list them; later releases take any registered name
        assert set(choices) == set(rules.algorithms)


def test_table_check_speaks_argparse():
    ok = check_against_flag_table(["--model-path", "m", "--tp-size", "2", "--trust-remote-code"], "0.5.23")
    assert ok.ok and ok.parsed == {"model_path": "m", "tp_size": 2, "trust_remote_code": True}
    bad = check_against_flag_table(
        ["--tp-size", "two", "--speculative-attention-mode", "x", "stray"], "0.5.23"
    )
    assert bad.problems == [
        "argument --tp-size: invalid int value: 'two'",
        "argument --speculative-attention-mode: invalid choice: 'x' (choose from 'decode', 'prefill')",
        "unrecognized arguments: stray",
    ]
    short = check_against_flag_table(["--model-pat", "m"], "0.5.23")
    assert short.ok and any("abbreviation" in n for n in short.notes)
    assert not check_against_flag_table(["--port"], "0.5.23").ok  # a value is missing
