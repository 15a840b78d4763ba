"""Every command the generator can print parses with the values asked for.

A representative matrix (each algorithm of each release x knobs set / unset x tp / pp x CUDA-graph limit x
tuned flags) is checked two ways:

* against the flag table extracted from each release's wheel (``core/data/sglang_flags.json``), always;
* through SGLang 0.5.23's real parser (``ServerArgs.add_cli_args`` + ``parse_args``) when an interpreter
  with sglang is given in ``SPECLAB_SGLANG_PYTHON`` (``bash scripts/sglang_parser_env.sh`` builds one; about
  10 minutes and 2.3 GB the first time, so `scripts/test.sh` builds it in CI (CI=true) and elsewhere only with ``SPECLAB_SGLANG_PARSER=1``).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from core.serving.launch import (
    LaunchRuleError,
    LaunchSpec,
    build_launch_command,
    check_against_flag_table,
    flag_table,
    known_releases,
    release_rules,
)
from tests.conftest import ROOT

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
PINNED = "0.5.23"
DRAFT = "my-org/draft"

KNOBS = {
    "EAGLE3": [
        {},
        {"num_steps": 3, "eagle_topk": 1, "num_draft_tokens": 4},
        {"num_steps": 5, "eagle_topk": 4, "num_draft_tokens": 8},
    ],
    "NGRAM": [{}, {"num_draft_tokens": 12}, {"eagle_topk": 4, "num_draft_tokens": 16, "num_steps": 4}],
}
EXTRAS = {
    "EAGLE3": {
        "token_map": "/models/hot.pt",
        "attention_mode": "decode",
        "draft_attention_backend": "triton",
    },
    "NGRAM": {"ngram_min_bfs_breadth": 2, "ngram_match_type": "BFS", "ngram_capacity": 100000},
}
LIMITS = [{}, {"cuda_graph_max_bs": 8, "mem_fraction_static": 0.7, "max_running_requests": 64}]
PARALLEL = [{"tp_size": 1}, {"tp_size": 2}, {"pp_size": 2}]
SERVER = [{}, {"page_size": 16, "dtype": "float16", "host": "0.0.0.0", "trust_remote_code": True}]


def _specs():
    """(label, LaunchSpec) for the matrix; baseline commands included."""
    for release in known_releases():
        for algorithm in (None, *release_rules(release).algorithms):
            knob_sets = KNOBS.get(algorithm, KNOBS["EAGLE3"] if algorithm else [{}])
            extras = [{}, EXTRAS.get(algorithm, {})] if algorithm else [{}]
            for knobs, extra, limits, parallel, server in itertools.product(
                knob_sets, extras, LIMITS, PARALLEL, SERVER
            ):
                fields = {**knobs, **extra, **limits, **parallel, **server}
                if algorithm in ("EAGLE", "EAGLE3", "STANDALONE", "DFLASH", "DSPARK", "UNO", "FROZEN_KV_MTP"):
                    fields["draft_model"] = DRAFT
                label = f"{release}-{algorithm}-{'-'.join(f'{k}={v}' for k, v in sorted(fields.items()))}"
                yield label, LaunchSpec(LLAMA, algorithm=algorithm, sglang_version=release, **fields)


def _expected(command, spec: LaunchSpec) -> dict:
    """Destinations SGLang must parse, with the values the spec asked for (after SGLang's own rewrites).

    Keyed by the option's destination in that release's parser (0.5.5's ``--tp-size`` lands in
    ``tensor_parallel_size``, 0.5.23's in ``tp_size``)."""
    want = {"--model-path": LLAMA, "--port": spec.port}
    for flag, value in (
        ("--tp-size", spec.tp_size if spec.tp_size > 1 else None),
        ("--pp-size", spec.pp_size if spec.pp_size > 1 else None),
        ("--mem-fraction-static", spec.mem_fraction_static),
        ("--max-running-requests", spec.max_running_requests),
        ("--page-size", spec.page_size),
        ("--dtype", spec.dtype),
        ("--host", spec.host),
        ("--speculative-algorithm", spec.algorithm),
        (
            "--speculative-draft-model-path",
            spec.draft_model if spec.algorithm not in (None, "NGRAM", "NEXTN") else None,
        ),
        ("--speculative-token-map", spec.token_map),
        ("--speculative-attention-mode", spec.attention_mode),
        ("--speculative-draft-attention-backend", spec.draft_attention_backend),
        ("--speculative-ngram-capacity", spec.ngram_capacity),
        ("--speculative-ngram-min-bfs-breadth", spec.ngram_min_bfs_breadth),
        ("--trust-remote-code", True if spec.trust_remote_code else None),
    ):
        if value is not None:
            want[flag] = value
    if spec.cuda_graph_max_bs is not None:
        want[release_rules(spec.sglang_version).cuda_graph_max_bs_flag] = spec.cuda_graph_max_bs
    params = command.spec_params
    if params is not None and not params.auto and spec.algorithm != "NGRAM":
        want["--speculative-num-steps"] = params.num_steps
        want["--speculative-eagle-topk"] = params.eagle_topk
        want["--speculative-num-draft-tokens"] = params.num_draft_tokens
    if spec.algorithm == "NGRAM":
        for flag, value in (
            ("--speculative-num-draft-tokens", spec.num_draft_tokens),
            ("--speculative-num-steps", spec.num_steps),
            ("--speculative-ngram-max-bfs-breadth", spec.eagle_topk),
        ):
            if value is not None:
                want[flag] = value
    table = flag_table(spec.sglang_version)
    return {table[flag].dest: value for flag, value in want.items()}


def _build_matrix():
    built, refused = [], []
    for label, spec in _specs():
        try:
            built.append((label, spec, build_launch_command(spec)))
        except LaunchRuleError as error:
            refused.append((label, spec, str(error)))
    return built, refused


BUILT, REFUSED = _build_matrix()


def test_the_matrix_is_large_and_refuses_only_what_the_release_refuses():
    assert len(BUILT) > 2000
    assert {spec.sglang_version for _, spec, _ in BUILT} == set(known_releases())
    missing_flags = set()
    for label, spec, message in REFUSED:
        if "pipeline parallelism" in message:
            assert spec.pp_size > 1 and spec.algorithm, label
            continue
        # Otherwise a tuned flag the release does not have: it really is absent from its table.
        match = re.search(r"would refuse this command: unrecognized arguments: (--[a-z-]+)$", message)
        assert match, f"{label}: {message}"
        assert match.group(1) not in flag_table(spec.sglang_version)
        missing_flags.add((spec.sglang_version, match.group(1)))
    assert all(release in ("0.5.5", "0.5.9", "0.5.12") for release, _ in missing_flags), missing_flags
    eagle_pp = [s for _, s, c in BUILT if s.pp_size > 1 and s.algorithm in ("EAGLE", "NEXTN")]
    assert {s.sglang_version for s in eagle_pp} == {"0.5.21", "0.5.23"}


@pytest.mark.parametrize("release", known_releases())
def test_every_command_parses_in_its_releases_flag_table_with_the_values_asked(release):
    checked = 0
    for label, spec, command in BUILT:
        if spec.sglang_version != release:
            continue
        check = check_against_flag_table(command.server_args, release)
        assert check.ok, f"{label}: {check.problems}"
        assert not any("abbreviation" in note for note in check.notes), label
        want = _expected(command, spec)
        got = {k: check.parsed.get(k) for k in want}
        assert got == want, label
        checked += 1
    assert checked > 200


def _sglang_python() -> str | None:
    path = os.environ.get("SPECLAB_SGLANG_PYTHON", "")
    return path if path and Path(path).is_file() else None


def _real_parser(argv_lists: list[list[str]]) -> list[dict]:
    """One answer per argv from ``python -m core.serving.launch.sglang_parser`` in the sglang interpreter."""
    result = subprocess.run(
        [_sglang_python(), "-m", "core.serving.launch.sglang_parser"],
        input=json.dumps(argv_lists),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.mark.slow
@pytest.mark.skipif(
    _sglang_python() is None,
    reason="SGLang's real parser is not built here (scripts/test.sh builds it in CI or with SPECLAB_SGLANG_PARSER=1): set SPECLAB_SGLANG_PYTHON to a python with sglang==0.5.23 "
    "(bash scripts/sglang_parser_env.sh builds one, about 10 minutes); the flag-table test above still runs",
)
def test_every_pinned_release_command_parses_with_sglangs_real_parser():
    pinned = [(label, spec, command) for label, spec, command in BUILT if spec.sglang_version == PINNED]
    answers = _real_parser([command.server_args for _, _, command in pinned])
    assert len(answers) == len(pinned)
    assert all(a["by"].startswith(f"SGLang {PINNED}'s own parser") for a in answers)
    for (label, spec, command), answer in zip(pinned, answers, strict=True):
        assert answer["ok"], f"{label}: {answer['problems']}"
        want = _expected(command, spec)
        got = {k: answer["parsed"].get(k) for k in want}
        assert got == want, label
    # The real parser says what the issue reported about the old flag name.
    (answer,) = _real_parser([["--model-path", LLAMA, "--cuda-graph-max-bs", "8"]])
    assert not answer["ok"] and "ambiguous option: --cuda-graph-max-bs" in answer["problems"][0]
