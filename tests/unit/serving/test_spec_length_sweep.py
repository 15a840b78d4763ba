"""Exercise 1: one in-process tiny-model server per speculation length, measured with the same run."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.serving.bench_runner import BenchSettings
from core.serving.identity_check import check_identity
from core.serving.live_tiny import tiny_suite_pairs
from core.serving.spec_length_sweep import (
    LengthPoint,
    best_point,
    describe_sweep,
    length_sweep_frame,
    server_config,
    sweep_speculation_length,
)


def test_each_length_gets_its_own_server_and_the_best_is_marked():
    settings = BenchSettings(prompts=tiny_suite_pairs(["copy", "code"])[:4], num_requests=4, max_tokens=8)
    seen = []
    points = sweep_speculation_length(
        settings, [0, 2, 2, 3], progress=lambda n, done, total, r: seen.append((n, done, total))
    )
    assert [p.length for p in points] == [0, 2, 3]  # repeats run once
    assert seen[-1] == (3, 4, 4) and len(seen) == 12
    base, two, three = points
    assert base.accept_length == 1.0 and not base.run.server_info_after.speculative
    info = two.run.server_info_after
    assert (info.num_steps, info.eagle_topk, info.num_draft_tokens) == (2, 1, 3)
    assert 1.0 <= two.accept_length <= 3.0 and 1.0 <= three.accept_length <= 4.0
    assert all(not p.run.simulated for p in points)  # CPU wall clock: measured
    # greedy speculation never changes the output, whatever the length
    assert check_identity(base.run, two.run).all_identical
    assert check_identity(base.run, three.run).all_identical
    frame = length_sweep_frame(points)
    assert frame["best"].sum() == 1
    best = best_point(points)
    assert frame.loc[frame["best"], "speculation length"].item() == best.length
    assert best.tokens_per_s == max(p.tokens_per_s for p in points)
    summary = describe_sweep(points)
    assert summary.startswith("Measured best: ") and f"{best.tokens_per_s:,.0f} output tok/s" in summary


def test_bad_lengths_are_refused_before_any_server_starts():
    settings = BenchSettings(prompts=(("c", "x"),), num_requests=1, max_tokens=4)
    for bad in ([-1], [17], [1.5]):
        with pytest.raises(ValueError, match="speculation length"):
            sweep_speculation_length(settings, bad)
    with pytest.raises(ValueError, match="at least one"):
        sweep_speculation_length(settings, [])
    assert server_config(4, "NGRAM").num_draft_tokens == 5


def test_the_summary_says_what_the_numbers_say():
    def point(length, tok_s, accept):
        from core.serving.serving_metrics import RunSummary

        run = SimpleNamespace(
            summary=RunSummary(output_throughput_tok_s=tok_s, accept_length_per_request=accept)
        )
        return LengthPoint(length, run)

    peak = [point(0, 100.0, None), point(2, 180.0, 2.1), point(6, 120.0, 2.9)]
    assert "Length 6 accepted 2.90 tokens per pass but made only 120 tok/s" in describe_sweep(peak)
    assert "No length beat plain decoding" in describe_sweep([point(0, 100.0, None), point(2, 90.0, 1.2)])
    assert "try longer ones" in describe_sweep([point(0, 100.0, None), point(2, 150.0, 2.0)])
    assert describe_sweep([]) is None
