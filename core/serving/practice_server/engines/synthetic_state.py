"""Per-request state and lifetime counters of the synthetic engine (no threads here)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from core.serving.practice_server.engine import EngineRequest, EngineStats, StepOutput, StepStream
from core.serving.practice_server.engines.synthetic_model import (
    EOS_TOKEN_ID,
    SyntheticTokenizer,
    sample_accepted,
    stable_seed,
)

__all__ = ["Sequence", "SpeculationCounters", "StepCounts", "draws_block"]


def draws_block(max_new_tokens: int) -> int:
    """How many acceptance draws to take from the Monte Carlo at once for one request."""
    return min(max(64, int(max_new_tokens)), 4096)


class Sequence:
    """One request inside the synthetic engine. Only the engine's thread mutates it, except
    ``cancelled``, which :meth:`SyntheticEngine.cancel` sets from any thread."""

    def __init__(
        self,
        request: EngineRequest,
        alpha: float,
        natural_length: int,
        gamma: int,
        server_seed: int,
        sequence_number: int,
    ):
        self.request = request
        self.stream = StepStream(request.rid)
        self.alpha = float(alpha)
        self.gamma = int(gamma)
        self.prompt_len = len(request.prompt_token_ids)
        prompt_key = request.prompt or tuple(request.prompt_token_ids)
        prompt_seed = stable_seed(server_seed, prompt_key, request.seed)
        self._words = random.Random(prompt_seed)  # same prompt, same text (greedy-like)
        # The natural length varies +-25% by prompt, deterministically.
        varied = natural_length * (0.75 + 0.5 * random.Random(prompt_seed + 1).random())
        self.stop_at = None if request.ignore_eos else max(1, int(round(varied)))
        self.produced = 0
        self.verify_ct = 0
        self._tail = ""  # the end of the output text, for stop strings
        self._draws: list[int] = []
        # Acceptance draws: reproducible for the n-th request of a server with a given seed and prompt.
        self._draw_seed = stable_seed(server_seed, prompt_key, sequence_number)
        self.cancelled = False
        self.finished = False

    def accepted_drafts(self) -> int:
        """Accepted draft tokens for the next verify pass (Monte Carlo, drawn in blocks)."""
        if self.verify_ct >= len(self._draws):
            seed = stable_seed(self._draw_seed, len(self._draws))
            self._draws += sample_accepted(
                self.alpha, self.gamma, draws_block(self.request.max_new_tokens), seed
            )
        return self._draws[self.verify_ct]

    def next_tokens(self, count: int) -> tuple[list[int], dict | None]:
        """Produce up to ``count`` tokens; returns them and SGLang's finish reason if the request ends."""
        ids: list[int] = []
        limit = self.request.max_new_tokens
        for _ in range(count):
            if self.produced >= limit:
                break
            if self.stop_at is not None and self.produced + 1 >= self.stop_at:
                ids.append(EOS_TOKEN_ID)
                self.produced += 1
                return ids, {"type": "stop", "matched": EOS_TOKEN_ID}
            token = SyntheticTokenizer.word_id(self._words)
            ids.append(token)
            self.produced += 1
            matched = self._matched_stop(SyntheticTokenizer.token_text(token))
            if matched is not None:
                return ids, {"type": "stop", "matched": matched}
        if self.produced >= limit:
            return ids, {"type": "length", "length": limit}
        return ids, None

    def _matched_stop(self, text: str) -> str | None:
        stops = self.request.stop
        if not stops:
            return None
        self._tail = (self._tail + text)[-max(len(s) for s in stops) - len(text) :]
        return next((s for s in stops if s and s in self._tail), None)

    def push(self, ids: list[int], finish: dict | None, **step) -> None:
        """Send one step's tokens to the client's stream (closing it when the request ends)."""
        text = "".join(SyntheticTokenizer.token_text(t) for t in ids)
        self.stream.push(StepOutput(tuple(ids), text, finish_reason=finish, timing="simulated", **step))
        if finish is not None:
            self.finished = True
            self.stream.close()


@dataclass
class StepCounts:
    """What one step added: output tokens, tokens of verify passes, passes, accepted and proposed drafts."""

    tokens: int = 0
    accept_tokens: int = 0
    verify_ct: int = 0
    correct_drafts: int = 0
    proposed_drafts: int = 0


