"""How fast is the Monte Carlo? The Numba kernel against honest baselines, measured in one run.

Four ways to get the same thing (a histogram of accepted drafts per round, i.i.d. acceptance):

* ``kernel``: :func:`core.simulation.montecarlo.simulate_iid` (Numba, one 53-bit uniform per round).
* ``numpy``: the fastest vectorised numpy version we know: one uniform per round from numpy's default
  Generator, in cache-sized chunks, counting for each threshold ``alpha ** j`` how many uniforms fall
  below it (that count is the number of rounds with at least ``j`` accepted drafts). A second variant,
  ``floor(log(u) / log(alpha))`` capped at gamma, wins for long drafts; the faster of the two is reported.
* ``python``: a plain Python loop, one ``random.random()`` per round.
* ``raw_rng``: numpy's default Generator filling a preallocated array with uniforms, the rate at which
  any method that needs one uniform per round could at best go.

Every rate is the best of several repeats, kernels compiled first, measured in the same process so the
ratios are meaningful on whatever machine runs it. Rates are rounds (or uniforms) per second.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.simulation import closed_form, montecarlo

__all__ = [
    "PerfReport",
    "numpy_iid_histogram",
    "numpy_iid_histogram_log",
    "python_iid_histogram",
    "measure",
]

_CHUNK = 1 << 17  # uniforms per numpy chunk (1 MiB of float64: stays in cache)


def _thresholds(alpha: float, gamma: int) -> np.ndarray:
    return alpha ** np.arange(1, gamma + 1, dtype=np.float64)


def numpy_iid_histogram(alpha: float, gamma: int, rounds: int, rng: np.random.Generator) -> np.ndarray:
    """Histogram of accepted drafts (length gamma + 1) with vectorised numpy: tail counts per threshold."""
    thresholds = _thresholds(alpha, gamma)
    at_least = np.zeros(gamma + 2, np.int64)
    at_least[0] = rounds
    uniforms = np.empty(min(_CHUNK, rounds))
    below = np.empty(uniforms.size, dtype=bool)
    done = 0
    while done < rounds:
        size = min(uniforms.size, rounds - done)
        u, hit = uniforms[:size], below[:size]
        rng.random(out=u)
        for j, threshold in enumerate(thresholds, start=1):
            np.less(u, threshold, out=hit)
            count = np.count_nonzero(hit)
            at_least[j] += count
            if count == 0:
                break
        done += size
    return at_least[:-1] - at_least[1:]


def numpy_iid_histogram_log(alpha: float, gamma: int, rounds: int, rng: np.random.Generator) -> np.ndarray:
    """Histogram of accepted drafts with vectorised numpy: ``k = min(floor(log u / log alpha), gamma)``."""
    if alpha <= 0.0 or alpha >= 1.0 or gamma == 0:
        histogram = np.zeros(gamma + 1, np.int64)
        histogram[gamma if alpha >= 1.0 else 0] = rounds
        return histogram
    log_alpha = math.log(alpha)
    histogram = np.zeros(gamma + 1, np.int64)
    uniforms = np.empty(min(_CHUNK, rounds))
    done = 0
    while done < rounds:
        size = min(uniforms.size, rounds - done)
        u = uniforms[:size]
        rng.random(out=u)
        with np.errstate(divide="ignore"):
            np.log(u, out=u)  # log(0) = -inf -> k capped at gamma, as u = 0 < alpha ** gamma
        u /= log_alpha
        np.minimum(u, gamma, out=u)
        histogram += np.bincount(u.astype(np.int64), minlength=gamma + 1)
        done += size
    return histogram


def python_iid_histogram(alpha: float, gamma: int, rounds: int, seed: int = 0) -> np.ndarray:
    """Histogram of accepted drafts with a plain Python loop (one uniform per round, early exit)."""
    draw = random.Random(seed).random
    thresholds = _thresholds(alpha, gamma).tolist()
    histogram = [0] * (gamma + 1)
    for _ in range(rounds):
        u = draw()
        k = 0
        for threshold in thresholds:
            if u < threshold:
                k += 1
            else:
                break
        histogram[k] += 1
    return np.asarray(histogram, dtype=np.int64)


@dataclass(frozen=True)
class PerfReport:
    """Measured rates (per second) and their ratios; ``numpy_method`` names the faster numpy variant."""

    alpha: float
    gamma: int
    rounds: int
    python_rounds: int
    repeats: int
    kernel_rounds_per_s: float
    numpy_rounds_per_s: float
    numpy_method: str
    python_rounds_per_s: float
    raw_rng_per_s: float
    kernel_over_raw: float
    kernel_over_numpy: float
    kernel_over_python: float
    tokens_per_round: dict

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _best_rate(work: Callable[[], object], count: int, repeats: int) -> tuple[float, object]:
    best = math.inf
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return count / max(best, 1e-9), result


def _mean_tokens(histogram: np.ndarray) -> float:
    return float((np.asarray(histogram) * np.arange(1, len(histogram) + 1)).sum() / np.sum(histogram))


def measure(
    rounds: int = 20_000_000,
    alpha: float = 0.8,
    gamma: int = 5,
    repeats: int = 5,
    python_rounds: int | None = None,
) -> PerfReport:
    """Time the kernel, the numpy versions, pure Python and the raw uniform rate; best of ``repeats``.

    ``python_rounds`` defaults to ``rounds / 100`` (at least 1000, at most 500 000). Also reports each
    method's mean tokens per round next to the closed form, as a check that all compute the same thing.
    """
    alpha, gamma, rounds, repeats, python_rounds = _checked_settings(
        alpha, gamma, rounds, repeats, python_rounds
    )
    montecarlo.warm_up()
    kernel_rate, kernel_result = _best_rate(
        lambda: montecarlo.simulate_iid(alpha, gamma, rounds, seed=1), rounds, repeats
    )
    tail_rate, tail_hist = _best_rate(
        lambda: numpy_iid_histogram(alpha, gamma, rounds, np.random.default_rng(1)), rounds, repeats
    )
    log_rate, log_hist = _best_rate(
        lambda: numpy_iid_histogram_log(alpha, gamma, rounds, np.random.default_rng(1)), rounds, repeats
    )
    python_rate, python_hist = _best_rate(
        lambda: python_iid_histogram(alpha, gamma, python_rounds, seed=1), python_rounds, repeats
    )
    raw_rate = _raw_uniform_rate(rounds, repeats)
    numpy_rate, numpy_method = (tail_rate, "tail counts") if tail_rate >= log_rate else (log_rate, "log")
    return PerfReport(
        alpha=alpha,
        gamma=gamma,
        rounds=rounds,
        python_rounds=python_rounds,
        repeats=repeats,
        kernel_rounds_per_s=kernel_rate,
        numpy_rounds_per_s=numpy_rate,
        numpy_method=numpy_method,
        python_rounds_per_s=python_rate,
        raw_rng_per_s=raw_rate,
        kernel_over_raw=kernel_rate / raw_rate,
        kernel_over_numpy=kernel_rate / numpy_rate,
        kernel_over_python=kernel_rate / python_rate,
        tokens_per_round={
            "closed_form": float(closed_form.expected_tokens_per_pass(alpha, gamma)),
            "kernel": kernel_result.tokens_per_round,
            "numpy_tail_counts": _mean_tokens(tail_hist),
            "numpy_log": _mean_tokens(log_hist),
            "python": _mean_tokens(python_hist),
        },
    )


def _checked_settings(alpha, gamma, rounds, repeats, python_rounds) -> tuple[float, int, int, int, int]:
    """:func:`measure`'s arguments validated (clear ``ValueError``), with the default Python rounds."""
    alpha = closed_form.validate_alpha(alpha)
    gamma = closed_form.validate_gamma(gamma, maximum=montecarlo.MAX_DEPTH)
    rounds = montecarlo.validate_rounds(rounds)
    if isinstance(repeats, bool) or int(repeats) != repeats or not 1 <= int(repeats) <= 100:
        raise ValueError(f"repeats must be a whole number between 1 and 100, got {repeats!r}")
    if python_rounds is None:
        python_rounds = min(max(rounds // 100, 1000), 500_000)
    return alpha, gamma, rounds, int(repeats), montecarlo.validate_rounds(python_rounds)


def _raw_uniform_rate(rounds: int, repeats: int) -> float:
    """Uniform numbers per second from numpy's Generator into a preallocated buffer (the ceiling)."""
    buffer = np.empty(rounds)
    generator = np.random.default_rng(1)
    rate, _ = _best_rate(lambda: generator.random(out=buffer), rounds, repeats)
    return rate
