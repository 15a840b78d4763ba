"""Monte Carlo of speculative decoding's verify passes, compiled with Numba.

One *round* is one target verify pass: the draft proposes ``gamma`` tokens, the target accepts the first
``k`` of them (``0 <= k <= gamma``) and adds one token of its own, so the round yields ``N = k + 1``
tokens. Two acceptance models:

* i.i.d. (:func:`simulate_iid`): each draft is accepted with probability ``alpha`` independently, the
  model of Leviathan et al. (2023) whose closed forms live in :mod:`core.simulation.closed_form`.
* depth-dependent (:func:`simulate_depth`): draft ``i`` is accepted with probability ``a_i`` given that
  every earlier draft was accepted (acceptance decays with depth in real drafters, e.g. EAGLE-1's
  0.79, 0.74, 0.72, 0.73, 0.67).

How a round is drawn: in both models ``P(k >= j) = t_j`` with ``t_j = a_1 * ... * a_j`` (``alpha ** j`` in
the i.i.d. case), a non-increasing sequence. One uniform ``u`` per round and ``k = #{j : u < t_j}`` give
exactly that distribution, so a round costs one random number and a few comparisons instead of ``k + 1``
coin flips. The tests check this against a plain coin-flip-per-position simulation.

Random numbers: SplitMix64 (Steele, Lea & Flood 2014; the generator behind Java's SplittableRandom and
the usual seeder of xoshiro), a 64-bit counter hashed by a bijective mixer. Its whole state is one
integer that each call derives from its ``seed`` and keeps in local variables, so there is no shared or
per-thread generator state: the same seed gives the same result from any thread, and every kernel is
``nogil``. Uniforms have 53 random bits; ``u < t`` is decided exactly in integers, so an event of
probability ``t`` is simulated with probability within ``2**-53`` of ``t``.

Speed (see ``speclab perf``): the i.i.d. kernel works in blocks of 1024 rounds, generating uniforms in a
loop the compiler vectorises and counting the ``u < t_j`` events per threshold, which gives the histogram
of ``k`` without a per-round branch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

from core.simulation import closed_form

__all__ = [
    "MAX_ROUNDS",
    "MAX_DEPTH",
    "IidResult",
    "DepthResult",
    "simulate_iid",
    "simulate_iid_chunked",
    "merge_iid",
    "simulate_depth",
    "depth_expected_tokens",
    "sample_accepted_counts",
    "validate_rounds",
    "validate_seed",
    "seed_state",
    "probability_thresholds",
    "warm_up",
]

MAX_ROUNDS = 50_000_000  # per call: about 0.1 s of kernel time, a standard error of ~1e-4 tokens
MAX_DEPTH = 64  # longest draft (gamma, or number of per-position acceptances)

_BLOCK = 1024  # rounds per block in the i.i.d. kernel (fits in L1 cache)
_TWO_POW_53 = 9007199254740992.0
_MASK64 = (1 << 64) - 1

# SplitMix64 constants (golden-ratio increment and the two mixer multipliers).
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


# --------------------------------------------------------------------------------------------------------
# Random numbers shared by the kernels of core.simulation.montecarlo, core.simulation.tree and core.simulation.rejection.
# NOTE: Numba's on-disk cache tracks only the file a kernel is defined in; after changing these helpers,
# delete the __pycache__/*.nbi|*.nbc files of the modules that import them.
# --------------------------------------------------------------------------------------------------------


def _mix64_py(value: int) -> int:
    z = value & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _whole_number(value, what: str) -> int:
    """``value`` as an int when it is a whole number (int, numpy integer or integral float), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    if isinstance(value, float | np.floating) and (not math.isfinite(value) or value != int(value)):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    return int(value)


def validate_seed(seed: int) -> int:
    """Return ``seed`` as an int, or raise ``ValueError`` unless it is a whole number in [0, 2**63)."""
    value = _whole_number(seed, "seed")
    if not 0 <= value < 2**63:
        raise ValueError(f"seed must be between 0 and 2**63 - 1, got {seed!r}")
    return value


