"""The three ways to draft, named as SGLang names them (``--speculative-algorithm``).

- ``STANDALONE``: a smaller independent transformer with its own KV cache.
- ``EAGLE``: a one-block head reading the target's last hidden state and the next token's embedding;
  it drafts several tokens by feeding back its own predicted hidden states (chain, top-k 1), from the
  head's draft vocabulary (``EagleHead.draft_ids``).
- ``NGRAM``: prompt lookup, no model: find the latest earlier occurrence of the last few tokens and
  propose what followed it.

Each draft keeps its own cache in step with the committed sequence: ``propose`` first feeds whatever it
has not seen yet, ``rollback`` forgets positions whose tokens were rejected.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

from core.tiny_models.model import EagleHead, Transformer


class DraftKind(StrEnum):
    STANDALONE = "STANDALONE"
    EAGLE = "EAGLE"
    NGRAM = "NGRAM"


def probabilities(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / temperature) in float64 (temperature 0 is read as 1: greedy uses the argmax)."""
    scaled = logits.astype(np.float64) / (temperature if temperature > 0 else 1.0)
    scaled -= scaled.max(-1, keepdims=True)
    e = np.exp(scaled)
    return e / e.sum(-1, keepdims=True)


def pick(
    logits: np.ndarray, temperature: float, rng: np.random.Generator, shown: bool = False
) -> tuple[int, np.ndarray | None]:
    """The argmax at temperature 0 (no distribution; with ``shown``, the softmax at temperature 1, for
    display only), else a sample and the distribution it came from."""
    if temperature <= 0:
        return int(np.argmax(logits)), probabilities(logits, 1.0) if shown else None
    q = probabilities(logits, temperature)
    return int(rng.choice(len(q), p=q)), q


class StandaloneDraft:
    """A small transformer drafting token by token."""

    kind = DraftKind.STANDALONE

    def __init__(self, model: Transformer) -> None:
        self.model = model
        self.cache = model.new_cache()

    def propose(self, seq: list[int], k: int, temperature: float, rng, features=None, shown=False):
        """Up to ``k`` tokens after ``seq`` and, above temperature 0, the distribution of each (at
        temperature 0 too with ``shown``: the softmax at temperature 1, for display; greedy ignores it)."""
        tokens, dists = [], []
        logits, _ = self.model.forward(seq[self.cache.length :], self.cache)
        for i in range(k):
            token, q = pick(logits[-1], temperature, rng, shown)
            tokens.append(token)
            dists.append(q)
            if i + 1 < k:
                logits, _ = self.model.forward([token], self.cache)
        return tokens, dists, logits

    def rollback(self, committed_before: int, committed_now: int) -> None:
        self.cache.truncate(committed_now - 1)

    def copy(self) -> StandaloneDraft:
        other = StandaloneDraft(self.model)
        other.cache = self.cache.copy()
        return other


class EagleDraft:
    """The EAGLE-style head; ``features[t]`` is the target's hidden state at committed position ``t``."""

    kind = DraftKind.EAGLE

    def __init__(self, head: EagleHead) -> None:
        self.head = head
        self.cache = head.new_cache()

    def propose(self, seq: list[int], k: int, temperature: float, rng, features=None, shown=False):
        """As ``StandaloneDraft.propose``; ``features`` are the target's hidden states."""
        start, last = self.cache.length, len(seq) - 2
        if last < 0 or k == 0:
            return [], [], None
        logits, hidden = self.head.forward(features[start : last + 1], seq[start + 1 : last + 2], self.cache)
        tokens, dists = [], []
        ids = self.head.draft_ids
        for i in range(k):
            index, q_draft = pick(logits[-1], temperature, rng, shown)  # over the draft vocabulary
            token = int(ids[index])
            tokens.append(token)
            dists.append(None if q_draft is None else self._on_vocabulary(q_draft))
            if i + 1 < k:
                logits, hidden = self.head.forward(hidden[-1:], [token], self.cache)
        return tokens, dists, logits

    def _on_vocabulary(self, q_draft: np.ndarray) -> np.ndarray:
        """q over the whole vocabulary (zero outside the draft vocabulary), as the exact rule needs."""
        q = np.zeros(self.head.target.config.vocab_size, dtype=q_draft.dtype)
        q[self.head.draft_ids] = q_draft
        return q

    def rollback(self, committed_before: int, committed_now: int) -> None:
        # Entries made while drafting used predicted features: keep only those built on true ones.
        self.cache.truncate(committed_before - 1)

    def copy(self) -> EagleDraft:
        other = EagleDraft(self.head)
        other.cache = self.cache.copy()
        return other


