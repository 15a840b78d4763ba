"""SGLang launch commands: flags, SGLang's rules with their explanations, the known draft pairs, the CLI."""

from __future__ import annotations

import shlex

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

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def flags(argv: list[str]) -> dict[str, str | None]:
    """``--flag value`` pairs of an argv after its entry point (value ``None`` for a bare switch)."""
    out: dict[str, str | None] = {}
    i = next(n for n, a in enumerate(argv) if a.startswith("--"))
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
    assert command.release == "0.5.23" and command.argv[:2] == ["sglang", "serve"]
    assert command.server_args == command.argv[2:]
    old = build_launch_command(LaunchSpec(LLAMA, baseline=True, sglang_version="0.5.9"))
    assert old.argv[:3] == ["python", "-m", "sglang.launch_server"] and old.entry_point == tuple(old.argv[:3])
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
    assert not any("overlap scheduler" in w for w in ok.warnings)  # 0.5.23 keeps it with topk > 1
    old = build_launch_command(
        LaunchSpec(
            LLAMA, algorithm="EAGLE3", num_steps=3, eagle_topk=2, num_draft_tokens=7, sglang_version="0.5.12"
        )
    )
    assert any("SGLang 0.5.12 topk > 1" in w and "overlap scheduler off" in w for w in old.warnings)
    assert not any("sweep" in w for w in ok.warnings)  # 7 <= 3 x 2 + 1


def test_draft_tokens_above_steps_times_topk_plus_one_run_with_a_warning():
    # Above steps x topk + 1 = 13: SGLang runs it (it fits the tree), with the sweep script's caveat.
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


@pytest.mark.parametrize("release", ["0.5.5", "0.5.9", "0.5.12", "0.5.17"])
def test_pipeline_parallel_refused_with_speculation_up_to_0_5_17(release):
    with pytest.raises(LaunchRuleError, match=f"SGLang {release} refuses EAGLE with pipeline"):
        build_launch_command(
            LaunchSpec(LLAMA, algorithm="EAGLE", draft_model="x/y", pp_size=2, sglang_version=release)
        )
    assert (
        flags(build_launch_command(LaunchSpec(LLAMA, pp_size=2, sglang_version=release)).argv)["--pp-size"]
        == "2"
    )