def seed_state(seed: int, stream: int = 0) -> np.uint64:
    """Initial SplitMix64 state for ``seed`` (and an optional sub-stream number), as ``np.uint64``.

    The seed is hashed, so nearby seeds start at unrelated points of the generator's 2**64 cycle.
    """
    seed = validate_seed(seed)
    return np.uint64(_mix64_py(_mix64_py(seed) ^ _mix64_py(int(stream) + 0x5EED)))


@njit(cache=True, nogil=True, inline="always")
def _mix64(z):
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True, inline="always")
def _next_u53(state):
    """Advance the generator: returns (new state, 53 random bits as uint64)."""
    state = state + _GOLDEN
    return state, _mix64(state) >> np.uint64(11)


@njit(cache=True, nogil=True, inline="always")
def _next_uniform(state):
    """Advance the generator: returns (new state, a float64 uniform in [0, 1) with 53 random bits)."""
    state, bits = _next_u53(state)
    return state, bits * (1.0 / 9007199254740992.0)


def probability_thresholds(probabilities: np.ndarray) -> np.ndarray:
    """Integer thresholds ``T = ceil(t * 2**53)`` (uint64) such that ``u53 < T`` iff ``u53 / 2**53 < t``.

    ``probabilities`` must lie in [0, 1]; ``t = 1`` gives ``2**53`` (always true), ``t = 0`` gives 0.
    """
    values = np.asarray(probabilities, dtype=np.float64)
    return np.ceil(np.clip(values, 0.0, 1.0) * _TWO_POW_53).astype(np.uint64)


# --------------------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _tail_counts_kernel(thresholds, rounds, state):
    """Count, for each j, the rounds whose uniform falls below thresholds[j].

    Returns (tail, state): ``tail[j]`` = rounds with ``k >= j + 1`` (thresholds non-increasing).
    """
    gamma = thresholds.shape[0]
    tail = np.zeros(gamma, np.int64)
    bits = np.empty(_BLOCK, np.uint64)
    done = 0
    while done < rounds:
        size = min(_BLOCK, rounds - done)
        for i in range(size):  # counter-based: no dependency between iterations, so it vectorises
            bits[i] = _mix64(state + _GOLDEN * np.uint64(i + 1)) >> np.uint64(11)
        state = state + _GOLDEN * np.uint64(size)
        for j in range(gamma):
            threshold = thresholds[j]
            below = 0
            for i in range(size):
                below += bits[i] < threshold
            tail[j] += below
            if below == 0:  # thresholds only decrease: no later one can be hit in this block
                break
        done += size
    return tail, state


@njit(cache=True, nogil=True)
def _accepted_counts_kernel(thresholds, count, state):
    """Per-round accepted counts (int64 array of length ``count``), same stream as the tail kernel."""
    gamma = thresholds.shape[0]
    out = np.zeros(count, np.int64)
    bits = np.empty(_BLOCK, np.uint64)
    done = 0
    while done < count:
        size = min(_BLOCK, count - done)
        for i in range(size):
            bits[i] = _mix64(state + _GOLDEN * np.uint64(i + 1)) >> np.uint64(11)
        state = state + _GOLDEN * np.uint64(size)
        for j in range(gamma):
            threshold = thresholds[j]
            for i in range(size):
                out[done + i] += bits[i] < threshold
        done += size
    return out, state


def _histogram_from_tail(tail: np.ndarray, rounds: int) -> np.ndarray:
    """Histogram of k (length gamma + 1) from tail counts ``tail[j] = #(k >= j + 1)``."""
    at_least = np.concatenate(([rounds], tail, [0])).astype(np.int64)
    return at_least[:-1] - at_least[1:]


def _run_thresholds(thresholds: np.ndarray, rounds: int, state: np.uint64) -> tuple[np.ndarray, np.uint64]:
    tail, new_state = _tail_counts_kernel(thresholds, np.int64(rounds), np.uint64(state))
    return _histogram_from_tail(tail, rounds), np.uint64(new_state)


# --------------------------------------------------------------------------------------------------------
# Validation and statistics
# --------------------------------------------------------------------------------------------------------


def validate_rounds(rounds: int, maximum: int = MAX_ROUNDS) -> int:
    """Return ``rounds`` as an int, or raise ``ValueError`` unless it is a whole number in [1, maximum]."""
    value = _whole_number(rounds, "rounds")
    if not 1 <= value <= maximum:
        raise ValueError(f"rounds must be between 1 and {maximum:,}, got {rounds!r}")
    return value


