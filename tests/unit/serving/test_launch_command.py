"""SGLang launch commands: flags, SGLang's rules with their explanations, the known draft pairs, the CLI."""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys

import pytest

from core.serving.launch_command import (
    ALGORITHMS,
    LaunchRuleError,
    LaunchSpec,
    build_launch_command,
    draft_candidate_pool,
    draft_pairs,
    find_draft_pair,
    flag_explanations,
    resolve_spec_params,
)
from tests.conftest import ROOT

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def flags(argv: list[str]) -> dict[str, str | None]:
    """``--flag value`` pairs of an argv (value ``None`` for a bare switch)."""
    out: dict[str, str | None] = {}
    i = 3
    while i < len(argv):
        if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            out[argv[i]] = argv[i + 1]
            i += 2
        else:
            out[argv[i]] = None
            i += 1
    return out


def test_baseline_command():
    command = build_launch_command(LaunchSpec(LLAMA, baseline=True, port=31000))
    assert command.argv[:3] == ["python", "-m", "sglang.launch_server"]
    assert flags(command.argv) == {"--model-path": LLAMA, "--port": "31000"}
    assert not any(a.startswith("--speculative") for a in command.argv)


def test_no_algorithm_means_baseline_and_suggests_one():
    command = build_launch_command(LaunchSpec(LLAMA))
    assert "--speculative-algorithm" not in command.argv
    assert any("--algorithm EAGLE3" in note for note in command.notes)


def test_eagle3_known_target_uses_documented_flag_and_known_draft():
    command = build_launch_command(LaunchSpec(LLAMA, algorithm="eagle3"))
    f = flags(command.argv)
    assert f["--speculative-algorithm"] == "EAGLE3"
    pair = find_draft_pair(LLAMA, "EAGLE3")
    assert f["--speculative-draft-model-path"] == pair.draft
    assert "--speculative-draft-model" not in f  # the alias is never emitted
    # None of the three knobs set: none emitted, and the note says what SGLang picks (Llama: 5/4/8).
    assert not {
        "--speculative-num-steps",
        "--speculative-eagle-topk",
        "--speculative-num-draft-tokens",
    } & set(f)
    assert any("5/4/8" in n for n in command.notes)
    assert any("48" in n for n in command.notes)  # the silent cap on running requests


def test_text_is_the_argv_line_continued():
    command = build_launch_command(
        LaunchSpec(
            LLAMA, algorithm="EAGLE3", num_steps=3, eagle_topk=1, num_draft_tokens=4, mem_fraction_static=0.7
        )
    )
    lines = command.text.splitlines()
    assert len(lines) > 3 and all(line.endswith(" \\") for line in lines[:-1])
    assert shlex.split(command.text.replace("\\\n", " ")) == command.argv


def test_all_three_knobs_or_none():
    with pytest.raises(LaunchRuleError, match="all three"):
        build_launch_command(LaunchSpec(LLAMA, algorithm="EAGLE3", num_steps=3, eagle_topk=1))


def test_topk_one_forces_draft_tokens_steps_plus_one_with_warning():
    command = build_launch_command(
        LaunchSpec(LLAMA, algorithm="EAGLE3", num_steps=3, eagle_topk=1, num_draft_tokens=8)
    )
    assert flags(command.argv)["--speculative-num-draft-tokens"] == "4"
    assert any("steps + 1" in w for w in command.warnings)


def test_draft_tokens_must_fit_the_tree():
    # 2 steps x topk 2 score 2 + 4 = 6 candidates: at most 7 draft tokens with the root.
    assert draft_candidate_pool(2, 2) == 6 and draft_candidate_pool(3, 1) == 3
    with pytest.raises(LaunchRuleError, match="at most 7 draft tokens"):
        build_launch_command(
            LaunchSpec(LLAMA, algorithm="EAGLE3", num_steps=2, eagle_topk=2, num_draft_tokens=8)
        )
    ok = build_launch_command(
        LaunchSpec(LLAMA, algorithm="EAGLE3", num_steps=3, eagle_topk=2, num_draft_tokens=7)
    )
    assert flags(ok.argv)["--speculative-num-draft-tokens"] == "7"
    assert any("overlap scheduler" in w for w in ok.warnings)  # topk > 1
    assert not any("sweep" in w for w in ok.warnings)  # 7 <= 3 x 2 + 1


