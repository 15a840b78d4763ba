"""The exact speculative sampling rule (Leviathan, Kalman & Matias 2023, Algorithm 1).

Symbols: ``p`` is the target model's next-token distribution, ``q`` the draft model's, both arrays over a
vocabulary of ``V`` tokens. The rule, for each drafted token ``x ~ q`` in order:

1. accept ``x`` with probability ``min(1, p(x) / q(x))``;
2. on the first rejection, replace ``x`` by a token sampled from the residual
   ``norm(max(0, p - q))`` and stop;
3. if every draft was accepted, add a bonus token sampled from the target's next distribution.

Every token that comes out is distributed exactly as ``p`` (the paper's Appendix A.1), whatever ``q`` is;
``q`` only decides how often drafts are accepted: ``P(accept) = sum_x min(p(x), q(x)) = 1 - TV(p, q)``.
Greedy decoding (temperature 0) is the special case of one-hot ``p`` and ``q``: accept iff the draft's
token is the target's argmax.

This module has the readable numpy version of one verify pass (:func:`verify_drafts`, for the step-by-step
lesson) and a Numba kernel running the rule at one position many times (:func:`run_rejection_sampling`,
to show empirically that the output follows ``p``). It also builds toy distributions: Zipf-like targets
(:func:`zipf_distribution`) and drafts derived from them (:func:`draft_from_target`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from core.simulation.montecarlo import _next_uniform, seed_state, validate_rounds, validate_seed

__all__ = [
    "MAX_VOCAB",
    "MAX_SAMPLES",
    "zipf_distribution",
    "draft_from_target",
    "as_distribution",
    "acceptance_rate",
    "acceptance_probability",
    "residual_distribution",
    "total_variation",
    "VerifyResult",
    "verify_drafts",
    "RejectionResult",
    "run_rejection_sampling",
    "warm_up",
]

MAX_VOCAB = 1_000_000
MAX_SAMPLES = 50_000_000


# --------------------------------------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------------------------------------


def as_distribution(values, name: str = "distribution") -> np.ndarray:
    """``values`` as a normalised 1-D float64 probability vector; ``ValueError`` if that is impossible.

    Accepts any non-negative, finite weights with a positive sum (they are divided by their sum).
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of numbers") from None
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D list of probabilities, got shape {array.shape}")
    if array.size > MAX_VOCAB:
        raise ValueError(f"{name} has {array.size} entries; at most {MAX_VOCAB:,} are supported")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(array < 0):
        raise ValueError(f"{name} contains negative probabilities")
    total = float(array.sum())
    if not total > 0.0:
        raise ValueError(f"{name} sums to zero; at least one token needs a positive probability")
    return array / total


def _pair(p, q) -> tuple[np.ndarray, np.ndarray]:
    p = as_distribution(p, "p (target distribution)")
    q = as_distribution(q, "q (draft distribution)")
    if p.shape != q.shape:
        raise ValueError(f"p and q must cover the same vocabulary, got {p.size} and {q.size} tokens")
    return p, q


def _one_hot(size: int, index: int) -> np.ndarray:
    vector = np.zeros(size)
    vector[index] = 1.0
    return vector


