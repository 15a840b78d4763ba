"""core.simulation.timeline: the two lanes add up, and the speedup agrees with the counts."""

import math

import numpy as np
import pytest

from core.simulation import timeline
from core.simulation.closed_form import walltime_speedup


def _lane(tl, lane):
    return [s for s in tl.segments if s.lane == lane]


def test_plain_lane_is_one_target_step_per_token():
    tl = timeline.build_timeline([2, 0, 3], gamma=3, cost_ratio=0.1, n_tokens=7)
    plain = _lane(tl, timeline.PLAIN_LANE)
    assert len(plain) == 7
    assert {s.kind for s in plain} == {"target step"}
    assert sum(s.tokens for s in plain) == 7
    assert [s.start for s in plain] == list(range(7))
    assert tl.plain_time == pytest.approx(sum(s.duration for s in plain))


def test_speculative_lane_durations_add_up_and_bars_do_not_overlap():
    gamma, cost, verify = 4, 0.15, 1.3
    tl = timeline.build_timeline([4, 1, 0, 2, 4], gamma, cost, n_tokens=12, verify_cost=verify)
    spec = _lane(tl, timeline.SPECULATIVE_LANE)
    # rounds used: 5 + 2 = 7 < 12, + 1 = 8, + 3 = 11, + 5 = 16 >= 12 -> all five rounds.
    assert tl.rounds == 5
    assert tl.accepted_counts == (4, 1, 0, 2, 4)
    assert sum(s.kind == "verify pass" for s in spec) == tl.rounds
    assert sum(s.kind == "draft step" for s in spec) == tl.draft_steps == 5 * gamma
    for before, after in zip(spec, spec[1:], strict=False):
        assert after.start == pytest.approx(before.end)
    assert spec[0].start == 0.0
    assert spec[-1].end == pytest.approx(tl.speculative_time)
    assert tl.speculative_time == pytest.approx(tl.draft_time + tl.verify_time)
    assert tl.draft_time == pytest.approx(sum(s.duration for s in spec if s.kind == "draft step"))
    assert tl.verify_time == pytest.approx(5 * verify)


def test_tokens_reach_exactly_the_goal_and_overshoot_is_reported():
    tl = timeline.build_timeline([4, 1, 0, 2, 4], gamma=4, cost_ratio=0.15, n_tokens=12)
    spec_tokens = [s.tokens for s in _lane(tl, timeline.SPECULATIVE_LANE) if s.kind == "verify pass"]
    assert sum(spec_tokens) == 12
    assert spec_tokens == [5, 2, 1, 3, 1]  # the last round produced 5 but only 1 was still needed
    assert tl.overshoot == 4
    assert tl.tokens_per_pass == pytest.approx(16 / 5)


def test_unused_rounds_are_ignored():
    tl = timeline.build_timeline([3, 3, 3, 0, 0], gamma=3, cost_ratio=0.0, n_tokens=8)
    assert tl.rounds == 2
    assert tl.overshoot == 0


def test_speedup_is_consistent_with_the_counts():
    counts = [2, 0, 5, 1, 3, 5, 0]
    gamma, cost, verify = 5, 0.05, 1.0
    tl = timeline.build_timeline(counts, gamma, cost, n_tokens=20, verify_cost=verify)
    expected_time = tl.rounds * (gamma * cost + verify)
    assert tl.speedup == pytest.approx(20 / expected_time)


def test_slow_draft_and_low_acceptance_make_speculation_slower():
    # Nothing accepted and a draft costing half a target step: 1 token per 3 time units.
    tl = timeline.build_timeline([0] * 10, gamma=4, cost_ratio=0.5, n_tokens=10)
    assert tl.speedup == pytest.approx(1 / 3)
    assert tl.speculative_time > tl.plain_time


def test_gamma_zero_is_plain_decoding():
    tl = timeline.build_timeline([0] * 6, gamma=0, cost_ratio=0.3, n_tokens=6)
    assert tl.speedup == pytest.approx(1.0)
    assert tl.draft_steps == 0


