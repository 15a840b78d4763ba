"""Closed forms against brute-force sums and the worked examples in Leviathan et al. (2023)."""

import math

import numpy as np
import pytest

from core.simulation import closed_form as cf


def brute_force_expectation(alpha, gamma):
    pmf = [alpha ** (n - 1) * (1 - alpha) for n in range(1, gamma + 1)] + [alpha**gamma]
    mean = sum(n * p for n, p in zip(range(1, gamma + 2), pmf, strict=True))
    second = sum(n * n * p for n, p in zip(range(1, gamma + 2), pmf, strict=True))
    return mean, second - mean * mean


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.5, 0.9, 0.999999, 1.0])
@pytest.mark.parametrize("gamma", [0, 1, 3, 8, 20])
def test_expectation_and_variance_match_brute_force(alpha, gamma):
    mean, variance = brute_force_expectation(alpha, gamma)
    assert cf.expected_tokens_per_pass(alpha, gamma) == pytest.approx(mean, rel=1e-9, abs=1e-12)
    assert cf.tokens_per_pass_variance(alpha, gamma) == pytest.approx(variance, rel=1e-7, abs=1e-9)


def test_edge_cases_are_exact():
    assert cf.expected_tokens_per_pass(0.0, 5) == 1.0
    assert cf.expected_tokens_per_pass(1.0, 5) == 6.0
    assert cf.expected_tokens_per_pass(0.7, 0) == 1.0
    assert cf.walltime_speedup(0.7, 0, 0.3) == 1.0
    assert cf.tokens_per_pass_variance(1.0, 5) == 0.0
    assert cf.tokens_per_pass_variance(0.0, 5) == 0.0
    assert cf.walltime_speedup(1.0, 4, 0.0) == 5.0


def test_pmf_sums_to_one_and_matches_mean():
    pmf = cf.tokens_per_pass_pmf(0.8, 6)
    assert pmf.sum() == pytest.approx(1.0)
    assert (pmf * np.arange(1, 8)).sum() == pytest.approx(cf.expected_tokens_per_pass(0.8, 6))


def test_vectorised_over_grid_has_no_nan():
    alphas, gammas = np.meshgrid(np.linspace(0, 1, 21), np.arange(0, 17))
    speedups = cf.walltime_speedup(alphas, gammas, 0.05)
    assert speedups.shape == alphas.shape
    assert np.all(np.isfinite(speedups))
    variance = cf.tokens_per_pass_variance(alphas, gammas)
    assert np.all(np.isfinite(variance)) and np.all(variance >= 0)


@pytest.mark.parametrize(
    ("alpha", "cost", "gamma", "speedup"),
    # Worked examples given with Leviathan et al. Theorem 3.8 (rounded to two decimals there).
    [(0.8, 0.05, 8, 3.09), (0.7, 0.02, 8, 2.76), (0.6, 0.1, 3, 1.67), (0.5, 0.2, 1, 1.25)],
)
def test_optimal_gamma_matches_paper_examples(alpha, cost, gamma, speedup):
    best_gamma, best_speedup = cf.optimal_gamma(alpha, cost)
    assert best_gamma == gamma
    assert best_speedup == pytest.approx(speedup, abs=0.01)


def test_optimal_gamma_is_zero_when_speculation_cannot_pay():
    assert cf.optimal_gamma(0.0, 0.1) == (0, 1.0)


def test_lower_bound_holds_for_the_optimum():
    for alpha in (0.3, 0.6, 0.9):
        for cost in (0.01, 0.1, 0.25):
            bound = cf.speedup_lower_bound(alpha, cost)
            if bound is not None:
                assert cf.optimal_gamma(alpha, cost)[1] >= bound - 1e-12
    assert cf.speedup_lower_bound(0.1, 0.2) is None


def test_extra_compute_factor_is_one_without_speculation_and_grows_with_gamma():
    assert cf.extra_compute_factor(0.7, 0, 0.1) == 1.0
    assert cf.extra_compute_factor(0.7, 8, 0.1) > cf.extra_compute_factor(0.7, 2, 0.1) > 1.0


@pytest.mark.parametrize("bad", [-0.1, 1.1, math.nan, "x"])
def test_bad_alpha_is_rejected(bad):
    with pytest.raises(ValueError):
        cf.validate_alpha(bad)


@pytest.mark.parametrize("bad", [-1, 2.5, 1000])
def test_bad_gamma_is_rejected(bad):
    with pytest.raises(ValueError):
        cf.validate_gamma(bad)


@pytest.mark.parametrize("alpha", [0.0, 0.2, 0.75, 0.95, 1.0])
@pytest.mark.parametrize("gamma", [1, 4, 7])
def test_alpha_from_accept_length_inverts_the_expectation(alpha, gamma):
    tau = cf.expected_tokens_per_pass(alpha, gamma)
    assert cf.alpha_from_accept_length(tau, gamma) == pytest.approx(alpha, abs=1e-9)


@pytest.mark.parametrize(("tau", "gamma"), [(0.5, 3), (5.0, 3), (math.nan, 3), (2.0, 0)])
def test_alpha_from_accept_length_rejects_impossible_lengths(tau, gamma):
    with pytest.raises(ValueError):
        cf.alpha_from_accept_length(tau, gamma)
