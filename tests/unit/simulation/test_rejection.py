"""The speculative sampling rule: output distributed as p, acceptance sum(min(p, q)), greedy, validation."""

from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest

from core.simulation import rejection as rj
from tests.unit.simulation.test_montecarlo import chi_square_critical, chi_square_goodness

P = rj.zipf_distribution(40, exponent=1.1)
Q = rj.draft_from_target(P, temperature=1.8, skew=0.3, mix=0.05, noise=0.4, seed=3)


# ---- toy distributions -------------------------------------------------------------------------------


def test_zipf_distribution_shape_temperature_and_shift():
    p = rj.zipf_distribution(100, exponent=1.2)
    assert p.sum() == pytest.approx(1.0)
    assert np.all(np.diff(p) < 0)  # rank 0 most likely, decreasing
    assert p[0] / p[1] == pytest.approx(2**1.2)
    hot = rj.zipf_distribution(100, exponent=1.2, temperature=0.5)
    assert hot[0] > p[0]  # lower temperature: sharper
    assert rj.zipf_distribution(100, temperature=0)[0] == 1.0
    shifted = rj.zipf_distribution(100, exponent=1.2, shift=7)
    assert int(np.argmax(shifted)) == 7
    np.testing.assert_allclose(np.sort(shifted), np.sort(p))


def test_each_draft_imperfection_lowers_acceptance():
    p = rj.zipf_distribution(200)
    assert rj.acceptance_rate(p, rj.draft_from_target(p)) == pytest.approx(1.0)
    rates = {
        "hot": rj.acceptance_rate(p, rj.draft_from_target(p, temperature=0.5)),
        "cold": rj.acceptance_rate(p, rj.draft_from_target(p, temperature=2.0)),
        "skew": rj.acceptance_rate(p, rj.draft_from_target(p, skew=0.4)),
        "mix": rj.acceptance_rate(p, rj.draft_from_target(p, mix=0.3)),
        "noise": rj.acceptance_rate(p, rj.draft_from_target(p, noise=0.5, seed=1)),
    }
    for name, rate in rates.items():
        assert 0.0 < rate < 1.0, name
    assert rj.acceptance_rate(p, rj.draft_from_target(p, skew=0.6)) < rates["skew"]
    np.testing.assert_array_equal(
        rj.draft_from_target(p, noise=0.5, seed=1), rj.draft_from_target(p, noise=0.5, seed=1)
    )


# ---- formulas ----------------------------------------------------------------------------------------


def test_acceptance_rate_is_one_minus_total_variation():
    assert rj.acceptance_rate(P, Q) == pytest.approx(1.0 - rj.total_variation(P, Q))
    assert rj.acceptance_rate([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]) == pytest.approx(0.5)
    assert rj.acceptance_rate([1, 0], [0, 1]) == 0.0


def test_acceptance_probability_and_residual():
    p, q = [0.2, 0.5, 0.3], [0.4, 0.4, 0.2]
    assert rj.acceptance_probability(p, q, 0) == pytest.approx(0.5)
    assert rj.acceptance_probability(p, q, 1) == 1.0
    np.testing.assert_allclose(rj.residual_distribution(p, q), [0.0, 0.5, 0.5])
    # p == q: the residual is never used; it is still a valid distribution (p itself).
    np.testing.assert_allclose(rj.residual_distribution(p, p), p)
    with pytest.raises(ValueError, match="probability 0"):
        rj.acceptance_probability([0.5, 0.5], [1.0, 0.0], 1)
    with pytest.raises(ValueError, match="token"):
        rj.acceptance_probability(p, q, 3)


def test_unnormalised_weights_are_normalised():
    assert rj.acceptance_rate([2, 6, 2], [1, 1, 2]) == pytest.approx(
        rj.acceptance_rate([0.2, 0.6, 0.2], [0.25, 0.25, 0.5])
    )


@pytest.mark.parametrize(
    ("p", "q", "message"),
    [
        ([0.5, -0.1, 0.6], [0.3, 0.3, 0.4], "negative"),
        ([0.5, float("nan"), 0.5], [0.3, 0.3, 0.4], "NaN"),
        ([0.5, float("inf")], [0.5, 0.5], "NaN or infinite"),
        ([0, 0, 0], [0.3, 0.3, 0.4], "sums to zero"),
        ([0.5, 0.5], [0.3, 0.3, 0.4], "same vocabulary"),
        ([], [], "non-empty"),
        ([[0.5, 0.5]], [[0.5, 0.5]], "1-D"),
        (["a", "b"], [0.5, 0.5], "numbers"),
    ],
)
def test_invalid_distributions_raise(p, q, message):
    with pytest.raises(ValueError, match=message):
        rj.run_rejection_sampling(p, q, 100)
    with pytest.raises(ValueError, match=message):
        rj.acceptance_rate(p, q)