@pytest.mark.parametrize(
    "counts, gamma, n, message",
    [
        ([1, 1], 2, 10, "fewer than"),
        ([], 2, 1, "fewer than"),
        ([3], 2, 1, "between 0 and gamma"),
        ([-1, 2], 2, 1, "between 0 and gamma"),
        ([0.5], 2, 1, "whole numbers"),
        ([1], 2, 0, "number of tokens"),
        ([1], 2, timeline.MAX_TOKENS + 1, "number of tokens"),
    ],
)
def test_bad_counts_and_lengths_raise_clear_errors(counts, gamma, n, message):
    with pytest.raises(ValueError, match=message):
        timeline.build_timeline(counts, gamma, 0.1, n)


@pytest.mark.parametrize("verify_cost", [0.0, -1.0, math.nan, timeline.MAX_VERIFY_COST + 1])
def test_bad_verify_cost_raises(verify_cost):
    with pytest.raises(ValueError, match="verify cost"):
        timeline.build_timeline([1], 1, 0.1, 1, verify_cost=verify_cost)


def test_records_match_segments():
    tl = timeline.build_timeline([1, 2], gamma=2, cost_ratio=0.2, n_tokens=4)
    records = tl.records()
    assert len(records) == len(tl.segments)
    assert {r["lane"] for r in records} == {timeline.PLAIN_LANE, timeline.SPECULATIVE_LANE}
    assert all(r["duration"] == pytest.approx(r["end"] - r["start"]) for r in records)


def test_expected_speedup_matches_leviathan_theorem_at_batch_one():
    for alpha, gamma, cost in [(0.8, 8, 0.05), (0.5, 1, 0.2), (0.3, 4, 0.5), (1.0, 3, 0.0)]:
        assert timeline.expected_speedup(alpha, gamma, cost) == pytest.approx(
            walltime_speedup(alpha, gamma, cost)
        )
    # A costlier verify pass scales the round time, not the tokens.
    assert timeline.expected_speedup(0.8, 4, 0.05, verify_cost=2.0) == pytest.approx(
        walltime_speedup(0.8, 4, 0.05) * 1.2 / 2.2
    )


def test_simulated_timeline_is_seeded_and_uses_valid_counts():
    a = timeline.simulate_timeline(0.7, 4, 0.1, 40, seed=3)
    b = timeline.simulate_timeline(0.7, 4, 0.1, 40, seed=3)
    assert a == b
    assert all(0 <= c <= 4 for c in a.accepted_counts)
    assert sum(c + 1 for c in a.accepted_counts) - a.overshoot == 40


def test_simulated_timeline_extremes():
    # alpha = 1: every draft accepted, each round yields gamma + 1 tokens.
    full = timeline.simulate_timeline(1.0, 3, 0.1, 20, seed=0)
    assert set(full.accepted_counts) == {3}
    assert full.rounds == 5
    # alpha = 0: nothing accepted, one token per round, slower than plain decoding when drafts cost time.
    none = timeline.simulate_timeline(0.0, 3, 0.1, 20, seed=0)
    assert none.rounds == 20
    assert none.speedup < 1


def test_long_run_simulated_speedup_approaches_the_expectation():
    alpha, gamma, cost = 0.6, 3, 0.1
    tl = timeline.simulate_timeline(alpha, gamma, cost, timeline.MAX_TOKENS, seed=11)
    mean_tokens = np.mean(np.asarray(tl.accepted_counts) + 1)
    # 400 tokens are ~170 rounds; the mean of N has a standard error of about 0.08 tokens here, so the
    # simulated speedup stays within 15 % of the expectation for any seed with overwhelming probability.
    assert tl.speedup == pytest.approx(timeline.expected_speedup(alpha, gamma, cost), rel=0.15)
    assert 1 <= mean_tokens <= gamma + 1