def _validate_acceptances(acceptances: Sequence[float]) -> tuple[float, ...]:
    try:
        values = tuple(float(a) for a in acceptances)
    except (TypeError, ValueError):
        raise ValueError(f"acceptances must be a list of probabilities, got {acceptances!r}") from None
    if len(values) > MAX_DEPTH:
        raise ValueError(f"at most {MAX_DEPTH} per-position acceptances are supported, got {len(values)}")
    for position, value in enumerate(values, start=1):
        if not 0.0 <= value <= 1.0:  # also rejects NaN
            raise ValueError(
                f"acceptance at position {position} must be a probability between 0 and 1, got {value!r}"
            )
    return values


def _moments(histogram: np.ndarray) -> tuple[int, float, float]:
    """(rounds, mean of N, standard error of that mean) from a histogram of accepted counts k (N = k + 1)."""
    rounds = int(histogram.sum())
    tokens = np.arange(1, histogram.size + 1, dtype=np.float64)
    counts = histogram.astype(np.float64)
    mean = float(counts @ tokens) / rounds
    if rounds < 2:
        return rounds, mean, 0.0
    # Sum of squared deviations computed around the mean (no cancellation).
    squared = float(counts @ (tokens - mean) ** 2)
    stderr = math.sqrt(squared / (rounds - 1) / rounds)
    return rounds, mean, stderr


def depth_expected_tokens(acceptances: Sequence[float]) -> float:
    """Exact E[N] for depth-dependent acceptance: ``1 + sum_k prod_{i<=k} a_i`` (tokens per verify pass)."""
    values = _validate_acceptances(acceptances)
    return float(1.0 + np.cumprod(np.asarray(values, dtype=np.float64)).sum()) if values else 1.0


# --------------------------------------------------------------------------------------------------------
# i.i.d. acceptance
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IidResult:
    """Simulated verify passes with i.i.d. acceptance, next to the closed form for the same settings.

    Units: ``tokens_per_round`` is tokens per target verify pass (N, including the target's own token);
    speedups are dimensionless ratios against plain decoding, assuming a verify pass costs one target
    forward and a draft forward costs ``cost_ratio`` of it. ``accepted_histogram[k]`` counts rounds with
    exactly ``k`` accepted drafts. ``parts`` is how many independent runs were merged (seed is the first's).
    """

    alpha: float
    gamma: int
    rounds: int
    cost_ratio: float
    seed: int
    tokens_per_round: float
    tokens_per_round_stderr: float
    accepted_histogram: np.ndarray
    speedup: float
    speedup_stderr: float
    tokens_per_round_closed_form: float
    speedup_closed_form: float
    parts: int = 1

    @classmethod
    def from_histogram(
        cls, alpha: float, gamma: int, cost_ratio: float, seed: int, histogram: np.ndarray, parts: int = 1
    ) -> IidResult:
        """Build a result (statistics and closed forms) from a histogram of accepted drafts per round."""
        histogram = np.asarray(histogram, dtype=np.int64).copy()
        histogram.setflags(write=False)
        rounds, mean, stderr = _moments(histogram)
        cost = gamma * cost_ratio + 1.0
        return cls(
            alpha=alpha,
            gamma=gamma,
            rounds=rounds,
            cost_ratio=cost_ratio,
            seed=seed,
            tokens_per_round=mean,
            tokens_per_round_stderr=stderr,
            accepted_histogram=histogram,
            speedup=mean / cost,
            speedup_stderr=stderr / cost,
            tokens_per_round_closed_form=float(closed_form.expected_tokens_per_pass(alpha, gamma)),
            speedup_closed_form=float(closed_form.walltime_speedup(alpha, gamma, cost_ratio)),
            parts=parts,
        )

    def to_dict(self) -> dict:
        """Plain JSON-serialisable dict (the histogram as a list of ints)."""
        return {
            "alpha": self.alpha,
            "gamma": self.gamma,
            "rounds": self.rounds,
            "cost_ratio": self.cost_ratio,
            "seed": self.seed,
            "tokens_per_round": self.tokens_per_round,
            "tokens_per_round_stderr": self.tokens_per_round_stderr,
            "tokens_per_round_closed_form": self.tokens_per_round_closed_form,
            "speedup": self.speedup,
            "speedup_stderr": self.speedup_stderr,
            "speedup_closed_form": self.speedup_closed_form,
            "accepted_histogram": [int(c) for c in self.accepted_histogram],
            "parts": self.parts,
        }


