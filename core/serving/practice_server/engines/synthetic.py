"""The synthetic engine: today's SIMULATED practice-server model behind the engine seam.

A batching scheduler thread, like SGLang's: newcomers are prefilled together (their first token), then
every running request advances one step at a time; the step time grows with the batch size (cost
model), at most ``max_running_requests`` run (48 with speculation, like SGLang) and the rest queue. With
speculation every decode step is one verify pass per request, yielding ``1 + accepted drafts`` tokens
(Monte Carlo with the prompt category's illustrative acceptance rate). The thread sleeps the modelled
time times ``time_scale`` on a running deadline, so its own bookkeeping does not add to the steps.

A second mode, ``fixed_ttft_s`` / ``fixed_itl_s`` / ``tokens_per_event``, bypasses the scheduler: a
pacer thread gives each request exactly that time to first token and exactly that gap per token, which
is what a client-accuracy benchmark needs (the true values are known).
"""

from __future__ import annotations

import collections
import dataclasses
import heapq
import itertools
import threading
import time
from collections.abc import Sequence as Seq

from core.serving.practice_server.config import PracticeConfig, model_id_for, validate_config
from core.serving.practice_server.engine import (
    Engine,
    EngineInfo,
    EngineRequest,
    EngineStats,
    StepStream,
)
from core.serving.practice_server.engines.synthetic_model import (
    SyntheticTiming,
    SyntheticTokenizer,
    sample_accepted,
)
from core.serving.practice_server.engines.synthetic_state import Sequence, SpeculationCounters, StepCounts
from core.serving.practice_server.speculation import resolve_speculation
from core.serving.prompt_suite import UNKNOWN_CATEGORY, practice_assumptions

__all__ = ["SyntheticEngine", "create"]

_DEFAULT_DRAFT_PRESET = "eagle3-llama-3.1-8b"
# With the default draft preset, these algorithms are priced with a fitting draft instead: a small LM for
# STANDALONE, a free lookup for NGRAM (EAGLE/NEXTN heads are one-layer drafts like EAGLE-3's).
_ALGORITHM_DRAFT_PRESETS = {"STANDALONE": "llama-3.2-1b", "NGRAM": "ngram"}
_NO_DRAFT_MODEL = ("NEXTN", "NGRAM")  # NEXTN reuses the target's MTP layers; NGRAM looks up the context
_MAX_LAG_S = 0.05  # the scheduler catches up on lost wall time up to this much, then resets its clock


def create(config: PracticeConfig) -> SyntheticEngine:
    """The engine table's factory: a stopped synthetic engine for ``config`` (``ValueError`` if bad)."""
    return SyntheticEngine(config)


def _category_tables(config: PracticeConfig) -> tuple[dict[str, float], dict[str, int]]:
    assumptions = practice_assumptions()
    alpha = dict(assumptions.category_alpha)
    if config.category_alpha:
        alpha.update({str(k): float(v) for k, v in config.category_alpha.items()})
    for key, value in alpha.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"category_alpha[{key!r}] must lie in [0, 1], got {value!r}")
    return alpha, dict(assumptions.natural_length_tokens)