class NgramDraft:
    """Prompt lookup: the continuation of the latest earlier match of the last ``max_n``..1 tokens.

    When the match is so recent that its continuation reaches the end of the sequence (text repeating
    with a short period: ``x.x.x``), the proposal goes on copying itself, so it follows the period for
    all ``k`` tokens instead of stopping at the sequence's end.

    ``adaptive`` (default): each pass proposes at most ``k`` tokens, but after a rejection only one more
    than the last pass accepted, doubling again after each pass that accepted all (see ``rollback``).
    Drafting costs nothing here, but each drafted position makes the verify pass dearer on a CPU.

    An index per n-gram length maps each n-gram of the committed sequence to where its latest earlier
    occurrence ends; it grows with the sequence (committed tokens are never taken back), so a pass
    costs a few dictionary look-ups, not a scan of the sequence.
    """

    kind = DraftKind.NGRAM

    def __init__(self, max_n: int = 4, min_n: int = 1, adaptive: bool = True) -> None:
        self.max_n = max_n
        self.min_n = min_n
        self.adaptive = adaptive
        self._index: dict[int, dict[tuple, int]] = {n: {} for n in range(min_n, max_n + 1)}
        self._indexed = 0  # n-grams ending before this position are in the index
        self._budget: int | None = None  # tokens to propose next pass (adaptive), None: all k
        self._proposed = 0

    def _extend(self, seq: list[int]) -> None:
        last = len(seq) - 1  # the n-gram ending at the sequence's end is the one to look up, not an entry
        for end in range(self._indexed + 1, last + 1):
            for n, table in self._index.items():
                if end >= n:
                    table[tuple(seq[end - n : end])] = end
        self._indexed = max(self._indexed, last)

    def propose(self, seq: list[int], k: int, temperature: float, rng, features=None, shown=False):
        """Up to ``k`` copied tokens; no distributions (an NGRAM draft is certain: q is a point mass)."""
        self._extend(seq)
        self._proposed = 0
        if self.adaptive and self._budget is not None:
            k = min(k, self._budget)
        for n in range(min(self.max_n, len(seq) - 1), self.min_n - 1, -1):
            end = self._index[n].get(tuple(seq[-n:]))
            if end is not None:
                proposal = []
                self._proposed = k
                for i in range(k):  # past the sequence's end, go on copying what is being proposed
                    proposal.append(int(seq[end + i] if end + i < len(seq) else proposal[end + i - len(seq)]))
                return proposal, [None] * len(proposal), None
        return [], [], None

    def rollback(self, committed_before: int, committed_now: int) -> None:
        """Adapt the next proposal's length: double it after a pass that accepted every drafted token,
        else propose one more than were accepted (the verify pass costs more per drafted position)."""
        if not self._proposed:
            return
        accepted = committed_now - committed_before - 1
        budget = self._budget or self._proposed
        self._budget = 2 * budget if accepted >= self._proposed else accepted + 1

    def copy(self) -> NgramDraft:
        other = NgramDraft(self.max_n, self.min_n, self.adaptive)
        other._index = {n: dict(table) for n, table in self._index.items()}
        other._indexed, other._budget, other._proposed = self._indexed, self._budget, self._proposed
        return other


def make_draft(kind: DraftKind | str, models) -> StandaloneDraft | EagleDraft | NgramDraft:
    """A fresh draft of ``kind`` for one request (``models``: a ``TinyModels``)."""
    kind = DraftKind(str(kind).upper())
    if kind is DraftKind.STANDALONE:
        return StandaloneDraft(models.standalone)
    if kind is DraftKind.EAGLE:
        return EagleDraft(models.eagle)
    return NgramDraft()
