"""Two-lane wall-clock timeline: plain decoding next to speculative decoding, for the same output length.

Time is measured in units of ONE TARGET FORWARD PASS (the time the target needs to produce one token
when decoding plainly), so the picture does not depend on any particular hardware:

* plain decoding: ``n_tokens`` target steps of length 1 each;
* speculative decoding: rounds of ``gamma`` draft steps of length ``cost_ratio`` each, then one verify
  pass of length ``verify_cost`` that yields the accepted drafts plus one token from the target.

``verify_cost = 1`` is Leviathan et al.'s batch-1 assumption (checking ``gamma + 1`` tokens costs about
one ordinary step, because small-batch decoding is memory-bound); larger values stand for large batches
or long contexts, where the verify pass is no longer nearly free.

The number of drafts accepted per round is random: :func:`simulate_timeline` draws it with
:func:`core.simulation.montecarlo.sample_accepted_counts` (i.i.d. acceptance ``alpha``, seeded), and
:func:`build_timeline` lays any given counts out in time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.simulation.closed_form import (
    expected_tokens_per_pass,
    validate_alpha,
    validate_cost_ratio,
    validate_gamma,
)

__all__ = [
    "PLAIN_LANE",
    "SPECULATIVE_LANE",
    "Segment",
    "Timeline",
    "build_timeline",
    "simulate_timeline",
    "expected_speedup",
    "MAX_TOKENS",
    "MAX_VERIFY_COST",
]

PLAIN_LANE = "Standard decoding"
SPECULATIVE_LANE = "Speculative decoding"
MAX_TOKENS = 400  # a timeline is a picture: beyond a few hundred tokens the bars are unreadable
MAX_VERIFY_COST = 10.0


@dataclass(frozen=True)
class Segment:
    """One bar of the timeline.

    ``kind`` is ``"target step"`` (plain decoding), ``"draft step"`` or ``"verify pass"``. ``start`` and
    ``end`` are in target-forward units. ``tokens`` counts the tokens of the requested output that
    became available at ``end`` (0 for draft steps; a final verify pass counts only the tokens still
    needed). ``round`` is the 1-based round (speculative lane) or step (plain lane) number.
    """

    lane: str
    kind: str
    round: int
    start: float
    end: float
    tokens: int

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Timeline:
    """Both lanes for one output length, plus the totals the page states.

    ``plain_time`` and ``speculative_time`` are in target-forward units; ``speedup`` is their ratio
    (above 1 means speculation finished first). ``accepted_counts`` holds the drafts accepted in each
    round used; ``overshoot`` counts tokens the last round produced beyond ``n_tokens`` (a server stops
    at its token limit and discards them).
    """

    segments: tuple[Segment, ...]
    n_tokens: int
    gamma: int
    cost_ratio: float
    verify_cost: float
    accepted_counts: tuple[int, ...]
    overshoot: int

    @property
    def rounds(self) -> int:
        """Target verify passes on the speculative lane."""
        return len(self.accepted_counts)

    @property
    def draft_steps(self) -> int:
        return self.rounds * self.gamma

    @property
    def plain_time(self) -> float:
        return float(self.n_tokens)

    @property
    def speculative_time(self) -> float:
        return self.rounds * (self.gamma * self.cost_ratio + self.verify_cost)

    @property
    def draft_time(self) -> float:
        """Part of ``speculative_time`` spent in draft steps."""
        return self.draft_steps * self.cost_ratio

    @property
    def verify_time(self) -> float:
        """Part of ``speculative_time`` spent in target verify passes."""
        return self.rounds * self.verify_cost

    @property
    def speedup(self) -> float:
        """plain_time / speculative_time (infinite only if a round took no time at all)."""
        return self.plain_time / self.speculative_time if self.speculative_time > 0 else float("inf")

    @property
    def tokens_per_pass(self) -> float:
        """Mean accept length of the rounds used, counting every token they produced (overshoot too)."""
        return (self.n_tokens + self.overshoot) / self.rounds if self.rounds else 0.0

    def records(self) -> list[dict]:
        """One dict per segment (for a chart or a CSV download)."""
        return [
            {
                "lane": s.lane,
                "kind": s.kind,
                "round": s.round,
                "start": s.start,
                "end": s.end,
                "duration": s.duration,
                "tokens": s.tokens,
            }
            for s in self.segments
        ]


def _validate_common(n_tokens: int, gamma: int, cost_ratio: float, verify_cost: float):
    if isinstance(n_tokens, bool) or float(n_tokens) != int(n_tokens) or not 1 <= int(n_tokens) <= MAX_TOKENS:
        raise ValueError(f"number of tokens must be a whole number from 1 to {MAX_TOKENS}, got {n_tokens!r}")
    gamma = validate_gamma(gamma)
    cost_ratio = validate_cost_ratio(cost_ratio)
    verify_cost = float(verify_cost)
    if not 0.0 < verify_cost <= MAX_VERIFY_COST:  # also rejects NaN
        raise ValueError(
            f"verify cost (one verify pass / one plain step) must be above 0 and at most "
            f"{MAX_VERIFY_COST}, got {verify_cost!r}"
        )
    return int(n_tokens), gamma, cost_ratio, verify_cost


def build_timeline(
    accepted_counts, gamma: int, cost_ratio: float, n_tokens: int, verify_cost: float = 1.0
) -> Timeline:
    """Lay out both lanes for ``n_tokens`` output tokens, using rounds from ``accepted_counts`` in order.

    ``accepted_counts[i]`` is the number of drafts accepted in round ``i`` (0..gamma); each round yields
    that many tokens plus one from the target. Only as many rounds as needed to reach ``n_tokens`` are
    used; raises ``ValueError`` if the counts run out first or lie outside 0..gamma.
    """
    n_tokens, gamma, cost_ratio, verify_cost = _validate_common(n_tokens, gamma, cost_ratio, verify_cost)
    counts = np.asarray(accepted_counts)
    if counts.ndim != 1 or (counts.size and not np.issubdtype(counts.dtype, np.integer)):
        raise ValueError("accepted counts must be a 1-D sequence of whole numbers")
    if counts.size and (counts.min() < 0 or counts.max() > gamma):
        raise ValueError(f"accepted counts must lie between 0 and gamma = {gamma}")
    produced = np.cumsum(counts + 1)
    if produced.size == 0 or produced[-1] < n_tokens:
        raise ValueError(f"{counts.size} rounds produce fewer than the {n_tokens} tokens asked for")
    rounds = int(np.searchsorted(produced, n_tokens)) + 1  # first round whose running total reaches n
    used = tuple(int(c) for c in counts[:rounds])

    segments: list[Segment] = [
        Segment(PLAIN_LANE, "target step", i + 1, float(i), float(i + 1), 1) for i in range(n_tokens)
    ]
    clock = 0.0
    done = 0
    for index, accepted in enumerate(used, start=1):
        for _ in range(gamma):
            segments.append(Segment(SPECULATIVE_LANE, "draft step", index, clock, clock + cost_ratio, 0))
            clock += cost_ratio
        gained = min(accepted + 1, n_tokens - done)
        done += gained
        segments.append(Segment(SPECULATIVE_LANE, "verify pass", index, clock, clock + verify_cost, gained))
        clock += verify_cost
    overshoot = int(produced[rounds - 1]) - n_tokens
    return Timeline(tuple(segments), n_tokens, gamma, cost_ratio, verify_cost, used, overshoot)


def simulate_timeline(
    alpha: float, gamma: int, cost_ratio: float, n_tokens: int, seed: int = 0, verify_cost: float = 1.0
) -> Timeline:
    """Seeded timeline with i.i.d. acceptance ``alpha``: same arguments, same picture.

    Draws ``n_tokens`` rounds of accepted counts (always enough, as every round yields at least one
    token) with :func:`core.simulation.montecarlo.sample_accepted_counts` and lays out the rounds needed.
    """
    from core.simulation.montecarlo import (
        sample_accepted_counts,  # sibling module, imported when first needed
    )

    alpha = validate_alpha(alpha)
    n_tokens, gamma, cost_ratio, verify_cost = _validate_common(n_tokens, gamma, cost_ratio, verify_cost)
    counts = np.asarray(sample_accepted_counts(alpha, gamma, n_tokens, seed=int(seed)), dtype=np.int64)
    return build_timeline(counts, gamma, cost_ratio, n_tokens, verify_cost)


def expected_speedup(alpha: float, gamma: int, cost_ratio: float, verify_cost: float = 1.0) -> float:
    """Long-run speedup E[N] / (gamma * cost_ratio + verify_cost), dimensionless (exact expectation).

    With ``verify_cost = 1`` this is Leviathan et al.'s theorem 3.8 (:func:`core.simulation.closed_form.walltime_speedup`).
    """
    alpha = validate_alpha(alpha)
    _, gamma, cost_ratio, verify_cost = _validate_common(1, gamma, cost_ratio, verify_cost)
    return float(expected_tokens_per_pass(alpha, gamma)) / (gamma * cost_ratio + verify_cost)