# ---- the Numba kernel --------------------------------------------------------------------------------


def test_empirical_acceptance_within_four_standard_errors():
    result = rj.run_rejection_sampling(P, Q, 1_000_000, seed=4)
    assert result.expected_acceptance == pytest.approx(rj.acceptance_rate(P, Q))
    assert 0.3 < result.expected_acceptance < 0.95  # a non-trivial case
    assert abs(result.empirical_acceptance - result.expected_acceptance) <= 4 * result.acceptance_stderr


def test_output_follows_p_not_q():
    result = rj.run_rejection_sampling(P, Q, 1_000_000, seed=5)
    assert result.output_counts.sum() == 1_000_000
    statistic_p, df = chi_square_goodness(result.output_counts, P)
    assert statistic_p < chi_square_critical(df)
    statistic_q, df_q = chi_square_goodness(result.output_counts, Q)
    assert statistic_q > chi_square_critical(df_q)
    # Total variation: to p at sampling noise level (about sqrt(V / samples)), to q near TV(p, q).
    assert result.total_variation_to_p < 3 * math.sqrt(P.size / result.samples)
    assert result.total_variation_to_q == pytest.approx(rj.total_variation(P, Q), abs=0.01)


def test_accepting_every_draft_would_give_q():
    """Control: the same check rejects a wrong algorithm (drafts only, no rejection step)."""
    rng = np.random.default_rng(0)
    drafts_only = np.bincount(rng.choice(P.size, size=200_000, p=Q), minlength=P.size)
    statistic, df = chi_square_goodness(drafts_only, P)
    assert statistic > chi_square_critical(df)


def test_disjoint_supports_and_identical_distributions():
    never = rj.run_rejection_sampling([0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5], 10_000, seed=1)
    assert never.empirical_acceptance == 0.0
    assert never.output_counts[2:].sum() == 0
    always = rj.run_rejection_sampling(P, P, 10_000, seed=1)
    assert always.empirical_acceptance == 1.0


def test_zero_probability_tokens_never_come_out():
    p = [0.0, 0.3, 0.0, 0.7, 0.0]
    q = [0.2, 0.0, 0.5, 0.3, 0.0]
    result = rj.run_rejection_sampling(p, q, 100_000, seed=2)
    assert result.output_counts[[0, 2, 4]].sum() == 0
    statistic, df = chi_square_goodness(result.output_counts, np.asarray(p))
    assert statistic < chi_square_critical(df)


def test_greedy_mode_is_argmax_agreement():
    p = rj.zipf_distribution(20)
    agree = rj.run_rejection_sampling(p, rj.draft_from_target(p, temperature=3.0), 5_000, greedy=True)
    assert agree.empirical_acceptance == 1.0 and agree.expected_acceptance == 1.0
    assert agree.output_counts[0] == 5_000
    disagree = rj.run_rejection_sampling(p, rj.zipf_distribution(20, shift=3), 5_000, greedy=True)
    assert disagree.empirical_acceptance == 0.0 and disagree.expected_acceptance == 0.0
    assert disagree.output_counts[0] == 5_000  # the correction is the target's argmax


def test_same_seed_same_result_from_threads():
    serial = [rj.run_rejection_sampling(P, Q, 300_000, seed=s).output_counts for s in range(4)]
    results = {}
    barrier = threading.Barrier(4)

    def work(seed):
        barrier.wait()
        results[seed] = rj.run_rejection_sampling(P, Q, 300_000, seed=seed).output_counts

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for seed in range(4):
        np.testing.assert_array_equal(results[seed], serial[seed])


def test_samples_validated_and_result_serialises():
    with pytest.raises(ValueError, match="rounds"):
        rj.run_rejection_sampling(P, Q, 0)
    json.dumps(rj.run_rejection_sampling(P, Q, 100).to_dict())


# ---- verify_drafts (step-through) --------------------------------------------------------------------