def test_docs_example_3_4_16_runs_with_a_warning():
    # Above steps x topk + 1 = 13, but SGLang's own docs use it: allowed, with the sweep script's caveat.
    command = build_launch_command(
        LaunchSpec(LLAMA, algorithm="EAGLE3", num_steps=3, eagle_topk=4, num_draft_tokens=16)
    )
    assert flags(command.argv)["--speculative-num-draft-tokens"] == "16"
    assert any("sweep" in w for w in command.warnings)


def test_auto_choice_for_non_llama_is_3_1_4():
    params = resolve_spec_params("Qwen/Qwen3-30B-A3B")
    assert (params.num_steps, params.eagle_topk, params.num_draft_tokens, params.auto) == (3, 1, 4, True)
    params = resolve_spec_params(LLAMA)
    assert (params.num_steps, params.eagle_topk, params.num_draft_tokens) == (5, 4, 8)
    assert params.max_accepted_drafts == 5


@pytest.mark.parametrize("algorithm", ["EAGLE", "EAGLE3", "STANDALONE"])
def test_draft_needed_for_unknown_target(algorithm):
    with pytest.raises(LaunchRuleError, match="--draft-model"):
        build_launch_command(LaunchSpec("my-org/my-model", algorithm=algorithm))
    given = build_launch_command(
        LaunchSpec("my-org/my-model", algorithm=algorithm, draft_model="my-org/draft")
    )
    assert flags(given.argv)["--speculative-draft-model-path"] == "my-org/draft"


@pytest.mark.parametrize("algorithm", ["NEXTN", "NGRAM"])
def test_nextn_and_ngram_take_no_draft_path(algorithm):
    command = build_launch_command(
        LaunchSpec("deepseek-ai/DeepSeek-V3", algorithm=algorithm, draft_model="x/y")
    )
    assert "--speculative-draft-model-path" not in command.argv
    assert any("x/y" in w for w in command.warnings)


def test_lookahead_rejected_with_reason():
    with pytest.raises(LaunchRuleError, match="renamed NGRAM"):
        build_launch_command(LaunchSpec(LLAMA, algorithm="lookahead"))


def test_unknown_algorithm_rejected():
    with pytest.raises(LaunchRuleError, match="EAGLE3"):
        build_launch_command(LaunchSpec(LLAMA, algorithm="MEDUSA"))


def test_pipeline_parallel_incompatible_with_speculation():
    with pytest.raises(LaunchRuleError, match="pipeline"):
        build_launch_command(LaunchSpec(LLAMA, algorithm="EAGLE3", pp_size=2))
    assert flags(build_launch_command(LaunchSpec(LLAMA, pp_size=2)).argv)["--pp-size"] == "2"


def test_explicit_limits_are_emitted():
    command = build_launch_command(
        LaunchSpec(
            LLAMA,
            algorithm="EAGLE3",
            tp_size=2,
            cuda_graph_max_bs=8,
            max_running_requests=64,
            mem_fraction_static=0.7,
        )
    )
    f = flags(command.argv)
    assert (
        f["--tp-size"],
        f["--cuda-graph-max-bs"],
        f["--max-running-requests"],
        f["--mem-fraction-static"],
    ) == (
        "2",
        "8",
        "64",
        "0.7",
    )
    assert not any("caps --max-running-requests" in n for n in command.notes)


@pytest.mark.parametrize("bad", [{"mem_fraction_static": 1.5}, {"port": 0}, {"tp_size": 0}, {"model": " "}])
def test_bad_values_rejected(bad):
    spec = {"model": LLAMA, **bad}
    with pytest.raises(LaunchRuleError):
        build_launch_command(LaunchSpec(**spec))


def test_simulated_accept_length_env():
    command = build_launch_command(
        LaunchSpec(
            LLAMA,
            algorithm="EAGLE3",
            num_steps=3,
            eagle_topk=1,
            num_draft_tokens=4,
            simulate_accept_length=2.5,
        )
    )
    assert command.env == {"SGLANG_SIMULATE_ACC_LEN": "2.5"}
    assert command.text.startswith("SGLANG_SIMULATE_ACC_LEN=2.5 python -m sglang.launch_server")
    with pytest.raises(LaunchRuleError, match="between 1 and"):
        build_launch_command(
            LaunchSpec(
                LLAMA,
                algorithm="EAGLE3",
                num_steps=3,
                eagle_topk=1,
                num_draft_tokens=4,
                simulate_accept_length=5,
            )
        )