def zipf_distribution(
    vocab_size: int, exponent: float = 1.1, temperature: float = 1.0, shift: int = 0
) -> np.ndarray:
    """A Zipf-like next-token distribution over ``vocab_size`` tokens, like a language model's.

    The token of rank ``r`` (0 = most likely) has logit ``-exponent * log(r + 1)``; sampling at
    ``temperature`` divides logits by it, so ``p(rank r) ∝ (r + 1) ** (-exponent / temperature)``.
    Temperature 0 is greedy (all mass on rank 0); higher temperatures flatten the distribution.
    Token ``i`` has rank ``(i - shift) mod vocab_size``: ``shift`` rotates which token ids are likely, so a
    draft built with a different shift disagrees with the target.
    """
    if isinstance(vocab_size, bool) or int(vocab_size) != vocab_size or not 1 <= int(vocab_size) <= MAX_VOCAB:
        raise ValueError(f"vocab_size must be a whole number between 1 and {MAX_VOCAB:,}, got {vocab_size!r}")
    vocab_size = int(vocab_size)
    exponent = float(exponent)
    if not 0.0 <= exponent <= 10.0:
        raise ValueError(f"exponent must lie between 0 and 10, got {exponent!r}")
    temperature = float(temperature)
    if not 0.0 <= temperature <= 100.0:
        raise ValueError(f"temperature must lie between 0 and 100, got {temperature!r}")
    if isinstance(shift, bool) or int(shift) != shift:
        raise ValueError(f"shift must be a whole number of tokens, got {shift!r}")
    if temperature == 0.0:
        by_rank = _one_hot(vocab_size, 0)
    else:
        log_weights = -(exponent / temperature) * np.log1p(np.arange(vocab_size, dtype=np.float64))
        by_rank = np.exp(log_weights - log_weights.max())
        by_rank /= by_rank.sum()
    return np.roll(by_rank, int(shift) % vocab_size)


