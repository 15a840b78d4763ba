"""The Monte Carlo against the closed forms, a coin-flip reference, and itself across threads and chunks."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from core.simulation import closed_form as cf
from core.simulation import montecarlo as mc
from tests.conftest import ROOT

ALPHAS = [0.0, 0.05, 0.3, 0.5, 0.8, 0.95, 0.999, 1.0]
GAMMAS = [0, 1, 2, 5, 8, 16, 64]


# ---- statistics helpers (scipy is not installed) -------------------------------------------------------


def chi_square_critical(df: int, z: float = 4.0) -> float:
    """Upper quantile of chi-square(df) at the normal tail of ``z`` s.d. (Wilson-Hilferty approximation)."""
    h = 2.0 / (9.0 * df)
    return df * (1.0 - h + z * math.sqrt(h)) ** 3


def chi_square_goodness(observed, expected_probabilities) -> tuple[float, int]:
    """Pearson statistic and degrees of freedom; bins expecting fewer than 5 counts are pooled."""
    observed = np.asarray(observed, dtype=float)
    expected = np.asarray(expected_probabilities, dtype=float) * observed.sum()
    small = expected < 5
    if np.any(observed[expected == 0] > 0):
        return math.inf, 1
    obs = list(observed[~small]) + ([observed[small].sum()] if small.any() else [])
    exp = list(expected[~small]) + ([expected[small].sum()] if small.any() else [])
    pairs = [(o, e) for o, e in zip(obs, exp, strict=True) if e > 0]
    statistic = sum((o - e) ** 2 / e for o, e in pairs)
    return statistic, max(len(pairs) - 1, 1)


def chi_square_two_sample(a, b) -> tuple[float, int]:
    """Two-sample chi-square statistic for histograms over the same bins (empty bins dropped)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    keep = (a + b) > 0
    a, b = a[keep], b[keep]
    ka, kb = math.sqrt(b.sum() / a.sum()), math.sqrt(a.sum() / b.sum())
    statistic = float(np.sum((ka * a - kb * b) ** 2 / (a + b)))
    return statistic, max(int(keep.sum()) - 1, 1)


def coin_flip_reference(acceptances, rounds: int, seed: int) -> np.ndarray:
    """Histogram of accepted drafts by flipping one coin per draft position until the first rejection."""
    rng = np.random.default_rng(seed)
    gamma = len(acceptances)
    if gamma == 0:
        return np.array([rounds])
    accepted = rng.random((rounds, gamma)) < np.asarray(acceptances)[None, :]
    # accepted drafts = length of the leading run of accepted positions
    first_rejection = np.where(accepted.all(axis=1), gamma, np.argmin(accepted, axis=1))
    return np.bincount(first_rejection, minlength=gamma + 1)


# ---- agreement with the closed form ------------------------------------------------------------------


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", ALPHAS)
def test_mean_matches_closed_form_within_four_standard_errors(alpha, gamma):
    rounds = 200_000
    result = mc.simulate_iid(alpha, gamma, rounds, seed=11, cost_ratio=0.1)
    standard_error = math.sqrt(cf.tokens_per_pass_variance(alpha, gamma) / rounds)
    assert result.rounds == rounds
    assert result.accepted_histogram.sum() == rounds
    assert result.tokens_per_round_closed_form == pytest.approx(cf.expected_tokens_per_pass(alpha, gamma))
    assert abs(result.tokens_per_round - result.tokens_per_round_closed_form) <= 4 * standard_error + 1e-12
    assert result.speedup_closed_form == pytest.approx(cf.walltime_speedup(alpha, gamma, 0.1))
    assert abs(result.speedup - result.speedup_closed_form) <= 4 * standard_error / (gamma * 0.1 + 1) + 1e-12
    # The reported standard error estimates the true one.
    if standard_error > 0:
        assert result.tokens_per_round_stderr == pytest.approx(standard_error, rel=0.15)
    else:
        assert result.tokens_per_round_stderr == 0.0