class SpeculationCounters:
    """Lifetime counters, refreshed like SGLang's scheduler every ``interval_steps`` decode steps.

    ``avg_spec_accept_length`` = tokens of verify passes / verify passes since start or the last
    :meth:`reset` (SGLang's ``spec_total_num_accept_tokens / spec_total_num_forward_ct``; the prefill
    token is not counted). Thread-safe.
    """

    def __init__(self, interval_steps: int):
        self.lock = threading.Lock()
        self.interval_steps = int(interval_steps)
        self.decode_steps = 0
        self.decode_model_s = 0.0
        self.prefill_batches = 0
        self.prefill_model_s = 0.0
        self.by_batch: dict[int, list[float]] = {}  # batch size -> [steps, model seconds]
        self.tokens = self.verify_total = self.requests_finished = 0
        self._pending = StepCounts()
        self._last = StepCounts()
        self._cum_accept_tokens = self._cum_verify_ct = 0
        self._avg_accept: float | None = None
        self._throughput = 0.0
        self._interval_start = time.monotonic()

    def prefill(self, model_s: float, tokens: int) -> None:
        """Count one prefill batch that produced ``tokens`` first tokens."""
        with self.lock:
            self.prefill_batches += 1
            self.prefill_model_s += model_s
            self.tokens += tokens
            self._pending.tokens += tokens

    def decode(self, model_s: float, batch: int, step: StepCounts) -> None:
        """Count one decode step over ``batch`` requests (``step``: what its verify passes did)."""
        with self.lock:
            self.decode_steps += 1
            self.decode_model_s += model_s
            entry = self.by_batch.setdefault(batch, [0, 0.0])
            entry[0] += 1
            entry[1] += model_s
            self.tokens += step.tokens
            self.verify_total += step.verify_ct
            pending = self._pending
            for name in ("tokens", "accept_tokens", "verify_ct", "correct_drafts", "proposed_drafts"):
                setattr(pending, name, getattr(pending, name) + getattr(step, name))
            if self.decode_steps % self.interval_steps == 0:
                self._refresh_locked()

    def finished(self, count: int) -> None:
        with self.lock:
            self.requests_finished += count

    def _refresh_locked(self) -> None:
        now = time.monotonic()
        pending = self._pending
        self._cum_accept_tokens += pending.accept_tokens
        self._cum_verify_ct += pending.verify_ct
        if self._cum_verify_ct:
            self._avg_accept = self._cum_accept_tokens / self._cum_verify_ct
        elapsed = now - self._interval_start
        self._throughput = pending.tokens / elapsed if elapsed > 0 else 0.0
        self._last, self._pending, self._interval_start = pending, StepCounts(), now

    def reset(self) -> None:
        """SGLang's /flush_cache: the lifetime accept length starts again."""
        with self.lock:
            self._cum_accept_tokens = self._cum_verify_ct = 0
            self._pending.accept_tokens = self._pending.verify_ct = 0
            self._avg_accept = None

    def snapshot(self, running: int, queued: int) -> EngineStats:
        """The counters as :class:`EngineStats`."""
        with self.lock:
            last = self._last
            return EngineStats(
                generation_tokens_total=self.tokens,
                verify_passes_total=self.verify_total,
                requests_finished=self.requests_finished,
                avg_spec_accept_length=self._avg_accept,
                interval_accept_length=last.accept_tokens / last.verify_ct if last.verify_ct else None,
                interval_accept_rate=last.correct_drafts / last.proposed_drafts
                if last.proposed_drafts
                else None,
                last_gen_throughput=self._throughput,
                running=running,
                queued=queued,
            )

    def scheduler_view(self) -> dict:
        """The scheduler's own accounting in model seconds (for tests and benchmarks)."""
        with self.lock:
            return {
                "decode_steps": self.decode_steps,
                "decode_model_s": self.decode_model_s,
                "mean_decode_step_s": self.decode_model_s / self.decode_steps if self.decode_steps else None,
                "prefill_batches": self.prefill_batches,
                "prefill_model_s": self.prefill_model_s,
                "step_time_by_batch": {b: v[1] / v[0] for b, v in sorted(self.by_batch.items())},
                "steps_by_batch": {b: int(v[0]) for b, v in sorted(self.by_batch.items())},
            }