def _validate_iid(alpha, gamma, cost_ratio, seed):
    return (
        closed_form.validate_alpha(alpha),
        closed_form.validate_gamma(gamma, maximum=MAX_DEPTH),
        closed_form.validate_cost_ratio(cost_ratio),
        validate_seed(seed),
    )


def simulate_iid(alpha: float, gamma: int, rounds: int, seed: int = 0, cost_ratio: float = 0.0) -> IidResult:
    """Simulate ``rounds`` verify passes with i.i.d. acceptance ``alpha`` and ``gamma`` drafts per pass.

    Raises ``ValueError`` for alpha outside [0, 1], gamma outside [0, 64], cost ratio outside [0, 10],
    rounds outside [1, MAX_ROUNDS] or a negative seed. Same arguments, same result, from any thread.
    """
    alpha, gamma, cost_ratio, seed = _validate_iid(alpha, gamma, cost_ratio, seed)
    rounds = validate_rounds(rounds)
    thresholds = probability_thresholds(alpha ** np.arange(1, gamma + 1, dtype=np.float64))
    histogram, _ = _run_thresholds(thresholds, rounds, seed_state(seed))
    return IidResult.from_histogram(alpha, gamma, cost_ratio, seed, histogram)


def simulate_iid_chunked(
    alpha: float, gamma: int, rounds: int, seed: int = 0, cost_ratio: float = 0.0, chunks: int = 10
) -> Iterator[IidResult]:
    """Run :func:`simulate_iid` in ``chunks`` pieces, yielding the cumulative result after each piece.

    For progress bars: the generator continues from piece to piece, so the last result yielded is
    identical to ``simulate_iid(alpha, gamma, rounds, seed, cost_ratio)``. Arguments are validated before
    the first piece runs.
    """
    alpha, gamma, cost_ratio, seed = _validate_iid(alpha, gamma, cost_ratio, seed)
    rounds = validate_rounds(rounds)
    if isinstance(chunks, bool) or int(chunks) != chunks or not 1 <= int(chunks) <= 10_000:
        raise ValueError(f"chunks must be a whole number between 1 and 10000, got {chunks!r}")
    chunks = min(int(chunks), rounds)
    return _iid_chunks(alpha, gamma, rounds, seed, cost_ratio, chunks)