@pytest.mark.parametrize(
    ("alpha", "gamma", "bin_with_all"), [(0.0, 5, 0), (1.0, 5, 5), (0.7, 0, 0), (1.0, 64, 64)]
)
def test_deterministic_edges_are_exact(alpha, gamma, bin_with_all):
    result = mc.simulate_iid(alpha, gamma, 10_000, seed=3)
    expected = np.zeros(gamma + 1, dtype=np.int64)
    expected[bin_with_all] = 10_000
    np.testing.assert_array_equal(result.accepted_histogram, expected)
    assert result.tokens_per_round == bin_with_all + 1
    assert result.tokens_per_round_stderr == 0.0


@pytest.mark.parametrize(("alpha", "gamma"), [(0.8, 5), (0.4, 3), (0.97, 30)])
def test_histogram_follows_the_exact_pmf(alpha, gamma):
    result = mc.simulate_iid(alpha, gamma, 500_000, seed=5)
    statistic, df = chi_square_goodness(result.accepted_histogram, cf.tokens_per_pass_pmf(alpha, gamma))
    assert statistic < chi_square_critical(df)


def test_histogram_detects_a_wrong_alpha():
    """The goodness-of-fit check used above can fail: the same histogram rejects a nearby alpha."""
    result = mc.simulate_iid(0.8, 5, 500_000, seed=5)
    statistic, df = chi_square_goodness(result.accepted_histogram, cf.tokens_per_pass_pmf(0.79, 5))
    assert statistic > chi_square_critical(df)


@pytest.mark.parametrize(
    "acceptances", [[0.8] * 5, [0.79, 0.74, 0.72, 0.73, 0.67], [0.9, 0.0, 0.5], [1.0, 0.5]]
)
def test_same_distribution_as_one_coin_flip_per_position(acceptances):
    kernel = mc.simulate_depth(acceptances, 300_000, seed=8).accepted_histogram
    reference = coin_flip_reference(acceptances, 300_000, seed=9)
    statistic, df = chi_square_two_sample(kernel, reference)
    assert statistic < chi_square_critical(df)


def test_coin_flip_comparison_can_fail():
    kernel = mc.simulate_depth([0.8] * 5, 300_000, seed=8).accepted_histogram
    reference = coin_flip_reference([0.78] * 5, 300_000, seed=9)
    statistic, df = chi_square_two_sample(kernel, reference)
    assert statistic > chi_square_critical(df)


# ---- depth-dependent acceptance ----------------------------------------------------------------------


def test_depth_model_exact_value_and_simulation():
    eagle1 = [0.79, 0.74, 0.72, 0.73, 0.67]
    products = np.cumprod(eagle1)
    result = mc.simulate_depth(eagle1, 400_000, seed=2, cost_ratio=0.05)
    assert result.tokens_per_round_exact == pytest.approx(1 + products.sum())
    assert result.gamma == 5
    assert result.acceptances == tuple(eagle1)
    assert abs(result.tokens_per_round - result.tokens_per_round_exact) <= 4 * result.tokens_per_round_stderr
    assert result.speedup_exact == pytest.approx(result.tokens_per_round_exact / 1.25)
    assert result.speedup == pytest.approx(result.tokens_per_round / 1.25)


def test_constant_depth_acceptance_is_the_iid_model():
    assert mc.depth_expected_tokens([0.7] * 6) == pytest.approx(cf.expected_tokens_per_pass(0.7, 6))
    depth = mc.simulate_depth([0.7] * 6, 50_000, seed=4)
    iid = mc.simulate_iid(0.7, 6, 50_000, seed=4)
    np.testing.assert_array_equal(depth.accepted_histogram, iid.accepted_histogram)


def test_no_drafts_means_one_token_per_pass():
    result = mc.simulate_depth([], 1000)
    assert result.tokens_per_round == 1.0
    assert result.tokens_per_round_exact == 1.0
    assert list(result.accepted_histogram) == [1000]


# ---- reproducibility, threads, chunks ----------------------------------------------------------------


