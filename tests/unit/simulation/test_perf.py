"""The performance report: structure and the baselines' correctness (never timings)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.simulation import closed_form as cf
from core.simulation import perf
from tests.unit.simulation.test_montecarlo import chi_square_critical, chi_square_goodness

RATES = ("kernel_rounds_per_s", "numpy_rounds_per_s", "python_rounds_per_s", "raw_rng_per_s")
RATIOS = ("kernel_over_raw", "kernel_over_numpy", "kernel_over_python")


def test_measure_with_tiny_sizes_reports_every_rate():
    report = perf.measure(rounds=20_000, repeats=2, python_rounds=2_000)
    data = json.loads(json.dumps(report.to_dict()))
    for key in RATES + RATIOS:
        assert data[key] > 0, key
    assert data["kernel_over_numpy"] == pytest.approx(
        data["kernel_rounds_per_s"] / data["numpy_rounds_per_s"]
    )
    assert data["numpy_method"] in ("tail counts", "log")
    assert data["rounds"] == 20_000 and data["python_rounds"] == 2_000


@pytest.mark.parametrize(
    "method",
    [
        lambda a, g, n: perf.numpy_iid_histogram(a, g, n, np.random.default_rng(1)),
        lambda a, g, n: perf.numpy_iid_histogram_log(a, g, n, np.random.default_rng(1)),
        lambda a, g, n: perf.python_iid_histogram(a, g, n, seed=1),
    ],
    ids=["numpy-tail", "numpy-log", "python"],
)
@pytest.mark.parametrize(("alpha", "gamma"), [(0.8, 5), (0.3, 2), (0.95, 20), (0.0, 3), (1.0, 3), (0.6, 0)])
def test_baselines_compute_the_same_distribution(method, alpha, gamma):
    rounds = 60_000
    histogram = method(alpha, gamma, rounds)
    assert histogram.shape == (gamma + 1,)
    assert histogram.sum() == rounds
    statistic, df = chi_square_goodness(histogram, cf.tokens_per_pass_pmf(alpha, gamma))
    assert statistic < chi_square_critical(df)


def test_numpy_baseline_works_across_chunks():
    rounds = perf._CHUNK * 2 + 17
    histogram = perf.numpy_iid_histogram(0.7, 4, rounds, np.random.default_rng(3))
    assert histogram.sum() == rounds


@pytest.mark.parametrize(
    "kwargs", [{"rounds": 0}, {"alpha": 2.0}, {"gamma": -1}, {"repeats": 0}, {"python_rounds": 0}]
)
def test_measure_validates(kwargs):
    with pytest.raises(ValueError):
        perf.measure(**({"rounds": 1000, "repeats": 1} | kwargs))