def _iid_chunks(alpha, gamma, rounds, seed, cost_ratio, chunks):
    thresholds = probability_thresholds(alpha ** np.arange(1, gamma + 1, dtype=np.float64))
    state = seed_state(seed)
    total = np.zeros(gamma + 1, np.int64)
    sizes = [rounds // chunks + (1 if i < rounds % chunks else 0) for i in range(chunks)]
    for size in sizes:
        histogram, state = _run_thresholds(thresholds, size, state)
        total += histogram
        yield IidResult.from_histogram(alpha, gamma, cost_ratio, seed, total)


def merge_iid(results: Sequence[IidResult]) -> IidResult:
    """Pool independent runs (e.g. different seeds) of the same settings into one result.

    Raises ``ValueError`` when the runs differ in alpha, gamma or cost ratio. The merged ``seed`` is the
    first run's; ``parts`` counts the runs. Runs with the same seed are not independent: do not merge them.
    """
    results = list(results)
    if not results:
        raise ValueError("nothing to merge: give at least one result")
    first = results[0]
    for other in results[1:]:
        if (other.alpha, other.gamma, other.cost_ratio) != (first.alpha, first.gamma, first.cost_ratio):
            raise ValueError("can only merge runs with the same alpha, gamma and cost ratio")
    total = np.sum([r.accepted_histogram for r in results], axis=0)
    parts = sum(r.parts for r in results)
    return IidResult.from_histogram(first.alpha, first.gamma, first.cost_ratio, first.seed, total, parts)


def sample_accepted_counts(alpha: float, gamma: int, n: int, seed: int) -> np.ndarray:
    """Accepted drafts in each of ``n`` independent rounds (int64 array, values in 0..gamma).

    For other simulators (practice server, adaptive controller). Uses the same random stream as
    :func:`simulate_iid`, so ``np.bincount(counts, minlength=gamma + 1)`` equals its histogram.
    """
    alpha = closed_form.validate_alpha(alpha)
    gamma = closed_form.validate_gamma(gamma, maximum=MAX_DEPTH)
    seed = validate_seed(seed)
    n = validate_rounds(n)
    thresholds = probability_thresholds(alpha ** np.arange(1, gamma + 1, dtype=np.float64))
    counts, _ = _accepted_counts_kernel(thresholds, np.int64(n), seed_state(seed))
    return counts


# --------------------------------------------------------------------------------------------------------
# Depth-dependent acceptance
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DepthResult:
    """Simulated verify passes where draft ``i`` is accepted with ``acceptances[i]`` given all earlier ones.

    ``gamma`` is ``len(acceptances)``. Units as in :class:`IidResult`; ``tokens_per_round_exact`` is
    ``1 + sum_k prod_{i<=k} a_i`` and ``speedup_exact`` divides it by ``gamma * cost_ratio + 1``.
    """

    acceptances: tuple[float, ...]
    gamma: int
    rounds: int
    cost_ratio: float
    seed: int
    tokens_per_round: float
    tokens_per_round_stderr: float
    accepted_histogram: np.ndarray
    speedup: float
    speedup_stderr: float
    tokens_per_round_exact: float
    speedup_exact: float

    def to_dict(self) -> dict:
        """Plain JSON-serialisable dict (the histogram as a list of ints)."""
        return {
            "acceptances": list(self.acceptances),
            "gamma": self.gamma,
            "rounds": self.rounds,
            "cost_ratio": self.cost_ratio,
            "seed": self.seed,
            "tokens_per_round": self.tokens_per_round,
            "tokens_per_round_stderr": self.tokens_per_round_stderr,
            "tokens_per_round_exact": self.tokens_per_round_exact,
            "speedup": self.speedup,
            "speedup_stderr": self.speedup_stderr,
            "speedup_exact": self.speedup_exact,
            "accepted_histogram": [int(c) for c in self.accepted_histogram],
        }


def simulate_depth(
    acceptances: Sequence[float], rounds: int, seed: int = 0, cost_ratio: float = 0.0
) -> DepthResult:
    """Simulate verify passes whose acceptance depends on the draft position.

    ``acceptances[i]`` (in [0, 1]) is the probability that draft ``i + 1`` is accepted given that every
    earlier draft was; at most 64 positions (an empty list means no speculation, 1 token per pass).
    """
    values = _validate_acceptances(acceptances)
    cost_ratio = closed_form.validate_cost_ratio(cost_ratio)
    seed = validate_seed(seed)
    rounds = validate_rounds(rounds)
    gamma = len(values)
    survival = np.cumprod(np.asarray(values, dtype=np.float64)) if values else np.zeros(0)
    histogram, _ = _run_thresholds(probability_thresholds(survival), rounds, seed_state(seed))
    histogram.setflags(write=False)
    _, mean, stderr = _moments(histogram)
    exact = depth_expected_tokens(values)
    cost = gamma * cost_ratio + 1.0
    return DepthResult(
        acceptances=values,
        gamma=gamma,
        rounds=rounds,
        cost_ratio=cost_ratio,
        seed=seed,
        tokens_per_round=mean,
        tokens_per_round_stderr=stderr,
        accepted_histogram=histogram,
        speedup=mean / cost,
        speedup_stderr=stderr / cost,
        tokens_per_round_exact=exact,
        speedup_exact=exact / cost,
    )


def warm_up() -> None:
    """Compile (or load from Numba's cache) every kernel of this module on tiny inputs."""
    simulate_iid(0.5, 2, 10)
    simulate_depth([0.5], 10)
    sample_accepted_counts(0.5, 2, 10, 0)
