"""Decoding one request with the tiny target, plainly or speculatively, one pass at a time.

A pass drafts ``k`` tokens, runs the target ONCE over the last committed token plus every drafted one,
and keeps the longest prefix the exact rule accepts, plus one token from the target: at temperature 0
the rule is greedy (accept while the draft equals the target's argmax, so the output is the target's
own greedy decoding), above it Leviathan et al.'s rejection sampling (accept token ``x`` with
probability ``min(1, p(x)/q(x))``, else draw from ``norm(max(p - q, 0))``), so the output follows the
target's distribution. A plain pass (no draft) is the same with ``k = 0``.

``DecodeSession.step()`` runs one pass and returns a ``PassRecord``; a server interleaves many sessions
pass by pass.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np

from core.tiny_models.drafts import DraftKind, make_draft, pick, probabilities


@dataclass(frozen=True)
class PassRecord:
    """What one target pass did. Seconds are wall-clock on this machine (measured)."""

    proposed: list[int]
    accepted: int
    emitted: list[int]
    draft_seconds: float
    verify_seconds: float
    target_top: list[list[tuple[int, float]]] = field(default_factory=list)
    draft_top: list[list[tuple[int, float]]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.draft_seconds + self.verify_seconds


def top_candidates(dist: np.ndarray, n: int) -> list[tuple[int, float]]:
    """The ``n`` most likely tokens of a distribution, most likely first, as (id, probability)."""
    idx = np.argpartition(dist, -n)[-n:]
    idx = idx[np.argsort(-dist[idx])]
    return [(int(i), float(dist[i])) for i in idx]


def accept(proposed, draft_dists, target_logits, temperature: float, rng) -> tuple[int, int]:
    """The exact rule: (number of drafted tokens accepted, the target's extra token)."""
    for i, token in enumerate(proposed):
        if temperature <= 0:
            if int(np.argmax(target_logits[i])) != token:
                return i, int(np.argmax(target_logits[i]))
            continue
        p = probabilities(target_logits[i], temperature)
        q = draft_dists[i]
        q_token = 1.0 if q is None else q[token]  # NGRAM drafts are certain: q is a point mass
        if rng.random() * q_token < p[token]:
            continue
        residual = p.copy()
        if q is None:
            residual[token] = 0.0
        else:
            residual = np.maximum(p - q, 0.0)
        return i, int(rng.choice(len(p), p=residual / residual.sum()))
    return len(proposed), pick(target_logits[len(proposed)], temperature, rng)[0]


class DecodeSession:
    """One request: prompt token ids in, output ids out, pass by pass.

    ``draft`` is a ``DraftKind`` (or its SGLang name) or ``None`` for plain decoding; ``num_draft`` is
    the number of tokens drafted per pass; ``candidates`` > 0 records that many top candidates of p and q
    at each drafted position (for teaching; it costs time, so servers leave it at 0).
    """

    def __init__(
        self,
        models,
        prompt_ids,
        draft=None,
        num_draft: int = 4,
        temperature: float = 0.0,
        max_new_tokens: int = 64,
        seed: int = 0,
        candidates: int = 0,
        stop_at_end: bool = True,
    ):
        context = models.target.config.context
        prompt = [int(t) for t in prompt_ids]
        if not prompt:
            raise ValueError("the prompt has no tokens")
        if len(prompt) >= context:
            raise ValueError(f"the prompt has {len(prompt)} tokens; the model's context is {context}")
        if not 0 <= temperature <= 10 or num_draft < 0 or max_new_tokens < 1:
            raise ValueError("temperature must be in [0, 10], num_draft >= 0 and max_new_tokens >= 1")
        self.models, self.temperature, self.candidates = models, float(temperature), int(candidates)
        self.seq, self.prompt_len = prompt, len(prompt)
        self.max_new_tokens = min(int(max_new_tokens), context - len(prompt))
        self.stop_at_end = stop_at_end
        self.rng = np.random.default_rng(seed)
        self.draft = make_draft(draft, models) if draft is not None and num_draft > 0 else None
        self.num_draft = int(num_draft) if self.draft is not None else 0
        self.cache = models.target.new_cache()
        self.features = np.zeros((context, models.target.config.d_model), dtype=np.float32)
        self.finish_reason: str | None = None
        self.passes: list[PassRecord] = []
        started = time.perf_counter()
        if len(prompt) > 1:  # prefill: the cache holds every committed token but the last
            _, hidden = models.target.forward(prompt[:-1], self.cache)
            self.features[: len(prompt) - 1] = hidden
        self.prefill_seconds = time.perf_counter() - started  # wall-clock on this machine (measured)

    @property
    def output_ids(self) -> list[int]:
        return self.seq[self.prompt_len :]

    @property
    def done(self) -> bool:
        return self.finish_reason is not None

    @property
    def draft_kind(self) -> DraftKind | None:
        return None if self.draft is None else self.draft.kind

    def step(self, num_draft: int | None = None) -> PassRecord:
        """One pass: draft, verify in one target call, accept; appends to ``output_ids``.

        ``num_draft`` overrides the session's drafts per pass for this pass (0: a plain pass, as a
        server's prefill step that gives the first token).
        """
        if self.done:
            raise RuntimeError("the request is finished")
        remaining = self.max_new_tokens - len(self.output_ids)
        k = min(self.num_draft if num_draft is None else num_draft, remaining - 1)
        started = time.perf_counter()
        proposed, dists, _ = ([], [], None)
        if k > 0:
            proposed, dists, _ = self.draft.propose(
                self.seq, k, self.temperature, self.rng, self.features, shown=self.candidates > 0
            )
        drafted = time.perf_counter()
        before = len(self.seq)
        logits, hidden = self.models.target.forward([self.seq[-1], *proposed], self.cache)
        n_ok, extra = accept(proposed, dists, logits, self.temperature, self.rng)
        emitted = [*proposed[:n_ok], extra]
        self.features[before - 1 : before + n_ok] = hidden[: n_ok + 1]
        self.cache.truncate(before + n_ok)
        verified = time.perf_counter()
        record = PassRecord(
            proposed,
            n_ok,
            self._commit(emitted),
            drafted - started,
            verified - drafted,
            *self._candidates(logits, dists, proposed),
        )
        if self.draft is not None:
            self.draft.rollback(before, len(self.seq))
        self.passes.append(record)
        return record

    def _commit(self, emitted: list[int]) -> list[int]:
        end_id = self.models.tokenizer.end_of_text_id
        if self.stop_at_end and end_id in emitted:
            emitted = emitted[: emitted.index(end_id) + 1]
            self.finish_reason = "stop"
        self.seq.extend(emitted)
        if self.finish_reason is None and len(self.output_ids) >= self.max_new_tokens:
            self.finish_reason = "length"
        return emitted

    def _candidates(self, logits, dists, proposed):
        if self.candidates <= 0:
            return [], []
        t = self.temperature if self.temperature > 0 else 1.0
        p_top = [top_candidates(probabilities(row, t), self.candidates) for row in logits]
        q_top = [
            [(tok, 1.0)] if q is None else top_candidates(q, self.candidates)
            for tok, q in zip(proposed, dists, strict=True)
        ]
        return p_top, q_top

    def cancel(self) -> None:
        self.finish_reason = "abort"

    def fork(self, seed: int) -> DecodeSession:
        """An independent copy of this request from where it stands, drawing from a new seed (to sample
        many continuations of one prompt without prefilling it again)."""
        other = copy.copy(self)
        other.seq, other.passes = list(self.seq), []
        other.cache, other.features = self.cache.copy(), self.features.copy()
        other.draft = None if self.draft is None else self.draft.copy()
        other.rng = np.random.default_rng(seed)
        return other


@dataclass(frozen=True)
class Generation:
    """A finished request: output ids, every pass, wall-clock seconds of the whole request and of its
    prompt's prefill (measured; the decoding is ``seconds - prefill_seconds``)."""

    output_ids: list[int]
    passes: list[PassRecord]
    finish_reason: str
    seconds: float
    prefill_seconds: float = 0.0

    @property
    def accept_length(self) -> float:
        """Mean tokens emitted per target pass (1 for plain decoding)."""
        return sum(len(p.emitted) for p in self.passes) / max(1, len(self.passes))


def generate(models, prompt_ids, draft: DraftKind | str | None = None, **options) -> Generation:
    """Run a ``DecodeSession`` to the end (options as ``DecodeSession``)."""
    started = time.perf_counter()
    session = DecodeSession(models, prompt_ids, draft, **options)
    while not session.done:
        session.step()
    return Generation(
        session.output_ids,
        session.passes,
        session.finish_reason,
        time.perf_counter() - started,
        session.prefill_seconds,
    )