def test_verify_drafts_output_follows_p_like_the_kernel():
    """gamma = 1, many passes: the first output token follows p (the same rule as the kernel)."""
    rng = np.random.default_rng(7)
    p_rows = np.stack([P, rj.zipf_distribution(P.size, shift=5)])
    q_rows = Q[None, :]
    first_tokens = np.zeros(P.size, dtype=np.int64)
    accepted = 0
    passes = 40_000
    for _ in range(passes):
        draft = int(rng.choice(P.size, p=Q))
        result = rj.verify_drafts(p_rows, q_rows, [draft], rng)
        first_tokens[result.output_tokens[0]] += 1
        accepted += result.accepted
        if result.accepted == 1:
            assert result.next_token_source == "bonus" and result.residual is None
        else:
            assert result.next_token_source == "residual"
    statistic, df = chi_square_goodness(first_tokens, P)
    assert statistic < chi_square_critical(df)
    kernel = rj.run_rejection_sampling(P, Q, passes, seed=8)
    stderr = math.sqrt(2) * kernel.acceptance_stderr
    assert abs(accepted / passes - kernel.empirical_acceptance) <= 4 * stderr


def test_verify_drafts_step_by_step_fields():
    p_rows = [[0.1, 0.6, 0.3], [0.5, 0.25, 0.25], [0.2, 0.2, 0.6]]
    q_rows = [[0.2, 0.3, 0.5], [0.25, 0.5, 0.25]]
    for seed in range(20):
        result = rj.verify_drafts(p_rows, q_rows, [1, 1], np.random.default_rng(seed))
        np.testing.assert_allclose(result.accept_probabilities, [1.0, 0.5])
        checked = len(result.uniforms)
        assert checked == min(result.accepted + 1, 2)
        assert all(
            u < a
            for u, a in zip(result.uniforms[: result.accepted], result.accept_probabilities, strict=False)
        )
        if result.accepted < 2:
            assert result.uniforms[-1] >= result.accept_probabilities[result.accepted]
            np.testing.assert_allclose(result.residual, [1.0, 0.0, 0.0])  # norm(max(0, p - q)) at position 2
            assert result.next_token == 0
        assert result.output_tokens == (*[1] * result.accepted, result.next_token)
        assert len(result.output_tokens) == result.accepted + 1
    # The first draft always passes (p >= q); the second is accepted about half the time.
    accepted = [
        rj.verify_drafts(p_rows, q_rows, [1, 1], np.random.default_rng(s)).accepted for s in range(400)
    ]
    assert set(accepted) == {1, 2}


def test_verify_drafts_greedy():
    p_rows = [[0.1, 0.6, 0.3], [0.5, 0.25, 0.25], [0.2, 0.2, 0.6]]
    q_rows = [[0.2, 0.3, 0.5], [0.25, 0.5, 0.25]]
    result = rj.verify_drafts(p_rows, q_rows, [1, 0], np.random.default_rng(0), greedy=True)
    assert result.accepted == 2 and result.next_token == 2 and result.next_token_source == "bonus"
    result = rj.verify_drafts(p_rows, q_rows, [1, 1], np.random.default_rng(0), greedy=True)
    assert result.accepted == 1 and result.next_token == 0 and result.output_tokens == (1, 0)
    np.testing.assert_array_equal(result.accept_probabilities, [1.0, 0.0])


def test_verify_drafts_without_drafts_samples_the_bonus_token():
    result = rj.verify_drafts([[0.0, 1.0]], np.zeros((0, 2)), [], np.random.default_rng(0))
    assert result.accepted == 0 and result.next_token == 1 and result.next_token_source == "bonus"


@pytest.mark.parametrize(
    ("p_rows", "q_rows", "tokens", "message"),
    [
        ([[0.5, 0.5]], [[0.5, 0.5]], [0], "q_rows"),
        ([[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.5]], [0, 1], "draft_tokens"),
        ([[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.5]], [2], "token"),
        ([[0.5, 0.5], [0.5, 0.5]], [[1.0, 0.0]], [1], "draft probability 0"),
        ([[0.5, -0.5], [0.5, 0.5]], [[0.5, 0.5]], [1], "negative"),
        ([0.5, 0.5], [[0.5, 0.5]], [1], "p_rows"),
    ],
)
def test_verify_drafts_validates(p_rows, q_rows, tokens, message):
    with pytest.raises(ValueError, match=message):
        rj.verify_drafts(p_rows, q_rows, tokens, np.random.default_rng(0))


def test_verify_drafts_needs_a_generator():
    with pytest.raises(ValueError, match="Generator"):
        rj.verify_drafts([[1.0]], np.zeros((0, 1)), [], rng=42)


def test_warm_up_runs():
    rj.warm_up()