@pytest.mark.parametrize("release", ["0.5.21", "0.5.23"])
def test_pipeline_parallel_with_eagle_from_0_5_21(release):
    for algorithm in ("EAGLE", "NEXTN"):
        command = build_launch_command(
            LaunchSpec(LLAMA, algorithm=algorithm, draft_model="x/y", pp_size=2, sglang_version=release)
        )
        assert flags(command.argv)["--pp-size"] == "2"
        assert any("pipeline parallelism" in n and "overlap scheduler off" in n for n in command.notes)
    for algorithm in ("EAGLE3", "STANDALONE", "NGRAM"):
        with pytest.raises(LaunchRuleError, match="pipeline"):
            build_launch_command(LaunchSpec(LLAMA, algorithm=algorithm, draft_model="x/y", pp_size=2))


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
    assert "--cuda-graph-max-bs" not in f  # 0.5.23 rejects it as ambiguous (review item 1)
    assert (
        f["--tp-size"],
        f["--cuda-graph-max-bs-decode"],
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
    assert command.text.startswith("SGLANG_SIMULATE_ACC_LEN=2.5 sglang serve")
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


# ------------------------------------------------------------------------------------------ per algorithm


def knobs_of(params):
    return (params.num_steps, params.eagle_topk, params.num_draft_tokens)


def test_standalone_auto_is_3_1_4_for_every_model():
    for model in (LLAMA, "xai-org/grok-1", "Qwen/Qwen2.5-7B-Instruct"):
        params = resolve_spec_params(model, algorithm="STANDALONE")
        assert knobs_of(params) == (3, 1, 4) and params.auto
    command = build_launch_command(LaunchSpec(LLAMA, algorithm="STANDALONE"))
    assert any("3/1/4" in n and "STANDALONE whatever the model" in n for n in command.notes)
    assert not any("overlap" in n for n in command.notes)


@pytest.mark.parametrize(
    "model, architecture, expected",
    [
        (LLAMA, None, (5, 4, 8)),
        ("xai-org/grok-1", None, (5, 4, 8)),
        ("meta-llama/Llama-4-Scout-17B-16E-Instruct", None, (3, 1, 4)),
        ("meta-llama/Llama-3.2-11B-Vision-Instruct", None, (3, 1, 4)),
        ("Qwen/Qwen3-8B", None, (3, 1, 4)),
        ("my-org/renamed", "LlamaForCausalLM", (5, 4, 8)),
        ("my-org/renamed", "Grok1VForCausalLM", (5, 4, 8)),
        (LLAMA, "Qwen3ForCausalLM", (3, 1, 4)),
    ],
)
def test_eagle_auto_is_5_4_8_only_for_llama_and_grok_architectures(model, architecture, expected):
    for algorithm in ("EAGLE", "EAGLE3"):
        params = resolve_spec_params(model, algorithm=algorithm, architecture=architecture)
        assert knobs_of(params) == expected
        assert params.architecture_guessed == (architecture is None)
    note = resolve_spec_params(model, algorithm="EAGLE3", architecture=architecture).notes[0]
    assert ("guessed from the model name" in note) == (architecture is None)


def test_other_architectures_got_5_4_8_in_0_5_5_only():
    old = resolve_spec_params("Qwen/Qwen3-8B", release="0.5.5")
    assert knobs_of(old) == (5, 4, 8) and "5/4/8 for the rest" in old.notes[0]
    assert knobs_of(resolve_spec_params("Qwen/Qwen3-8B", release="0.5.9")) == (3, 1, 4)
    # DeepSeek and gpt-oss got 3/1/4 even then.
    assert knobs_of(resolve_spec_params("deepseek-ai/DeepSeek-V3", release="0.5.5")) == (3, 1, 4)
    assert knobs_of(resolve_spec_params("openai/gpt-oss-120b", release="0.5.5")) == (3, 1, 4)


def test_ngram_has_its_own_rules():
    params = resolve_spec_params(LLAMA, algorithm="NGRAM")
    assert knobs_of(params) == (1, 10, 12)  # 12 // 10 steps, breadth 10 as topk, 12 draft tokens
    # No all-or-none rule: draft tokens alone is fine, and SGLang's own defaults pass the (EAGLE) tree rule.
    assert knobs_of(resolve_spec_params(LLAMA, None, None, 24, algorithm="NGRAM")) == (2, 10, 24)
    assert knobs_of(resolve_spec_params(LLAMA, algorithm="NGRAM", ngram_max_bfs_breadth=4)) == (3, 4, 12)
    # topk 1 does not rewrite the draft tokens for NGRAM.
    assert knobs_of(resolve_spec_params(LLAMA, 3, None, 12, algorithm="NGRAM", ngram_max_bfs_breadth=1)) == (
        3,
        1,
        12,
    )
    # Up to 0.5.12 SGLang leaves NGRAM's steps unset.
    assert resolve_spec_params(LLAMA, algorithm="NGRAM", release="0.5.12").num_steps is None
    with pytest.raises(LaunchRuleError, match="disagree"):
        resolve_spec_params(LLAMA, algorithm="NGRAM", eagle_topk=4, ngram_max_bfs_breadth=8)


def test_ngram_command_offers_its_flags_and_never_eagle_topk():
    command = build_launch_command(
        LaunchSpec(
            LLAMA,
            algorithm="ngram",
            eagle_topk=6,
            num_draft_tokens=18,
            ngram_min_bfs_breadth=2,
            ngram_match_type="bfs",
            ngram_max_trie_depth=12,
            ngram_capacity=1000000,
        )
    )
    f = flags(command.argv)
    assert "--speculative-eagle-topk" not in f
    assert f["--speculative-ngram-max-bfs-breadth"] == "6" and f["--speculative-num-draft-tokens"] == "18"
    assert f["--speculative-ngram-match-type"] == "BFS" and f["--speculative-ngram-max-trie-depth"] == "12"
    assert any("--speculative-ngram-max-bfs-breadth" in n for n in command.notes)
    assert not any("5/4/8" in n for n in command.notes)
    # The trie depth flag does not exist in 0.5.9 (it had match-window sizes): refused, not printed.
    with pytest.raises(LaunchRuleError, match="SGLang 0.5.9 would refuse.*max-trie-depth"):
        build_launch_command(
            LaunchSpec(LLAMA, algorithm="NGRAM", ngram_max_trie_depth=12, sglang_version="0.5.9")
        )
    with pytest.raises(LaunchRuleError, match="only applies to NGRAM"):
        build_launch_command(LaunchSpec(LLAMA, algorithm="EAGLE3", ngram_capacity=10))


@pytest.mark.parametrize("algorithm", ["DFLASH", "DSPARK", "UNO", "FROZEN_KV_MTP"])
def test_newer_algorithms_are_accepted_with_a_note(algorithm):
    command = build_launch_command(LaunchSpec(LLAMA, algorithm=algorithm, draft_model="my-org/draft"))
    assert flags(command.argv)["--speculative-algorithm"] == algorithm
    assert any("does not model its rules" in n for n in command.notes)
    with pytest.raises(LaunchRuleError, match="for SGLang 0.5.9"):
        build_launch_command(LaunchSpec(LLAMA, algorithm=algorithm, draft_model="d", sglang_version="0.5.9"))


def test_tuned_flags_are_emitted_and_checked_against_the_release():
    command = build_launch_command(
        LaunchSpec(
            LLAMA,
            algorithm="EAGLE3",
            token_map="/models/hot_vocab.pt",
            attention_mode="decode",
            draft_attention_backend="triton",
            page_size=16,
            dtype="float16",
        )
    )
    f = flags(command.argv)
    assert (f["--speculative-token-map"], f["--speculative-attention-mode"]) == (
        "/models/hot_vocab.pt",
        "decode",
    )
    assert (f["--speculative-draft-attention-backend"], f["--page-size"], f["--dtype"]) == (
        "triton",
        "16",
        "float16",
    )
    with pytest.raises(LaunchRuleError, match="invalid choice: 'sideways'"):
        build_launch_command(LaunchSpec(LLAMA, algorithm="EAGLE3", attention_mode="sideways"))


# ------------------------------------------------------------------------------------------ per release


@pytest.mark.parametrize(
    "release, flag",
    [
        ("0.5.5", "--cuda-graph-max-bs"),
        ("0.5.12", "--cuda-graph-max-bs"),
        ("0.5.17", "--cuda-graph-max-bs-decode"),
        ("0.5.21", "--cuda-graph-max-bs-decode"),
        ("0.5.23", "--cuda-graph-max-bs-decode"),
    ],
)
def test_cuda_graph_flag_follows_the_release(release, flag):
    command = build_launch_command(
        LaunchSpec(LLAMA, algorithm="EAGLE3", cuda_graph_max_bs=8, sglang_version=release)
    )
    assert flags(command.argv)[flag] == "8"
    assert not any("old name accepted" in n for n in command.notes)
    assert any(
        release in n and "--cuda-graph-max-bs" in n for n in command.notes
    )  # the note names its release


def test_the_old_cuda_graph_name_is_ambiguous_in_the_newest_flag_table():
    from core.serving.launch import check_against_flag_table

    check = check_against_flag_table(["--model-path", LLAMA, "--cuda-graph-max-bs", "8"], "0.5.23")
    assert not check.ok
    assert check.problems == [
        "ambiguous option: --cuda-graph-max-bs could match --cuda-graph-max-bs-decode, --cuda-graph-max-bs-prefill"
    ]
    assert check_against_flag_table(["--cuda-graph-max-bs", "8"], "0.5.17").ok  # its deprecated alias
    assert check_against_flag_table(["--cuda-graph-max-bs", "8"], "0.5.12").parsed == {"cuda_graph_max_bs": 8}


def test_memory_reserve_and_mixed_chunk_notes_name_their_release():
    def notes(release, algorithm="EAGLE3"):
        return build_launch_command(LaunchSpec(LLAMA, algorithm=algorithm, sglang_version=release)).notes

    assert any("SGLang 0.5.9's automatic --mem-fraction-static keeps 2 GB" in n for n in notes("0.5.9"))
    assert any("SGLang 0.5.12's automatic --mem-fraction-static keeps 4 GB" in n for n in notes("0.5.12"))
    assert any("keeps 6 GB" in n for n in notes("0.5.12", "STANDALONE"))
    assert any("SGLang 0.5.23's automatic --mem-fraction-static keeps no extra" in n for n in notes("0.5.23"))
    assert any("SGLang 0.5.17 turns mixed chunked prefill off with EAGLE3" in n for n in notes("0.5.17"))
    assert any("SGLang 0.5.23 keeps mixed chunked prefill" in n for n in notes("0.5.23"))
    assert any(
        "SGLang 0.5.23 turns mixed chunked prefill off with NGRAM" in n for n in notes("0.5.23", "NGRAM")
    )


def test_incremental_streaming_flag_follows_the_release():
    for release, flag in (("0.5.9", "--stream-output"), ("0.5.23", "--incremental-streaming-output")):
        command = build_launch_command(LaunchSpec(LLAMA, incremental_streaming=True, sglang_version=release))
        assert flag in command.argv


def test_unknown_release_is_a_rule_error_listing_the_known_ones():
    with pytest.raises(LaunchRuleError, match="known releases: 0.5.5, 0.5.9, 0.5.12, 0.5.17, 0.5.21, 0.5.23"):
        build_launch_command(LaunchSpec(LLAMA, sglang_version="0.4.0"))
    assert build_launch_command(LaunchSpec(LLAMA, sglang_version="v0.5.17")).release == "0.5.17"


def test_every_rule_range_has_a_source_and_covers_every_release():
    from core.serving.launch import known_releases, release_rules
    from core.serving.launch.releases import RULE_NAMES

    for release in known_releases():
        rules = release_rules(release)
        assert set(rules.rules) == set(RULE_NAMES)
        assert all(value.source.startswith("sglang/") for value in rules.rules.values())
        assert all(release in value.note or "{release}" not in value.note for value in rules.rules.values())


def test_every_emitted_ngram_and_tuning_flag_is_explained():
    explained = flag_explanations()
    ngram = build_launch_command(
        LaunchSpec(
            LLAMA,
            algorithm="NGRAM",
            num_steps=2,
            eagle_topk=4,
            num_draft_tokens=16,
            ngram_min_bfs_breadth=1,
            ngram_match_type="PROB",
            ngram_max_trie_depth=10,
            ngram_capacity=1000,
            page_size=1,
            dtype="bfloat16",
            incremental_streaming=True,
        )
    )
    eagle = build_launch_command(
        LaunchSpec(
            LLAMA,
            algorithm="EAGLE3",
            token_map="/m/map.pt",
            attention_mode="prefill",
            draft_attention_backend="fa3",
            cuda_graph_max_bs=4,
            sglang_version="0.5.12",
        )
    )
    for command in (ngram, eagle):
        assert set(flags(command.argv)) <= set(explained), set(flags(command.argv)) - set(explained)


# ------------------------------------------------------------------ what the lessons teach agrees with the rules


def test_the_taught_draft_memory_reserve_matches_the_release_rules():
    # accuracy-review #3 / sglang-review #7: the reserve is 2 GB (0.5.5, 0.5.9), 4 GB in 0.5.12 (read from
    # the 0.5.12 wheel, server_args.py:1582), 6 GB for STANDALONE, none from 0.5.17. The teaching data once
    # said "2 GB up to 0.5.12", which the launch-command rules contradicted.
    import re

    from core.lessons import quiz
    from core.references.published import get_reference
    from core.serving.launch import known_releases, release_rules

    metrics = get_reference("sglang-memory-reserve").metrics
    gb = {r: release_rules(r).draft_memory_reserve_mib("EAGLE3") / 1024 for r in known_releases()}
    assert gb["0.5.5"] == gb["0.5.9"] == metrics["eagle_reserve_gb"]
    assert gb["0.5.12"] == metrics["eagle_reserve_gb_0_5_12"]
    assert all(
        release_rules(r).draft_memory_reserve_mib("STANDALONE") / 1024 == metrics["standalone_reserve_gb"]
        for r in ("0.5.5", "0.5.9", "0.5.12")
    )
    assert all(gb[r] == 0 for r in ("0.5.17", "0.5.21", "0.5.23"))
    # The quiz question names one release, and its keyed answer states that release's reserve.
    question = next(q for q in quiz.load_bank().questions if q.id == "scenario-memory-headroom")
    (release,) = re.findall(r"SGLang (0\.5\.\d+)", question.prompt)
    keyed = question.options[question.answer]
    assert f"about {gb[release]:g} GB" in keyed


def test_the_taught_overlap_scheduler_rule_matches_the_release_rules():
    # accuracy-review #14 / sglang-review #6. Spec v2 was opt-in in 0.5.5 and 0.5.9 only (environ.py:
    # SGLANG_ENABLE_SPEC_V2 = EnvBool(True) from 0.5.12); the taught text once said "up to 0.5.12 ... opt-in".
    import re

    from core.lessons import quiz
    from core.references.published import get_reference
    from core.serving.launch import known_releases, release_rules

    by_rule: dict[str, list[str]] = {}
    for release in known_releases():
        by_rule.setdefault(release_rules(release).value("overlap_scheduler"), []).append(release)
    opt_in = " and ".join(by_rule["spec_v2_opt_in"])
    assert opt_in == "0.5.5 and 0.5.9" and by_rule["topk_1_only"] == ["0.5.12"]
    note = get_reference("sglang-overlap-scheduler").note
    question = next(q for q in quiz.load_bank().questions if q.id == "sglang-topk-overlap")
    for text in (note, question.explanation):
        assert f"{opt_in} spec v2 was opt-in" in text
        assert "0.5.12" in text and not re.search(r"up to 0\.5\.12[^.:]*opt-in", text)
    # The launch command for 0.5.12 agrees: a chain keeps overlap, a tree loses it.
    chain = build_launch_command(
        LaunchSpec(LLAMA, "EAGLE3", num_steps=3, eagle_topk=1, num_draft_tokens=4, sglang_version="0.5.12")
    )
    tree = build_launch_command(
        LaunchSpec(LLAMA, "EAGLE3", num_steps=3, eagle_topk=4, num_draft_tokens=8, sglang_version="0.5.12")
    )
    assert not any("overlap" in n for n in chain.notes + chain.warnings)
    assert any("overlap scheduler off" in w for w in tree.warnings)


def test_the_taught_automatic_choice_names_the_release_it_changed_in():
    # accuracy-review #10: "5/4/8 for Llama, 3/1/4 for the others" holds from 0.5.9 (0.5.5 gave 5/4/8 to
    # most models); the taught text said "from about 0.5.12".
    from core.lessons import quiz
    from core.references.published import get_reference
    from core.serving.launch import known_releases, release_rules

    first = next(
        r for r in known_releases() if release_rules(r).value("auto_params_other_architectures") == [3, 1, 4]
    )
    assert first == "0.5.9"
    question = next(q for q in quiz.load_bank().questions if q.id == "sglang-all-three")
    for text in (get_reference("sglang-default-spec-params").note, question.explanation):
        assert f"from {first})" in text and "about 0.5.12" not in text


def test_a_pairs_suggested_knobs_are_not_attributed_to_a_source_that_does_not_give_them():
    # accuracy-review "could not verify": the 3/1/4 of the default Llama-3.1-8B EAGLE-3 pair is the lab's
    # start, not a published profile; the note once said "The source of this draft uses 3/1/4".
    command = build_launch_command(LaunchSpec(LLAMA, algorithm="EAGLE3"))
    (note,) = [n for n in command.notes if "--steps 3 --topk 1 --draft-tokens 4" in n]
    assert "source of this draft uses" not in note
    assert command.draft_pair.source in note and "lab's conservative start" in note


def test_the_standalone_llama_pair_is_the_labs_not_the_docs_example():
    # accuracy-review #12: the SGLang docs' STANDALONE example is Qwen2.5-7B with Qwen2.5-1.5B.
    pair = find_draft_pair(LLAMA, "STANDALONE")
    assert pair.source.startswith("Lab pairing") and "Qwen2.5-1.5B-Instruct" in pair.source