def draft_from_target(
    p,
    temperature: float = 1.0,
    skew: float = 0.0,
    mix: float = 0.0,
    noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """A toy draft distribution ``q`` made from the target ``p`` by four kinds of imperfection.

    Applied in this order (each default leaves ``q`` equal to ``p``):

    * ``temperature`` (> 0, or 0 for greedy): ``q ∝ p ** (1 / temperature)``. Below 1 the draft is
      over-confident (sharper than the target), above 1 it is unsure (flatter).
    * ``skew`` (0..1): moves that fraction of every token's probability to the next token id, like a
      draft that often confuses neighbouring candidates (with an unshifted Zipf target, the next rank).
    * ``mix`` (0..1): blends with the uniform distribution, a draft that wastes probability everywhere.
    * ``noise`` (>= 0): multiplies each probability by ``exp(noise * z)``, ``z`` standard normal drawn with
      ``seed``: random, token-specific disagreements.

    Each raises the total variation between ``p`` and ``q`` and so lowers the acceptance rate
    ``sum(min(p, q))`` (see :func:`acceptance_rate`).
    """
    q = as_distribution(p, "p (target distribution)")
    temperature = float(temperature)
    if not 0.0 <= temperature <= 100.0:
        raise ValueError(f"draft temperature must lie between 0 and 100, got {temperature!r}")
    skew, mix, noise = float(skew), float(mix), float(noise)
    if not 0.0 <= skew <= 1.0:
        raise ValueError(f"skew must lie between 0 and 1, got {skew!r}")
    if not 0.0 <= mix <= 1.0:
        raise ValueError(f"mix must lie between 0 and 1, got {mix!r}")
    if not 0.0 <= noise <= 10.0:
        raise ValueError(f"noise must lie between 0 and 10, got {noise!r}")
    seed = validate_seed(seed)
    if temperature == 0.0:
        q = _one_hot(q.size, int(np.argmax(q)))
    elif temperature != 1.0:
        with np.errstate(divide="ignore"):
            logs = np.log(q) / temperature
        q = np.exp(logs - logs.max())
        q /= q.sum()
    if skew > 0.0:
        q = (1.0 - skew) * q + skew * np.roll(q, 1)
    if mix > 0.0:
        q = (1.0 - mix) * q + mix / q.size
    if noise > 0.0:
        q = q * np.exp(noise * np.random.default_rng(seed).standard_normal(q.size))
    return q / q.sum()


def acceptance_rate(p, q) -> float:
    """P(a draft token x ~ q is accepted) = sum_x min(p(x), q(x)) = 1 - TV(p, q), in [0, 1]."""
    p, q = _pair(p, q)
    return float(np.minimum(p, q).sum())


def acceptance_probability(p, q, token: int) -> float:
    """P(accept | the draft proposed ``token``) = min(1, p(token) / q(token)).

    Raises ``ValueError`` when ``token`` is outside the vocabulary or has ``q(token) = 0`` (the draft
    could not have proposed it).
    """
    p, q = _pair(p, q)
    token = _token(token, p.size)
    if q[token] == 0.0:
        raise ValueError(f"the draft gives token {token} probability 0, so it cannot have proposed it")
    return float(min(1.0, p[token] / q[token]))


def residual_distribution(p, q) -> np.ndarray:
    """The distribution a rejected draft is replaced from: norm(max(0, p - q)).

    When ``p == q`` nothing is ever rejected and the residual is all zeros; ``p`` itself is returned then,
    so the result is always a valid distribution.
    """
    p, q = _pair(p, q)
    return _residual(p, q)


def _residual(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    excess = np.maximum(p - q, 0.0)
    total = excess.sum()
    return excess / total if total > 0.0 else p.copy()


def total_variation(a, b) -> float:
    """Total variation distance 0.5 * sum |a - b| between two distributions, in [0, 1]."""
    a, b = _pair(a, b)
    return float(0.5 * np.abs(a - b).sum())


def _token(token, vocab_size: int) -> int:
    if isinstance(token, bool) or not isinstance(token, int | np.integer | float | np.floating):
        raise ValueError(f"token must be a token id (whole number), got {token!r}")
    if not math.isfinite(float(token)) or float(token) != int(token) or not 0 <= int(token) < vocab_size:
        raise ValueError(f"token must be a token id between 0 and {vocab_size - 1}, got {token!r}")
    return int(token)


# --------------------------------------------------------------------------------------------------------
# One verify pass, step by step (numpy)
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    """What one verify pass decided.

    * ``accepted``: how many drafts were accepted (a prefix of the draft).
    * ``accept_probabilities``: min(1, p/q) for every drafted position (length gamma; in greedy mode 1.0
      where the draft equals the target's argmax, else 0.0).
    * ``uniforms``: the uniform numbers drawn for the positions actually checked (accept iff
      ``u < accept probability``); empty in greedy mode.
    * ``next_token``: the target's own token: the correction drawn from the residual after a rejection,
      or the bonus token drawn from the last row of ``p`` when every draft was accepted.
    * ``next_token_source``: ``"residual"`` or ``"bonus"``.
    * ``residual``: the distribution the correction was drawn from (None for a bonus token, and in
      greedy mode where the correction is the argmax of p).
    * ``output_tokens``: accepted drafts followed by ``next_token`` (``accepted + 1`` tokens).
    """

    accepted: int
    accept_probabilities: np.ndarray
    uniforms: np.ndarray
    next_token: int
    next_token_source: str
    residual: np.ndarray | None
    output_tokens: tuple[int, ...]


def verify_drafts(
    p_rows, q_rows, draft_tokens, rng: np.random.Generator, greedy: bool = False
) -> VerifyResult:
    """Run the target's verification of ``gamma`` drafted tokens (Algorithm 1, steps 3-4).

    ``p_rows`` (gamma + 1, V): the target's distribution after each prefix (row i is for draft position
    i, the last row for the bonus token). ``q_rows`` (gamma, V): the draft's distribution it sampled each
    draft from. ``draft_tokens`` (gamma,): the drafted token ids. Rows are normalised; ``ValueError`` on
    shapes that do not match, invalid rows, or a draft token the draft gave probability 0.
    ``rng`` supplies the randomness (uniforms first, then the correction or bonus draw).
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy Generator, e.g. np.random.default_rng(seed)")
    p_list, q_list, token_list = _checked_rows(p_rows, q_rows, draft_tokens)
    if greedy:
        return _verify_greedy(p_list, token_list)
    gamma, vocab = len(token_list), len(p_list[0])
    probabilities = np.empty(gamma)
    for i, (token, p, q) in enumerate(zip(token_list, p_list[:gamma], q_list, strict=True)):
        if q[token] == 0.0:
            raise ValueError(f"draft token {token} at position {i} has draft probability 0")
        probabilities[i] = min(1.0, p[token] / q[token])
    uniforms = []
    accepted = 0
    for i in range(gamma):
        u = float(rng.random())
        uniforms.append(u)
        if u < probabilities[i]:
            accepted += 1
        else:
            break
    if accepted < gamma:
        residual = _residual(p_list[accepted], q_list[accepted])
        next_token = int(rng.choice(vocab, p=residual))
        source = "residual"
    else:
        residual = None
        next_token = int(rng.choice(vocab, p=p_list[gamma]))
        source = "bonus"
    return VerifyResult(
        accepted=accepted,
        accept_probabilities=probabilities,
        uniforms=np.asarray(uniforms),
        next_token=next_token,
        next_token_source=source,
        residual=residual,
        output_tokens=(*token_list[:accepted], next_token),
    )


def _checked_rows(p_rows, q_rows, draft_tokens) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """:func:`verify_drafts`' inputs as normalised rows and token ids; ``ValueError`` on bad shapes."""
    p_array = np.asarray(p_rows, dtype=np.float64)
    q_array = np.asarray(q_rows, dtype=np.float64)
    tokens = np.asarray(draft_tokens)
    if p_array.ndim != 2 or p_array.shape[0] < 1:
        raise ValueError(f"p_rows must have shape (gamma + 1, vocab), got {p_array.shape}")
    gamma = p_array.shape[0] - 1
    vocab = p_array.shape[1]
    if gamma == 0 and q_array.size == 0:
        q_array = np.zeros((0, vocab))
    if q_array.ndim != 2 or q_array.shape != (gamma, vocab):
        raise ValueError(f"q_rows must have shape (gamma, vocab) = ({gamma}, {vocab}), got {q_array.shape}")
    if tokens.shape != (gamma,):
        raise ValueError(f"draft_tokens must hold gamma = {gamma} token ids, got shape {tokens.shape}")
    p_list = [as_distribution(row, f"p_rows[{i}]") for i, row in enumerate(p_array)]
    q_list = [as_distribution(row, f"q_rows[{i}]") for i, row in enumerate(q_array)]
    return p_list, q_list, [_token(t, vocab) for t in tokens.tolist()]


def _verify_greedy(p_list: list[np.ndarray], token_list: list[int]) -> VerifyResult:
    """Greedy verification: a draft passes only if it is the target's top token; no randomness."""
    gamma = len(token_list)
    probabilities = np.array(
        [
            1.0 if token == int(np.argmax(p)) else 0.0
            for token, p in zip(token_list, p_list[:gamma], strict=True)
        ]
    )
    accepted = 0
    while accepted < gamma and probabilities[accepted] == 1.0:
        accepted += 1
    next_token = int(np.argmax(p_list[accepted]))
    source = "bonus" if accepted == gamma else "residual"
    return VerifyResult(
        accepted=accepted,
        accept_probabilities=probabilities,
        uniforms=np.zeros(0),
        next_token=next_token,
        next_token_source=source,
        residual=None,
        output_tokens=(*token_list[:accepted], next_token),
    )


# --------------------------------------------------------------------------------------------------------
# Many samples at one position (Numba)
# --------------------------------------------------------------------------------------------------------


def _cdf(distribution: np.ndarray) -> np.ndarray:
    """Cumulative sums ending exactly at 1.0 from the last positive entry on (zero-mass tokens unreachable)."""
    cdf = np.cumsum(distribution)
    cdf[int(np.flatnonzero(distribution)[-1]) :] = 1.0
    return cdf


@njit(cache=True, nogil=True)
def _rejection_kernel(p, q, q_cdf, residual_cdf, samples, state):
    """Returns (counts of output tokens, number of accepted drafts, state)."""
    counts = np.zeros(p.shape[0], np.int64)
    accepted = 0
    for _ in range(samples):
        state, u = _next_uniform(state)
        draft = np.searchsorted(q_cdf, u, side="right")
        state, v = _next_uniform(state)
        if v * q[draft] < p[draft]:  # v < min(1, p/q) without a division
            accepted += 1
            counts[draft] += 1
        else:
            state, w = _next_uniform(state)
            counts[np.searchsorted(residual_cdf, w, side="right")] += 1
    return counts, accepted, state


@dataclass(frozen=True)
class RejectionResult:
    """Many independent runs of the rule at one position.

    ``p`` and ``q`` are the distributions actually used (one-hot at the argmax in greedy mode).
    ``empirical_acceptance`` = accepted / samples, ``expected_acceptance`` = sum(min(p, q)) and
    ``acceptance_stderr`` its binomial standard error. ``output_counts`` is the histogram of the tokens
    that came out (accepted drafts and corrections), ``output_frequencies`` the same divided by samples;
    ``total_variation_to_p`` / ``_to_q`` compare it with p and q (p: small, shrinking like 1/sqrt(samples)).
    """

    samples: int
    seed: int
    greedy: bool
    p: np.ndarray
    q: np.ndarray
    empirical_acceptance: float
    expected_acceptance: float
    acceptance_stderr: float
    output_counts: np.ndarray
    output_frequencies: np.ndarray
    total_variation_to_p: float
    total_variation_to_q: float

    def to_dict(self) -> dict:
        return {
            "samples": self.samples,
            "seed": self.seed,
            "greedy": self.greedy,
            "empirical_acceptance": self.empirical_acceptance,
            "expected_acceptance": self.expected_acceptance,
            "acceptance_stderr": self.acceptance_stderr,
            "output_counts": [int(c) for c in self.output_counts],
            "total_variation_to_p": self.total_variation_to_p,
            "total_variation_to_q": self.total_variation_to_q,
        }


def run_rejection_sampling(p, q, samples: int, seed: int = 0, greedy: bool = False) -> RejectionResult:
    """Draft ``x ~ q``, accept with min(1, p(x)/q(x)), else resample from the residual; ``samples`` times.

    ``greedy`` replaces p and q by one-hot vectors at their argmax (temperature 0). ``ValueError`` for
    invalid distributions (negative, NaN, zero sum, different lengths) or samples outside [1, 50 million].
    """
    p, q = _pair(p, q)
    samples = validate_rounds(samples, maximum=MAX_SAMPLES)
    seed = validate_seed(seed)
    greedy = bool(greedy)
    if greedy:
        p = _one_hot(p.size, int(np.argmax(p)))
        q = _one_hot(q.size, int(np.argmax(q)))
    residual = _residual(p, q)
    counts, accepted, _ = _rejection_kernel(
        p, q, _cdf(q), _cdf(residual), np.int64(samples), seed_state(seed)
    )
    counts.setflags(write=False)
    frequencies = counts / samples
    frequencies.setflags(write=False)
    expected = float(np.minimum(p, q).sum())
    return RejectionResult(
        samples=samples,
        seed=seed,
        greedy=greedy,
        p=p,
        q=q,
        empirical_acceptance=accepted / samples,
        expected_acceptance=expected,
        acceptance_stderr=math.sqrt(max(expected * (1.0 - expected), 0.0) / samples),
        output_counts=counts,
        output_frequencies=frequencies,
        total_variation_to_p=float(0.5 * np.abs(frequencies - p).sum()),
        total_variation_to_q=float(0.5 * np.abs(frequencies - q).sum()),
    )


def warm_up() -> None:
    """Compile (or load from Numba's cache) the rejection-sampling kernel on a tiny vocabulary."""
    run_rejection_sampling([0.5, 0.3, 0.2], [0.2, 0.3, 0.5], 10)