def test_same_seed_same_result_different_seed_different_result():
    a = mc.simulate_iid(0.8, 5, 100_000, seed=42)
    b = mc.simulate_iid(0.8, 5, 100_000, seed=42)
    c = mc.simulate_iid(0.8, 5, 100_000, seed=43)
    np.testing.assert_array_equal(a.accepted_histogram, b.accepted_histogram)
    assert not np.array_equal(a.accepted_histogram, c.accepted_histogram)


def test_four_threads_at_once_give_the_serial_results():
    settings = [(0.8, 5, seed) for seed in range(4)] + [(0.6, 12, seed) for seed in range(4)]
    serial = [mc.simulate_iid(a, g, 2_000_000, seed=s).accepted_histogram for a, g, s in settings]
    serial_counts = [mc.sample_accepted_counts(a, g, 200_000, s) for a, g, s in settings]
    results: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    barrier = threading.Barrier(4)

    def work(worker: int) -> None:
        barrier.wait()
        for index in range(worker, len(settings), 4):
            a, g, s = settings[index]
            results[index] = (
                mc.simulate_iid(a, g, 2_000_000, seed=s).accepted_histogram,
                mc.sample_accepted_counts(a, g, 200_000, s),
            )

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == list(range(len(settings)))
    for index in range(len(settings)):
        np.testing.assert_array_equal(results[index][0], serial[index])
        np.testing.assert_array_equal(results[index][1], serial_counts[index])


def test_chunks_continue_one_stream_and_end_at_the_single_call_result():
    parts = list(mc.simulate_iid_chunked(0.85, 7, 1_000_003, seed=9, cost_ratio=0.2, chunks=7))
    assert len(parts) == 7
    rounds = [p.rounds for p in parts]
    assert rounds == sorted(rounds) and rounds[-1] == 1_000_003
    whole = mc.simulate_iid(0.85, 7, 1_000_003, seed=9, cost_ratio=0.2)
    np.testing.assert_array_equal(parts[-1].accepted_histogram, whole.accepted_histogram)
    assert parts[-1].speedup == whole.speedup


def test_chunked_validates_before_running():
    with pytest.raises(ValueError, match="alpha"):
        mc.simulate_iid_chunked(2.0, 5, 100)
    with pytest.raises(ValueError, match="chunks"):
        mc.simulate_iid_chunked(0.5, 5, 100, chunks=0)


def test_merge_pools_independent_runs():
    a = mc.simulate_iid(0.8, 5, 100_000, seed=1, cost_ratio=0.05)
    b = mc.simulate_iid(0.8, 5, 50_000, seed=2, cost_ratio=0.05)
    merged = mc.merge_iid([a, b])
    assert merged.rounds == 150_000
    assert merged.parts == 2
    np.testing.assert_array_equal(merged.accepted_histogram, a.accepted_histogram + b.accepted_histogram)
    expected_mean = (a.tokens_per_round * a.rounds + b.tokens_per_round * b.rounds) / merged.rounds
    assert merged.tokens_per_round == pytest.approx(expected_mean)
    with pytest.raises(ValueError, match="same alpha"):
        mc.merge_iid([a, mc.simulate_iid(0.7, 5, 10, seed=3, cost_ratio=0.05)])
    with pytest.raises(ValueError):
        mc.merge_iid([])


def test_sample_accepted_counts_is_the_same_stream_as_the_histogram():
    counts = mc.sample_accepted_counts(0.75, 6, 300_001, seed=12)
    assert counts.dtype == np.int64
    assert counts.shape == (300_001,)
    assert counts.min() >= 0 and counts.max() <= 6
    histogram = mc.simulate_iid(0.75, 6, 300_001, seed=12).accepted_histogram
    np.testing.assert_array_equal(np.bincount(counts, minlength=7), histogram)
    # Rounds are independent: neighbouring counts are uncorrelated.
    correlation = np.corrcoef(counts[:-1], counts[1:])[0, 1]
    assert abs(correlation) < 4 / math.sqrt(counts.size)


# ---- results and validation --------------------------------------------------------------------------