class SyntheticEngine(Engine):
    """SIMULATED tokens, timing and acceptance (see the module docstring). Thread-safe API."""

    def __init__(self, config: PracticeConfig):
        validate_config(config)
        self.config = config
        self.category_alpha, self.natural_length = _category_tables(config)
        settings, requested, notes = resolve_speculation(config)
        self.gamma = settings.max_accepted_drafts if settings else 0
        if settings and config.tokens_per_event is not None and int(config.tokens_per_event) > self.gamma + 1:
            raise ValueError(
                f"tokens_per_event {config.tokens_per_event} is more than one verify pass can yield "
                f"(accepted drafts + 1 <= {self.gamma + 1} with these speculation settings)"
            )
        self.draft_preset = config.draft
        if settings and config.draft == _DEFAULT_DRAFT_PRESET and requested in _ALGORITHM_DRAFT_PRESETS:
            self.draft_preset = _ALGORITHM_DRAFT_PRESETS[requested]
            notes.append(f"{requested}: drafting priced as the cost model's {self.draft_preset!r} preset.")
        if settings and requested not in _NO_DRAFT_MODEL:
            draft_path = config.draft_model or model_id_for(self.draft_preset)
            settings = dataclasses.replace(settings, draft_model_path=draft_path)
        self.timing = SyntheticTiming(config.hardware, config.target, self.draft_preset, self.gamma)
        self.max_running_requests = int(config.max_running_requests or (48 if settings else 256))
        self.notes = notes
        self.info = self._describe(settings)
        self._tokenizer = SyntheticTokenizer()
        self._fixed = config.fixed_ttft_s is not None or config.fixed_itl_s is not None
        self._counters = SpeculationCounters(config.stats_interval_steps)
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._waiting: collections.deque[Sequence] = collections.deque()
        self._running: list[Sequence] = []  # scheduler thread only
        self._live: dict[str, Sequence] = {}  # submitted, not yet finished or dropped (under _cond)
        self._numbers = itertools.count(1)
        self._deadline: float | None = None  # wall clock at which the current step ends
        # Fixed timing: a heap of (due, order, sequence, token ids, finish reason, first event?).
        self._pacer: list[tuple] = []
        self.thread = threading.Thread(target=self._run, name="practice-synthetic-engine", daemon=True)

    def _describe(self, settings) -> EngineInfo:
        c = self.config
        fixed = None
        if c.fixed_ttft_s is not None or c.fixed_itl_s is not None:
            fixed = {"ttft_s": c.fixed_ttft_s, "itl_s": c.fixed_itl_s, "tokens_per_event": c.tokens_per_event}
        details = {
            "note": "SIMULATED: no model runs; timing from a cost model, acceptance from a Monte Carlo "
            "with illustrative per-category acceptance rates.",
            "hardware": c.hardware,
            "target": c.target,
            "draft": self.draft_preset,
            "time_scale": c.time_scale,
            "category_alpha": dict(self.category_alpha),
            "fault": c.fault,
            "fixed_timing": fixed,
            "max_running_requests": self.max_running_requests,
            "notes": list(self.notes),
        }
        mode = f"speculative {settings.algorithm}" if settings else "no speculation"
        return EngineInfo(
            model_id=model_id_for(c.target),
            vocab_size=SyntheticTokenizer.vocab_size,
            context_length=int(c.context_length),
            eos_token_id=SyntheticTokenizer.eos_token_id,
            speculative=settings,
            timing="simulated",
            description=f"SIMULATED: no model runs here. {mode}, {c.target} on {c.hardware}, "
            f"time scale {c.time_scale:g}",
            details=details,
        )

    # -- tokenizer
    def tokenize(self, text: str) -> list[int]:
        return self._tokenizer.tokenize(text)

    def detokenize(self, token_ids: Seq[int]) -> str:
        return self._tokenizer.detokenize(token_ids)

    def apply_chat_template(self, messages: Seq[dict]) -> str:
        return self._tokenizer.apply_chat_template(messages)

    # -- life cycle
    def start(self) -> None:
        if self.gamma > 0:  # compile the Monte Carlo kernel now, not inside the first request's TTFT
            sample_accepted(0.5, self.gamma, 1, 0)
        self.thread.start()

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
            live = list(self._live.values())
            self._live.clear()
        for sequence in live:
            sequence.stream.close()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout=5)

    # -- requests
    def submit(self, request: EngineRequest) -> StepStream:
        key = self._tokenizer.category_key(request.prompt)
        alpha = self.category_alpha.get(key, self.category_alpha[UNKNOWN_CATEGORY])
        natural = self.natural_length.get(key, self.natural_length[UNKNOWN_CATEGORY])
        sequence = Sequence(request, alpha, natural, self.gamma, self.config.seed, next(self._numbers))
        with self._cond:
            if self._stop.is_set():
                sequence.stream.close()
                return sequence.stream
            self._live[request.rid] = sequence
            if self._fixed:
                self._schedule_paced(sequence, None)
            else:
                self._waiting.append(sequence)
            self._cond.notify_all()
        return sequence.stream

    def cancel(self, rid: str) -> None:
        with self._cond:
            sequence = self._live.pop(rid, None)
        if sequence is not None:
            sequence.cancelled = True
            sequence.stream.close()

    def stats(self) -> EngineStats:
        with self._cond:
            queued = len(self._waiting)
            running = len(self._live) - queued
        return self._counters.snapshot(running=running, queued=queued)

    def scheduler_stats(self) -> dict:
        """The scheduler's accounting in MODEL seconds (before ``time_scale``): steps per batch size etc."""
        return self._counters.scheduler_view()

    def flush(self) -> bool:
        with self._cond:
            if self._live:
                return False
        self._counters.reset()
        return True

    def _retire(self, sequences: list[Sequence]) -> None:
        """Forget finished or cancelled requests."""
        done = [s for s in sequences if s.finished]
        with self._cond:
            for sequence in sequences:
                if sequence.finished or sequence.cancelled:
                    self._live.pop(sequence.request.rid, None)
        if done:
            self._counters.finished(len(done))

    # -- the engine thread
    def _run(self) -> None:
        while not self._stop.is_set():
            if self._fixed:
                self._pace_next()
                continue
            admitted = self._admit()
            if admitted:
                self._prefill(admitted)
            elif self._running:
                self._decode_step(self._running)
                self._running = [s for s in self._running if not s.finished and not s.cancelled]

    def _admit(self) -> list[Sequence]:
        """Wait for work; move waiting requests into the batch up to ``max_running_requests``."""
        with self._cond:
            while not self._waiting and not self._running and not self._stop.is_set():
                self._cond.wait(0.25)
            self._running = [s for s in self._running if not s.cancelled]
            admitted = []
            while self._waiting and len(self._running) + len(admitted) < self.max_running_requests:
                sequence = self._waiting.popleft()
                if not sequence.cancelled:
                    admitted.append(sequence)
            return admitted

    def _sleep_model(self, model_s: float) -> None:
        """Let ``model_s`` simulated seconds pass (times ``time_scale``) on a running deadline, so the
        time the scheduler spends on its own bookkeeping is absorbed instead of added to every step."""
        now = time.monotonic()
        if self._deadline is None or self._deadline < now - _MAX_LAG_S:
            self._deadline = now  # idle or far behind: start a fresh timeline
        self._deadline += model_s * self.config.time_scale
        delay = self._deadline - now
        if delay > 0:
            self._stop.wait(delay)

    def _prefill(self, admitted: list[Sequence]) -> None:
        """One prefill pass over the newcomers; each gets its first token (or finishes at 0 tokens)."""
        model_s = self.timing.prefill_s([s.prompt_len for s in admitted])
        self._sleep_model(model_s)
        if self._stop.is_set():
            return
        tokens = 0
        for sequence in admitted:
            ids, finish = sequence.next_tokens(1)
            sequence.push(ids, finish, duration_s=model_s)
            tokens += len(ids)
            if finish is None:
                self._running.append(sequence)
        self._counters.prefill(model_s, tokens)
        self._retire(admitted)

    def _decode_step(self, batch: list[Sequence]) -> None:
        """One decode step (one verify pass each, with speculation) for every running request."""
        context = int(sum(s.prompt_len + s.produced for s in batch) / len(batch))
        model_s = self.timing.decode_step_s(len(batch), context)
        self._sleep_model(model_s)
        if self._stop.is_set():
            return
        counts = StepCounts()
        proposed = self.info.speculative.proposed_drafts_per_pass if self.info.speculative else 0
        for sequence in batch:
            if sequence.cancelled:
                continue
            if self.gamma > 0:
                ids, finish = sequence.next_tokens(1 + sequence.accepted_drafts())
                self._count_verify(sequence, counts, len(ids), proposed)
                sequence.push(
                    ids,
                    finish,
                    verify_pass=True,
                    accepted_drafts=max(0, len(ids) - 1),
                    proposed_drafts=proposed,
                    duration_s=model_s,
                )
            else:
                ids, finish = sequence.next_tokens(1)
                sequence.push(ids, finish, duration_s=model_s)
            counts.tokens += len(ids)
        self._counters.decode(model_s, len(batch), counts)
        self._retire(batch)

    @staticmethod
    def _count_verify(sequence: Sequence, counts: StepCounts, tokens: int, proposed: int) -> None:
        sequence.verify_ct += 1
        counts.verify_ct += 1
        counts.accept_tokens += tokens
        counts.correct_drafts += max(0, tokens - 1)
        counts.proposed_drafts += proposed

    def _schedule_paced(self, sequence: Sequence, previous_due: float | None) -> None:
        """Fixed timing: make the request's next event now and queue it for its due time.

        The first event (one token) is due ``fixed_ttft_s`` after arrival; each later event
        ``fixed_itl_s`` x its token count after the one before. Call with ``_cond`` held.
        """
        c = self.config
        first = previous_due is None
        ids, finish = sequence.next_tokens(1 if first else int(c.tokens_per_event or 1))
        if first:
            due = sequence.request.arrival_s + float(c.fixed_ttft_s or 0.0)
        else:
            due = previous_due + float(c.fixed_itl_s or 0.0) * len(ids)
        heapq.heappush(self._pacer, (due, next(self._numbers), sequence, ids, finish, first))

    def _pace_next(self) -> None:
        """Fixed timing: wait for the earliest due event, send it, queue the request's next one."""
        with self._cond:
            while not self._pacer and not self._stop.is_set():
                self._cond.wait(0.25)
            if self._stop.is_set():
                return
            due = self._pacer[0][0]
            delay = due - time.monotonic()
            if delay > 0:
                self._cond.wait(delay)  # a newcomer may be due sooner: look again
                return
            _, _, sequence, ids, finish, first = heapq.heappop(self._pacer)
            if sequence.cancelled:
                return
            if finish is None:
                self._schedule_paced(sequence, due)
        self._send_paced(sequence, ids, finish, first)
        self._retire([sequence])

    def _send_paced(self, sequence: Sequence, ids: list[int], finish: dict | None, first: bool) -> None:
        if first or self.gamma == 0:
            sequence.push(ids, finish)
            if first:
                self._counters.prefill(0.0, len(ids))
            else:
                self._counters.decode(0.0, 1, StepCounts(tokens=len(ids)))
            return
        proposed = self.info.speculative.proposed_drafts_per_pass
        counts = StepCounts(tokens=len(ids))
        self._count_verify(sequence, counts, len(ids), proposed)
        accepted = max(0, len(ids) - 1)
        sequence.push(ids, finish, verify_pass=True, accepted_drafts=accepted, proposed_drafts=proposed)
        self._counters.decode(0.0, 1, counts)