def test_draft_pairs_data():
    pairs = draft_pairs()
    assert all(p.algorithm in ALGORITHMS and p.source for p in pairs)
    assert all(bool(p.draft) == (p.algorithm in ("EAGLE", "EAGLE3", "STANDALONE")) for p in pairs)
    for pair in pairs:
        if pair.recommended is not None:  # every recommendation obeys SGLang's rules
            steps, topk, tokens = pair.recommended
            resolved = resolve_spec_params(pair.target, steps, topk, tokens)
            assert (resolved.num_steps, resolved.eagle_topk, resolved.num_draft_tokens) == pair.recommended
    eagle3_targets = {p.target for p in pairs if p.algorithm == "EAGLE3"}
    assert {
        LLAMA,
        "meta-llama/Llama-3.3-70B-Instruct",
        "Qwen/Qwen3-30B-A3B",
        "openai/gpt-oss-120b",
    } <= eagle3_targets
    assert find_draft_pair(LLAMA, "STANDALONE").draft.endswith("Llama-3.2-1B-Instruct")
    assert find_draft_pair("deepseek-ai/DeepSeek-R1", "NEXTN").draft == ""
    # A local folder named like the target finds it too; the 8B's heads are not offered for the 70B.
    assert find_draft_pair("/models/Llama-3.1-8B-Instruct", "EAGLE3").target == LLAMA
    assert (
        find_draft_pair("meta-llama/Llama-3.3-70B-Instruct", "EAGLE3").draft
        != find_draft_pair(LLAMA, "EAGLE3").draft
    )
    assert find_draft_pair("unknown/model") is None


def test_every_emitted_flag_is_explained():
    explained = flag_explanations()
    command = build_launch_command(
        LaunchSpec(
            LLAMA,
            algorithm="EAGLE3",
            num_steps=3,
            eagle_topk=1,
            num_draft_tokens=4,
            host="0.0.0.0",
            tp_size=2,
            cuda_graph_max_bs=8,
            max_running_requests=64,
            mem_fraction_static=0.7,
            trust_remote_code=True,
            simulate_accept_length=2.0,
        )
    )
    assert set(flags(command.argv)) <= set(explained)
    assert set(command.env) <= set(explained)
    explained["--port"] = "changed"
    assert flag_explanations()["--port"] != "changed"  # a copy each call


# ------------------------------------------------------------------------------------------ real parser


def test_flags_parse_with_sglangs_own_parser():
    server_args = pytest.importorskip(
        "sglang.srt.server_args", reason="sglang is not installed here (install it on a GPU machine)"
    )
    parser = argparse.ArgumentParser()
    server_args.ServerArgs.add_cli_args(parser)
    command = build_launch_command(
        LaunchSpec(
            LLAMA,
            algorithm="EAGLE3",
            num_steps=3,
            eagle_topk=1,
            num_draft_tokens=4,
            mem_fraction_static=0.7,
            cuda_graph_max_bs=8,
            max_running_requests=64,
            tp_size=2,
        )
    )
    parsed = parser.parse_args(command.argv[3:])
    assert parsed.model_path == LLAMA
    assert parsed.speculative_algorithm == "EAGLE3"
    assert parsed.speculative_draft_model_path == find_draft_pair(LLAMA, "EAGLE3").draft
    assert (
        parsed.speculative_num_steps,
        parsed.speculative_eagle_topk,
        parsed.speculative_num_draft_tokens,
    ) == (
        3,
        1,
        4,
    )
    assert parsed.mem_fraction_static == 0.7 and parsed.max_running_requests == 64 and parsed.tp_size == 2
    baseline = parser.parse_args(build_launch_command(LaunchSpec(LLAMA, baseline=True)).argv[3:])
    assert baseline.speculative_algorithm is None


# ------------------------------------------------------------------------------------------ CLI


def speclab(*args):
    return subprocess.run(
        [sys.executable, "-m", "core", "command", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_cli_prints_only_the_command_on_stdout():
    result = speclab(
        "--model", LLAMA, "--algorithm", "EAGLE3", "--steps", "3", "--topk", "1", "--draft-tokens", "4"
    )
    assert result.returncode == 0
    assert result.stdout.startswith("python -m sglang.launch_server")
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