def test_results_serialise_to_json():
    iid = json.loads(json.dumps(mc.simulate_iid(0.6, 4, 1000, seed=1, cost_ratio=0.1).to_dict()))
    assert (
        iid["gamma"] == 4 and len(iid["accepted_histogram"]) == 5 and sum(iid["accepted_histogram"]) == 1000
    )
    for key in ("tokens_per_round", "tokens_per_round_stderr", "tokens_per_round_closed_form", "speedup"):
        assert isinstance(iid[key], float)
    depth = json.loads(json.dumps(mc.simulate_depth([0.9, 0.8], 1000).to_dict()))
    assert depth["acceptances"] == [0.9, 0.8]


def test_results_are_read_only():
    result = mc.simulate_iid(0.5, 3, 100)
    with pytest.raises(ValueError):
        result.accepted_histogram[0] = 5


def test_thresholds_are_exact_at_the_ends():
    thresholds = mc.probability_thresholds(np.array([1.0, 0.5, 0.0]))
    assert thresholds.dtype == np.uint64
    assert list(thresholds) == [2**53, 2**52, 0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": -0.1}, "alpha"),
        ({"alpha": 1.01}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"gamma": -1}, "gamma"),
        ({"gamma": 2.5}, "gamma"),
        ({"gamma": 65}, "gamma"),
        ({"rounds": 0}, "rounds"),
        ({"rounds": mc.MAX_ROUNDS + 1}, "rounds"),
        ({"rounds": 10.5}, "rounds"),
        ({"rounds": True}, "rounds"),
        ({"rounds": "100"}, "rounds"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"cost_ratio": -0.5}, "cost ratio"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, message):
    arguments = {"alpha": 0.5, "gamma": 3, "rounds": 100, "seed": 0, "cost_ratio": 0.0} | kwargs
    with pytest.raises(ValueError, match=message):
        mc.simulate_iid(**arguments)


@pytest.mark.parametrize("acceptances", [[0.5, 1.2], [float("nan")], ["x"], [0.5] * 65, 5])
def test_bad_acceptances_raise(acceptances):
    with pytest.raises(ValueError, match="acceptance"):
        mc.simulate_depth(acceptances, 100)


def test_sample_accepted_counts_validates():
    with pytest.raises(ValueError, match="alpha"):
        mc.sample_accepted_counts(1.5, 3, 10, 0)
    with pytest.raises(ValueError, match="rounds"):
        mc.sample_accepted_counts(0.5, 3, 0, 0)


def test_warm_up_runs():
    mc.warm_up()


_REFERENCE_SCRIPT = """
import json, warnings
warnings.simplefilter("ignore")  # uint64 wrap-around warns in plain Python; it is the intended arithmetic
from core.simulation import montecarlo as mc, rejection as rj, tree
print(json.dumps({
    "iid": mc.simulate_iid(0.8, 5, 3000, seed=3).accepted_histogram.tolist(),
    "depth": mc.simulate_depth([0.9, 0.5, 0.7], 3000, seed=4).accepted_histogram.tolist(),
    "counts": mc.sample_accepted_counts(0.8, 5, 1500, 3).tolist(),
    "tree": tree.simulate_tree(tree.TreeSpec(3, 2, (0.5, 0.3)), 2000, seed=1).accepted_histogram.tolist(),
    "rejection": rj.run_rejection_sampling([0.5, 0.3, 0.2], [0.2, 0.3, 0.5], 2000, seed=2).output_counts.tolist(),
}))
"""


def test_compiled_kernels_equal_their_plain_python_execution():
    """With NUMBA_DISABLE_JIT=1 the kernels run as ordinary Python: the compiled results must be identical."""
    outputs = []
    for disable in ("0", "1"):
        env = os.environ | {"NUMBA_DISABLE_JIT": disable}
        result = subprocess.run(
            [sys.executable, "-c", _REFERENCE_SCRIPT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(json.loads(result.stdout))
    assert outputs[0] == outputs[1]
    assert sum(outputs[0]["iid"]) == 3000 and len(outputs[0]["counts"]) == 1500
