"""Closed forms for speculative decoding with i.i.d. acceptance (Leviathan et al. 2023, section 3).

Symbols used throughout the lab:

* ``alpha`` (float in [0, 1]): probability that one draft token is accepted, independent of the others.
* ``gamma`` (int >= 0): speculation length, the number of draft tokens proposed per verify pass.
* ``cost_ratio`` (float >= 0): time of one draft forward divided by time of one target forward.

``N`` is the number of tokens produced by one target verify pass: the accepted drafts plus the one token
the target always adds (the correction after a rejection, or the bonus token when every draft is
accepted). ``N`` is a geometric variable capped at ``gamma + 1``: ``P(N >= j) = alpha ** (j - 1)``.

Every function accepts scalars or numpy arrays (broadcast together) and handles the edge cases
``alpha = 0``, ``alpha = 1`` and ``gamma = 0`` exactly, without division by zero or NaN.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "expected_tokens_per_pass",
    "tokens_per_pass_variance",
    "tokens_per_pass_pmf",
    "walltime_speedup",
    "speedup_lower_bound",
    "extra_compute_factor",
    "optimal_gamma",
    "alpha_from_accept_length",
    "validate_alpha",
    "validate_gamma",
    "validate_cost_ratio",
]


def validate_alpha(alpha: float) -> float:
    """Return ``alpha`` as a float, or raise ``ValueError`` when it is not a probability in [0, 1]."""
    value = float(alpha)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"alpha must be a probability between 0 and 1, got {alpha!r}")
    return value


def validate_gamma(gamma: int, maximum: int = 64) -> int:
    """Return ``gamma`` as an int, or raise ``ValueError`` unless ``0 <= gamma <= maximum``."""
    if isinstance(gamma, bool) or float(gamma) != int(gamma):
        raise ValueError(f"gamma must be a whole number of draft tokens, got {gamma!r}")
    value = int(gamma)
    if not 0 <= value <= maximum:
        raise ValueError(f"gamma must be between 0 and {maximum} draft tokens, got {gamma!r}")
    return value


def validate_cost_ratio(cost_ratio: float, maximum: float = 10.0) -> float:
    """Return ``cost_ratio`` as a float, or raise ``ValueError`` unless ``0 <= cost_ratio <= maximum``."""
    value = float(cost_ratio)
    if not 0.0 <= value <= maximum:
        raise ValueError(
            f"cost ratio (draft time / target time) must be between 0 and {maximum}, got {cost_ratio!r}"
        )
    return value


def _geometric_sum(alpha, count):
    """sum_{j=0}^{count-1} alpha**j, exact at alpha = 0 and alpha = 1, stable near 1."""
    alpha = np.asarray(alpha, dtype=float)
    count = np.asarray(count, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_alpha = np.log(alpha)
        # 1 - alpha**count and 1 - alpha computed without cancellation via expm1.
        numerator = -np.expm1(count * log_alpha)
        denominator = -np.expm1(log_alpha)
        ratio = numerator / denominator
    return np.where(alpha >= 1.0, count, np.where(alpha <= 0.0, np.minimum(count, 1.0), ratio))


def _as_output(value):
    array = np.asarray(value, dtype=float)
    return float(array) if array.ndim == 0 else array


def expected_tokens_per_pass(alpha, gamma):
    """Expected tokens per target verify pass, E[N] = (1 - alpha^(gamma+1)) / (1 - alpha).

    Units: tokens per pass. Equals ``gamma + 1`` at ``alpha = 1`` and ``1`` at ``alpha = 0``.
    """
    return _as_output(_geometric_sum(alpha, np.asarray(gamma) + 1))


def tokens_per_pass_pmf(alpha: float, gamma: int) -> np.ndarray:
    """Exact probabilities P(N = n) for n = 1 .. gamma + 1, as an array of length ``gamma + 1``.

    ``P(N = n) = alpha^(n-1) (1 - alpha)`` for ``n <= gamma`` and ``P(N = gamma + 1) = alpha^gamma``.
    Entry ``i`` is the probability that exactly ``i`` drafts were accepted.
    """
    alpha = validate_alpha(alpha)
    gamma = validate_gamma(gamma)
    powers = alpha ** np.arange(gamma + 1, dtype=float)
    pmf = powers * (1.0 - alpha)
    pmf[-1] = powers[-1]
    return pmf


def tokens_per_pass_variance(alpha, gamma):
    """Variance of N (tokens per verify pass), in tokens squared.

    Uses E[N^2] = sum_{j=1}^{gamma+1} (2j - 1) alpha^(j-1); the Monte Carlo standard error of a mean over
    ``R`` rounds is ``sqrt(variance / R)``.
    """
    alpha_arr, gamma_arr = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(gamma, int))
    max_gamma = int(gamma_arr.max()) if gamma_arr.size else 0
    j = np.arange(1, max_gamma + 2, dtype=float)
    shape = alpha_arr.shape + (1,)
    powers = np.power(alpha_arr.reshape(shape), j - 1)  # 0**0 == 1 in numpy, as needed
    mask = j <= (gamma_arr.reshape(shape) + 1)
    second_moment = np.sum(np.where(mask, (2 * j - 1) * powers, 0.0), axis=-1)
    first_moment = np.sum(np.where(mask, powers, 0.0), axis=-1)
    variance = np.maximum(second_moment - first_moment**2, 0.0)
    return _as_output(variance)


def walltime_speedup(alpha, gamma, cost_ratio):
    """Expected walltime speedup over plain decoding (Leviathan Theorem 3.8), a dimensionless ratio.

    speedup = E[N] / (gamma * cost_ratio + 1): each verify pass costs one target forward plus ``gamma``
    draft forwards and yields E[N] tokens, where plain decoding yields one token per target forward.
    Assumes a verify pass over gamma + 1 tokens costs the same as one decoding step (batch 1, memory
    bound); the cost model in :mod:`core.simulation.cost_model` drops that assumption.
    """
    gamma_arr = np.asarray(gamma, dtype=float)
    return _as_output(
        _geometric_sum(alpha, gamma_arr + 1) / (gamma_arr * np.asarray(cost_ratio, float) + 1.0)
    )


def speedup_lower_bound(alpha: float, cost_ratio: float) -> float | None:
    """Leviathan's guarantee: if alpha > cost_ratio, some gamma gives at least (1 + alpha) / (1 + c).

    Returns ``None`` when ``alpha <= cost_ratio`` (no guarantee).
    """
    alpha = validate_alpha(alpha)
    cost_ratio = validate_cost_ratio(cost_ratio)
    if alpha <= cost_ratio:
        return None
    return (1.0 + alpha) / (1.0 + cost_ratio)


def extra_compute_factor(alpha, gamma, flops_ratio):
    """Expected arithmetic relative to plain decoding (Leviathan Theorem 3.11), a dimensionless ratio.

    (gamma * flops_ratio + gamma + 1) / E[N], where ``flops_ratio`` is draft FLOPs / target FLOPs per token.
    Speculation trades this extra compute for fewer sequential target passes.
    """
    gamma_arr = np.asarray(gamma, dtype=float)
    work = gamma_arr * np.asarray(flops_ratio, float) + gamma_arr + 1.0
    return _as_output(work / _geometric_sum(alpha, gamma_arr + 1))


def optimal_gamma(alpha: float, cost_ratio: float, max_gamma: int = 32) -> tuple[int, float]:
    """Integer gamma in [0, max_gamma] with the highest walltime speedup, and that speedup.

    There is no closed form for the optimum, so integers are searched. gamma = 0 means no speculation
    (speedup exactly 1); ties go to the smaller gamma, which wastes less draft work.
    """
    alpha = validate_alpha(alpha)
    cost_ratio = validate_cost_ratio(cost_ratio)
    max_gamma = validate_gamma(max_gamma)
    gammas = np.arange(max_gamma + 1)
    speedups = np.asarray(walltime_speedup(alpha, gammas, cost_ratio))
    best = int(np.argmax(speedups >= speedups.max() - 1e-12))
    return best, float(speedups[best])


def alpha_from_accept_length(accept_length: float, gamma: int) -> float:
    """The i.i.d. acceptance rate alpha whose E[N] for this gamma equals ``accept_length``.

    ``accept_length`` is tokens per verify pass including the bonus token (SGLang's
    ``spec_accept_length``), so it must lie in [1, gamma + 1]. Useful to turn a measured or published
    accept length into a simulator setting; real acceptance decays with depth, so this is a summary.
    """
    gamma = validate_gamma(gamma)
    target = float(accept_length)
    if not 1.0 <= target <= gamma + 1:  # also rejects NaN
        raise ValueError(
            f"accept length must lie between 1 and gamma + 1 = {gamma + 1}, got {accept_length!r}"
        )
    if gamma == 0 or target == 1.0:
        return 0.0
    if target == gamma + 1:
        return 1.0
    low, high = 0.0, 1.0
    for _ in range(80):  # E[N] increases with alpha: bisection to double precision
        middle = 0.5 * (low + high)
        if expected_tokens_per_pass(middle, gamma) < target:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)
