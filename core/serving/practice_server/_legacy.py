"""A GPU-free practice server that speaks SGLang's HTTP API and SIMULATES a (speculative) model.

Workshops without a GPU point the live benchmark at it, and the SGLang client's tests use it as their
server. Nothing here runs a model: the "tokens" are words from a fixed list, the timing comes from
:mod:`core.simulation.cost_model` (a roofline model of one GPU, multiplied by ``time_scale``), and the accepted draft
tokens per verify pass come from the Monte Carlo in :mod:`core.simulation.montecarlo` with an acceptance rate chosen
by the prompt's category (illustrative assumptions from ``core/data/prompts.toml``). Every figure measured
against it is therefore SIMULATED, and the server says so: ``/server_info`` has
``"speclab_practice_server": true`` and the model id ends in ``-simulated``.

What it reproduces (see ``shared/docs/sglang.md``):

* endpoints ``GET /health``, ``/v1/models``, ``/model_info`` (``/get_model_info``), ``/server_info``
  (``/get_server_info``), ``/metrics``; ``POST /flush_cache``, ``/generate``, ``/v1/completions``,
  ``/v1/chat/completions``; Bearer API key (``/health`` and ``/metrics`` exempt, as in SGLang);
* the native stream format: ``data: {json}`` events ending with ``data: [DONE]``, cumulative ``text`` and
  ``output_ids`` (deltas with ``incremental_output``), ``meta_info`` with ``finish_reason``, token counts,
  ``e2e_latency`` and the per-request ``spec_*`` statistics;
* a batching scheduler: all running requests advance together one step at a time, the step time grows
  with the batch size, at most ``max_running_requests`` run (48 with speculation, like SGLang) and the rest
  queue; with speculation one event carries ``1 + accepted drafts`` tokens;
* ``internal_states[0].avg_spec_accept_length``: lifetime mean since start or last flush, refreshed every
  ``stats_interval_steps`` (40) decode steps, like SGLang's scheduler;
* fault modes (:data:`FAULT_MODES`) that break the wire protocol on purpose, so a client can be tested
  against every way a real server fails.

A second timing mode, ``fixed_ttft_s`` / ``fixed_itl_s`` / ``tokens_per_event``, bypasses the scheduler:
each request gets exactly that time to first token and exactly that gap per token, which is what a
client-accuracy benchmark needs (the true values are known).

Typical use::

    with PracticeServer(PracticeConfig(speculative=True, time_scale=0.1)) as server:
        requests.post(server.url + "/generate", json={...})

Every server is an independent object (no module state), so several can run in one process.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import http.server
import json
import math
import queue
import random
import re
import select
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace

from core.serving.launch_command import LaunchRuleError, resolve_spec_params
from core.serving.prompt_suite import UNKNOWN_CATEGORY, category_of, practice_assumptions
from core.simulation import cost_model

__all__ = [
    "PracticeConfig",
    "PracticeServer",
    "FAULT_MODES",
    "SPECULATIVE_ALGORITHMS",
    "model_id_for",
]

FAULT_MODES: dict[str, str] = {
    "http500": "every generation request answers HTTP 500 with a JSON error body",
    "http404": "every generation request answers HTTP 404 (wrong path or wrong server)",
    "error_event": 'the stream sends a few tokens, then data: {"error": {"message": ...}}, then [DONE]',
    "malformed_json": "the stream sends a data: line whose JSON is broken, then carries on",
    "malformed_sse": "the stream sends garbage lines that are not server-sent events, then carries on",
    "truncate": "the stream stops mid-way: the connection closes without [DONE]",
    "stall": "the stream stops sending after a few tokens but keeps the connection open for a long time",
    "slow_start": "a long wait before the first token (TTFT of slow_start_s seconds)",
    "redirect": "generation requests answer 302 to another URL (an HTML login page)",
    "huge_response": "a stream far larger than any sane cap (huge_response_bytes, no [DONE] until then)",
    "health_503": "GET /health answers 503, as while the server is starting",
}

SPECULATIVE_ALGORITHMS = ("EAGLE", "EAGLE3", "NEXTN", "STANDALONE", "NGRAM")
_DEFAULT_DRAFT_PRESET = "eagle3-llama-3.1-8b"
# With the default draft preset, these algorithms are priced with a fitting draft instead: a small LM for
# STANDALONE, a free lookup for NGRAM (EAGLE/NEXTN heads are one-layer drafts like EAGLE-3's).
_ALGORITHM_DRAFT_PRESETS = {"STANDALONE": "llama-3.2-1b", "NGRAM": "ngram"}
_GENERATION_PATHS = ("/generate", "/v1/completions", "/v1/chat/completions")
_EOS_TOKEN_ID = 128009  # Llama 3's <|eot_id|>; the simulated model "emits" it to stop
_FIRST_WORD_ID = 1000
_MAX_BODY_BYTES = 8 * 1024 * 1024
_KEEPALIVE_S = 5.0  # idle keep-alive connections close after this (uvicorn's default), also bounds body reads
_MAX_LAG_S = 0.05  # the scheduler catches up on lost wall time up to this much, then resets its clock
_PREFILL_CHUNK_TOKENS = 4096  # the cost model's most tokens per sequence in one forward pass
_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "with",
    "was",
    "on",
    "be",
    "by",
    "this",
    "are",
    "from",
    "at",
    "or",
    "an",
    "which",
    "not",
    "have",
    "has",
    "one",
    "all",
    "can",
    "more",
    "their",
    "will",
    "other",
    "about",
    "into",
    "than",
    "its",
    "only",
    "some",
    "time",
    "two",
    "may",
    "then",
    "these",
    "also",
    "first",
    "use",
    "model",
    "token",
    "draft",
    "target",
    "verify",
    "accept",
    "speed",
    "batch",
    "server",
    "memory",
    "cache",
    "layer",
    "tree",
    "chain",
    "step",
    "pass",
    "count",
    "list",
    "code",
    "function",
    "value",
    "return",
    "print",
    "data",
    "table",
    "query",
    "result",
    "order",
    "sum",
    "loop",
    "index",
    "string",
    "river",
    "mountain",
    "lantern",
    "velvet",
    "comet",
    "orchard",
    "harbor",
    "whisper",
    "meadow",
    "ember",
    "tide",
    "crystal",
    "glacier",
    "echo",
    "story",
    "poem",
    "dream",
    "silver",
    "garden",
    "forest",
    "window",
    "shadow",
    "morning",
    "music",
    "color",
    "ocean",
    "light",
    "stone",
    "bridge",
    "quickly",
    "slowly",
    "gently",
    "brightly",
    "softly",
    "clearly",
    "simply",
    "nearly",
    "always",
    "never",
    "often",
    "rarely",
    "here",
    "there",
    "blue",
    "green",
    "red",
    "yellow",
    "purple",
    "orange",
    "golden",
    "quiet",
    "ancient",
    "curious",
    "hidden",
    "gentle",
    "bright",
    "wild",
    "calm",
]


def model_id_for(target: str) -> str:
    """The model id the practice server reports for a cost-model target preset (says "simulated")."""
    return f"speclab-practice/{target}-simulated"


@dataclass
class PracticeConfig:
    """Settings of one practice server. Times are seconds; ``time_scale`` multiplies model time.

    ``num_steps`` / ``eagle_topk`` / ``num_draft_tokens``: set all three or none (SGLang's rule; none means
    SGLang's automatic choice for the target). ``category_alpha``: acceptance probability per prompt
    category (keys as in ``prompts.toml``, plus ``"unknown"``); ``None`` uses the illustrative defaults
    from ``prompts.toml``. ``fixed_ttft_s`` / ``fixed_itl_s`` / ``tokens_per_event``: when either time is
    set, requests skip the simulated scheduler and get exactly this timing (ITL per token; one event per
    ``tokens_per_event`` tokens after a first event of one token). ``legacy_spec_meta``: the final
    ``meta_info`` uses older servers' names (late 2025: ``spec_accept_token_num`` /
    ``spec_draft_token_num``, next to ``spec_verify_ct``) instead of ``spec_num_correct_drafts`` and friends.
    ``spec_tokens_details``: the OpenAI endpoints honour ``"return_spec_tokens_details": true`` with
    ``sglext.spec_tokens_details`` (servers from Aug 2026 on); off, the field is ignored as older servers do.
    """

    speculative: bool = False
    algorithm: str = "EAGLE3"
    draft_model: str | None = None
    num_steps: int | None = None
    eagle_topk: int | None = None
    num_draft_tokens: int | None = None
    hardware: str = "h100-sxm"
    target: str = "llama-3.1-8b"
    draft: str = _DEFAULT_DRAFT_PRESET
    category_alpha: dict[str, float] | None = None
    time_scale: float = 1.0
    max_running_requests: int | None = None
    fault: str | None = None
    fixed_ttft_s: float | None = None
    fixed_itl_s: float | None = None
    tokens_per_event: int | None = None
    api_key: str | None = None
    incremental_output: bool = False
    seed: int = 0
    port: int = 0
    host: str = "127.0.0.1"
    context_length: int = 131072
    enable_metrics: bool = True
    stats_interval_steps: int = 40
    fault_after_events: int = 3
    slow_start_s: float = 20.0
    stall_s: float = 600.0
    huge_response_bytes: int = 2 * 1024**3
    legacy_spec_meta: bool = False
    spec_tokens_details: bool = False


@dataclass(frozen=True)
class _Resolved:
    """A validated config plus everything derived from it."""

    config: PracticeConfig
    algorithm: str | None
    num_steps: int | None
    eagle_topk: int | None
    num_draft_tokens: int | None
    gamma: int  # most drafts one verify pass can accept (0 without speculation)
    max_running_requests: int
    category_alpha: dict[str, float]
    natural_length: dict[str, int]
    model_id: str
    draft_model: str | None
    draft_preset: str = "eagle3-llama-3.1-8b"  # cost-model draft actually priced
    notes: list[str] = field(default_factory=list)


def _resolve(config: PracticeConfig) -> _Resolved:
    """Validate ``config`` (raising ``ValueError`` with a clear message) and derive the server settings."""
    c = config
    if c.fault is not None and c.fault not in FAULT_MODES:
        raise ValueError(f"unknown fault mode {c.fault!r}; choose one of: {', '.join(FAULT_MODES)}")
    if not (isinstance(c.time_scale, int | float) and math.isfinite(c.time_scale) and c.time_scale >= 0):
        raise ValueError(f"time_scale must be a finite number >= 0, got {c.time_scale!r}")
    if not isinstance(c.port, int) or not 0 <= c.port <= 65535:
        raise ValueError(f"port must be between 0 and 65535, got {c.port!r}")
    for name in ("fixed_ttft_s", "fixed_itl_s", "slow_start_s", "stall_s"):
        value = getattr(c, name)
        if value is not None and not (math.isfinite(float(value)) and float(value) >= 0):
            raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    for name in ("stats_interval_steps", "context_length", "huge_response_bytes"):
        if int(getattr(c, name)) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(c, name)!r}")
    if c.tokens_per_event is not None and int(c.tokens_per_event) < 1:
        raise ValueError(f"tokens_per_event must be >= 1, got {c.tokens_per_event!r}")
    if c.max_running_requests is not None and int(c.max_running_requests) < 1:
        raise ValueError(f"max_running_requests must be >= 1, got {c.max_running_requests!r}")
    if isinstance(c.seed, bool) or not isinstance(c.seed, int) or c.seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {c.seed!r}")
    if c.api_key is not None and (not isinstance(c.api_key, str) or not c.api_key.strip()):
        raise ValueError("api_key must be a non-empty string (or None for no key)")

    assumptions = practice_assumptions()
    alpha = dict(assumptions.category_alpha)
    if c.category_alpha:
        alpha.update({str(k): float(v) for k, v in c.category_alpha.items()})
    for key, value in alpha.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"category_alpha[{key!r}] must lie in [0, 1], got {value!r}")
    notes: list[str] = []
    algorithm = steps = topk = tokens = None
    gamma = 0
    draft_model = None
    if c.speculative:
        algorithm = str(c.algorithm).upper()
        if algorithm == "LOOKAHEAD":
            raise ValueError("LOOKAHEAD was renamed NGRAM in SGLang (2025-09); use NGRAM")
        if algorithm not in SPECULATIVE_ALGORITHMS:
            raise ValueError(
                f"unknown speculative algorithm {c.algorithm!r}; choose one of {SPECULATIVE_ALGORITHMS}"
            )
        try:
            spec = resolve_spec_params(c.target, c.num_steps, c.eagle_topk, c.num_draft_tokens)
        except LaunchRuleError as error:
            raise ValueError(str(error)) from None
        steps, topk, tokens, gamma = (
            spec.num_steps,
            spec.eagle_topk,
            spec.num_draft_tokens,
            spec.max_accepted_drafts,
        )
        notes += spec.notes + spec.warnings
    if c.speculative and c.tokens_per_event is not None and int(c.tokens_per_event) > gamma + 1:
        raise ValueError(
            f"tokens_per_event {c.tokens_per_event} is more than one verify pass can yield "
            f"(accepted drafts + 1 <= {gamma + 1} with these speculation settings)"
        )
    running = c.max_running_requests or (48 if c.speculative else 256)
    draft_preset = c.draft
    if c.speculative and c.draft == _DEFAULT_DRAFT_PRESET and algorithm in _ALGORITHM_DRAFT_PRESETS:
        draft_preset = _ALGORITHM_DRAFT_PRESETS[algorithm]
        notes.append(f"{algorithm}: drafting priced as the cost model's {draft_preset!r} preset.")
    if c.speculative and algorithm not in ("NEXTN", "NGRAM"):
        draft_model = c.draft_model or f"speclab-practice/{draft_preset}-simulated"
    return _Resolved(
        config=c,
        algorithm=algorithm,
        num_steps=steps,
        eagle_topk=topk,
        num_draft_tokens=tokens,
        gamma=gamma,
        max_running_requests=int(running),
        category_alpha=alpha,
        natural_length=dict(assumptions.natural_length_tokens),
        model_id=model_id_for(c.target),
        draft_model=draft_model,
        draft_preset=draft_preset,
        notes=notes,
    )


# --------------------------------------------------------------------------------------------------
# Model time: cost model (roofline) and Monte Carlo acceptance, with a clearly marked stand-in while
# those modules are absent.


class _Timing:
    """Step times in model seconds for one (hardware, target, draft) triple, from :mod:`core.simulation.cost_model`."""

    def __init__(self, resolved: _Resolved):
        c = resolved.config
        self.hardware, self.target, self.draft = c.hardware, c.target, resolved.draft_preset
        self.gamma = resolved.gamma
        self.speculative = c.speculative
        try:  # fail at start, with the cost model's own message, when a preset id is unknown
            self.decode_step_s(1, 128)
            self.prefill_s([128])
        except ValueError as error:
            raise ValueError(f"cost model presets: {error}") from None

    def decode_step_s(self, batch_size: int, context_len: int) -> float:
        """Model seconds of one decode step (one verify pass with speculation) for the whole batch.

        With speculation the cost model prices a chain of ``gamma`` drafts (the tree depth); a wider
        tree (topk > 1) costs somewhat more on a real GPU.
        """
        batch_size, context_len = max(1, int(batch_size)), max(1, int(context_len))
        if self.speculative and self.gamma > 0:
            return float(
                cost_model.speculative_step_time_s(
                    self.hardware, self.target, self.draft, batch_size, context_len, self.gamma
                )
            )
        return float(cost_model.baseline_step_time_s(self.hardware, self.target, batch_size, context_len))

    def prefill_s(self, prompt_lengths: list[int]) -> float:
        """Model seconds to prefill these prompts together: one target forward over all their tokens.

        Each prompt feeds its tokens at once (no KV cache to read yet); prompts longer than the cost
        model's per-pass limit are prefilled in chunks, as SGLang's chunked prefill does.
        """
        count = max(1, len(prompt_lengths))
        per_sequence = max(1, math.ceil(sum(prompt_lengths) / count))
        chunks = math.ceil(per_sequence / _PREFILL_CHUNK_TOKENS)
        tokens = math.ceil(per_sequence / chunks)
        return chunks * float(cost_model.forward_time_s(self.hardware, self.target, count, tokens, 0))


def _sample_accepted(alpha: float, gamma: int, n: int, seed: int) -> list[int]:
    """Accepted draft counts (0..gamma) for ``n`` verify passes with i.i.d. acceptance ``alpha``.

    Imported lazily: a baseline server never loads Numba.
    """
    from core.simulation.montecarlo import sample_accepted_counts

    return [int(x) for x in sample_accepted_counts(float(alpha), int(gamma), int(n), int(seed))]


def _stable_seed(*parts) -> int:
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


_TOKEN_RE = re.compile(r"\w+|[^\w\s]")


def _count_prompt_tokens(text: str) -> int:
    """The practice server's pseudo-tokenizer: words and punctuation marks, at least 1 token."""
    return max(1, len(_TOKEN_RE.findall(text)))


# --------------------------------------------------------------------------------------------------
# Requests and the batching scheduler.


@dataclass
class _Chunk:
    """Tokens one step added to one request; ``finish`` set on the last chunk."""

    token_ids: list[int]
    finish: dict | None = None
    final_meta: dict | None = None


class _Request:
    """One generation request inside the scheduler. Only the scheduler thread mutates it (except
    ``cancelled``, a flag the HTTP thread sets when the client leaves)."""

    def __init__(
        self,
        rid: str,
        prompt: str,
        prompt_tokens: int,
        max_new_tokens: int,
        ignore_eos: bool,
        resolved: _Resolved,
        seed: int,
        sequence_number: int,
    ):
        self.rid = rid
        self.prompt_tokens = prompt_tokens
        self.max_new_tokens = max_new_tokens
        self.category = category_of(prompt)
        key = self.category or UNKNOWN_CATEGORY
        self.alpha = resolved.category_alpha.get(key, resolved.category_alpha[UNKNOWN_CATEGORY])
        natural = resolved.natural_length.get(key, resolved.natural_length[UNKNOWN_CATEGORY])
        prompt_seed = _stable_seed(seed, prompt)
        self._words = random.Random(prompt_seed)  # same prompt, same text (greedy-like)
        # Natural length varies +-25% by prompt, deterministic.
        self.natural_length = max(
            1, int(round(natural * (0.75 + 0.5 * random.Random(prompt_seed + 1).random())))
        )
        self.stop_at = None if ignore_eos else self.natural_length
        self.produced = 0
        self.verify_ct = 0
        self.correct_drafts = 0
        self.histogram = [0] * (resolved.gamma + 1)
        self.gamma = resolved.gamma
        self._draws: list[int] = []
        # Acceptance draws: reproducible for the n-th request of a server with a given seed and prompt.
        self._draw_seed = _stable_seed(seed, prompt, sequence_number)
        self.chunks: queue.SimpleQueue[_Chunk] = queue.SimpleQueue()
        self.cancelled = False
        self.finished = False
        self.received = time.monotonic()

    def accepted_drafts(self) -> int:
        """Accepted draft tokens for the next verify pass (Monte Carlo, drawn in blocks)."""
        if self.verify_ct >= len(self._draws):
            block = min(max(64, self.max_new_tokens), 4096)
            seed = _stable_seed(self._draw_seed, len(self._draws))
            self._draws += _sample_accepted(self.alpha, self.gamma, block, seed)
        return self._draws[self.verify_ct]

    def next_tokens(self, count: int) -> tuple[list[int], dict | None]:
        """Produce up to ``count`` tokens; returns them and the finish reason if the request is done."""
        ids: list[int] = []
        finish = None
        for _ in range(count):
            if (
                self.stop_at is not None
                and self.produced + 1 >= self.stop_at
                and self.produced + 1 <= self.max_new_tokens
            ):
                ids.append(_EOS_TOKEN_ID)
                self.produced += 1
                finish = {"type": "stop", "matched": _EOS_TOKEN_ID}
                break
            ids.append(_FIRST_WORD_ID + self._words.randrange(len(_WORDS)))
            self.produced += 1
            if self.produced >= self.max_new_tokens:
                finish = {"type": "length", "length": self.max_new_tokens}
                break
        if finish is None and self.produced >= self.max_new_tokens:
            finish = {"type": "length", "length": self.max_new_tokens}
        return ids, finish

    def spec_meta(self, legacy: bool = False) -> dict:
        """The per-request speculation statistics of the final ``meta_info``."""
        proposed = self.verify_ct * self.gamma
        if legacy:
            return {
                "spec_verify_ct": self.verify_ct,
                "spec_accept_token_num": self.correct_drafts,
                "spec_draft_token_num": proposed,
            }
        return {
            "spec_verify_ct": self.verify_ct,
            "spec_accept_length": self.produced / max(1, self.verify_ct),
            "spec_accept_rate": (self.correct_drafts / proposed) if proposed else 0.0,
            "spec_num_correct_drafts": self.correct_drafts,
            "spec_num_proposed_drafts": proposed,
            "spec_accept_histogram": list(self.histogram),
        }


class _Stats:
    """Counters the scheduler keeps (guarded by a lock; read by /server_info and :meth:`stats`)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.decode_steps = 0
        self.decode_model_s = 0.0
        self.prefill_batches = 0
        self.prefill_model_s = 0.0
        self.tokens = 0
        self.requests_finished = 0
        self.by_batch: dict[int, list[float]] = {}  # batch size -> [steps, model seconds]
        self.cum_accept_tokens = 0  # since start or flush, counted at each refresh
        self.cum_verify_ct = 0
        self.pending_accept_tokens = 0
        self.pending_verify_ct = 0
        self.avg_spec_accept_length: float | None = None
        self.last_gen_throughput = 0.0
        self.interval_tokens = 0
        self.interval_start = time.monotonic()
        self.last_interval_verify = (0, 0)  # tokens, verify passes in the last interval (for /metrics)
        self.total_verify_ct = 0


class _Engine:
    """The batching scheduler thread: prefill newcomers, then one decode step for every running request."""

    def __init__(self, resolved: _Resolved, timing: _Timing, stop: threading.Event):
        self.resolved = resolved
        self.timing = timing
        self.stop = stop
        self.cond = threading.Condition()
        self.waiting: collections.deque[_Request] = collections.deque()
        self.running: list[_Request] = []  # scheduler thread only
        self.live = 0  # submitted and not yet finished or dropped (guarded by cond)
        self._deadline: float | None = None  # wall clock at which the current step ends
        self.stats = _Stats()
        self.thread = threading.Thread(target=self._loop, name="practice-scheduler", daemon=True)

    # -- called from HTTP threads
    def submit(self, request: _Request) -> None:
        with self.cond:
            self.waiting.append(request)
            self.live += 1
            self.cond.notify()

    def busy(self) -> bool:
        """Whether any request is queued or running."""
        with self.cond:
            return self.live > 0

    def _retire(self, count: int) -> None:
        if count:
            with self.cond:
                self.live -= count

    # -- scheduler thread
    def _sleep_model(self, model_s: float) -> None:
        """Let ``model_s`` simulated seconds pass (times ``time_scale``) on a running deadline, so the time
        the scheduler spends on its own bookkeeping is absorbed instead of added to every step."""
        wall = model_s * self.resolved.config.time_scale
        now = time.monotonic()
        if self._deadline is None or self._deadline < now - _MAX_LAG_S:
            self._deadline = now  # idle or far behind: start a fresh timeline
        self._deadline += wall
        delay = self._deadline - now
        if delay > 0:
            self.stop.wait(delay)

    def _emit(self, request: _Request, ids: list[int], finish: dict | None) -> None:
        final = None
        if finish is not None:
            request.finished = True
            final = {"e2e_latency": time.monotonic() - request.received}
            if self.resolved.config.speculative:
                final.update(request.spec_meta(self.resolved.config.legacy_spec_meta))
        request.chunks.put(_Chunk(ids, finish, final))

    def _loop(self) -> None:
        cfg = self.resolved.config
        while not self.stop.is_set():
            with self.cond:
                while not self.waiting and not self.running and not self.stop.is_set():
                    self.cond.wait(0.25)
                if self.stop.is_set():
                    break
                admitted = []
                dropped = 0
                while self.waiting and len(self.running) + len(admitted) < self.resolved.max_running_requests:
                    request = self.waiting.popleft()
                    if request.cancelled:
                        dropped += 1
                    else:
                        admitted.append(request)
                # Requests whose client left are dropped here.
                kept = [r for r in self.running if not r.cancelled]
                dropped += len(self.running) - len(kept)
                self.running = kept
                self.live -= dropped
            if admitted:
                model_s = self.timing.prefill_s([r.prompt_tokens for r in admitted])
                self._sleep_model(model_s)
                with self.stats.lock:
                    self.stats.prefill_batches += 1
                    self.stats.prefill_model_s += model_s
                for request in admitted:
                    if request.max_new_tokens == 0:
                        self._emit(request, [], {"type": "length", "length": 0})
                        continue
                    ids, finish = request.next_tokens(1)  # prefill yields the first token
                    self._emit(request, ids, finish)
                    self._count_tokens(len(ids), 0, 0, decode_step=False)
                    if finish is None:
                        self.running.append(request)
                self._finish_bookkeeping(admitted)
                continue
            if not self.running:
                continue
            batch = self.running
            context = int(sum(r.prompt_tokens + r.produced for r in batch) / len(batch))
            model_s = self.timing.decode_step_s(len(batch), context)
            self._sleep_model(model_s)
            if self.stop.is_set():
                break
            step_tokens = step_verify = step_accepted = 0
            for request in batch:
                if request.cancelled:
                    continue
                if cfg.speculative and self.resolved.gamma > 0:
                    accepted = request.accepted_drafts()
                    ids, finish = request.next_tokens(1 + accepted)
                    used = len(ids) - 1
                    request.verify_ct += 1
                    request.correct_drafts += used
                    request.histogram[used] += 1
                    step_verify += 1
                    step_accepted += len(ids)
                else:
                    ids, finish = request.next_tokens(1)
                    if cfg.speculative:  # gamma 0 cannot happen with SGLang's rules; kept for safety
                        request.verify_ct += 1
                        request.histogram[0] += 1
                step_tokens += len(ids)
                self._emit(request, ids, finish)
            with self.stats.lock:
                s = self.stats
                s.decode_steps += 1
                s.decode_model_s += model_s
                entry = s.by_batch.setdefault(len(batch), [0, 0.0])
                entry[0] += 1
                entry[1] += model_s
            self._count_tokens(step_tokens, step_accepted, step_verify, decode_step=True)
            self._finish_bookkeeping(batch)
            kept = [r for r in self.running if not r.finished and not r.cancelled]
            dropped = sum(1 for r in self.running if r.cancelled and not r.finished)
            self.running = kept
            self._retire(dropped)

    def _count_tokens(self, tokens: int, accept_tokens: int, verify_ct: int, decode_step: bool) -> None:
        with self.stats.lock:
            s = self.stats
            s.tokens += tokens
            s.interval_tokens += tokens
            s.pending_accept_tokens += accept_tokens
            s.pending_verify_ct += verify_ct
            s.total_verify_ct += verify_ct
            if decode_step and s.decode_steps % self.resolved.config.stats_interval_steps == 0:
                self._refresh_locked()

    def _refresh_locked(self) -> None:
        """SGLang refreshes its logged decode stats every 40 decode steps; so does this server."""
        s = self.stats
        now = time.monotonic()
        s.cum_accept_tokens += s.pending_accept_tokens
        s.cum_verify_ct += s.pending_verify_ct
        s.last_interval_verify = (s.pending_accept_tokens, s.pending_verify_ct)
        s.pending_accept_tokens = s.pending_verify_ct = 0
        if s.cum_verify_ct:
            s.avg_spec_accept_length = s.cum_accept_tokens / s.cum_verify_ct
        elapsed = now - s.interval_start
        s.last_gen_throughput = s.interval_tokens / elapsed if elapsed > 0 else 0.0
        s.interval_tokens = 0
        s.interval_start = now

    def _finish_bookkeeping(self, requests: list[_Request]) -> None:
        # A request finishes exactly once: at prefill (then never runs) or in one decode batch.
        done = sum(1 for r in requests if r.finished)
        if done:
            with self.stats.lock:
                self.stats.requests_finished += done
            self._retire(done)

    def flush(self) -> bool:
        """Reset the accept-length counters (SGLang's /flush_cache); refused while requests run."""
        if self.busy():
            return False
        with self.stats.lock:
            s = self.stats
            s.cum_accept_tokens = s.cum_verify_ct = s.pending_accept_tokens = s.pending_verify_ct = 0
            s.avg_spec_accept_length = None
        return True


# --------------------------------------------------------------------------------------------------
# Chunk sources: the scheduler's queue, or a fixed-timing generator.


def _engine_chunks(request: _Request, stop: threading.Event) -> Iterator[_Chunk]:
    while True:
        try:
            chunk = request.chunks.get(timeout=0.2)
        except queue.Empty:
            if stop.is_set():
                return
            continue
        yield chunk
        if chunk.finish is not None:
            return


def _fixed_chunks(request: _Request, resolved: _Resolved, stop: threading.Event) -> Iterator[_Chunk]:
    """Exactly known timing: the first token at ``fixed_ttft_s`` after the request arrived, then
    ``tokens_per_event`` tokens per event, each event ``fixed_itl_s`` x its token count after the last."""
    cfg = resolved.config
    itl = float(cfg.fixed_itl_s or 0.0)
    per_event = int(cfg.tokens_per_event or 1)
    start = request.received
    due = start + float(cfg.fixed_ttft_s or 0.0)
    if request.max_new_tokens == 0:
        if stop.wait(max(0.0, due - time.monotonic())):
            return
        yield _Chunk([], {"type": "length", "length": 0}, {"e2e_latency": time.monotonic() - start})
        return
    first = True
    while True:
        ids, finish = request.next_tokens(1 if first else per_event)
        if not first:
            due += itl * len(ids)
            request.verify_ct += 1
            used = min(len(ids) - 1, request.gamma)
            request.correct_drafts += used
            request.histogram[used] += 1
        first = False
        if stop.wait(max(0.0, due - time.monotonic())):
            return
        final = None
        if finish is not None:
            final = {"e2e_latency": time.monotonic() - start}
            if cfg.speculative:
                final.update(request.spec_meta(cfg.legacy_spec_meta))
        yield _Chunk(ids, finish, final)
        if finish is not None:
            return


# --------------------------------------------------------------------------------------------------
# HTTP.


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class _ClientGone(Exception):
    pass


def _sse(obj) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode("utf-8") + b"\n\n"


def _token_text(token_id: int) -> str:
    if token_id == _EOS_TOKEN_ID:
        return ""
    return " " + _WORDS[(token_id - _FIRST_WORD_ID) % len(_WORDS)]


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads: a clean stop
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address, handler, practice: PracticeServer):
        self.practice = practice
        super().__init__(address, handler)

    # Track each connection from the moment it is accepted, so stop() can close every one of them.
    def process_request(self, request, client_address):
        self.practice._track(request, True)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        self.practice._track(request, False)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        """One line on stderr instead of socketserver's traceback (errors here are connection-level)."""
        import sys

        print(
            f"practice server: connection error from {client_address[0]}: {sys.exc_info()[1]!r}",
            file=sys.stderr,
        )


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "speclab-practice"
    sys_version = ""

    # -- plumbing
    @property
    def practice(self) -> PracticeServer:
        return self.server.practice  # type: ignore[attr-defined]

    def log_message(self, format, *args):  # noqa: A002 - quiet: the CLI prints its own lines
        return

    def setup(self):
        super().setup()
        # Small SSE writes must leave at once: with Nagle's algorithm plus the client's delayed ACK, an event
        # written right after the headers waits ~40 ms, which would show up as a fake TTFT/ITL. Real
        # servers (uvicorn) set TCP_NODELAY too.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self):
        # An idle keep-alive connection is closed after _KEEPALIVE_S, like uvicorn's default.
        with contextlib.suppress(OSError):
            self.connection.settimeout(_KEEPALIVE_S)
        super().handle_one_request()

    def _body_read(self) -> None:
        """The request is read: no timeout while answering (a stream may legitimately run for minutes)."""
        with contextlib.suppress(OSError):
            self.connection.settimeout(None)

    def _send_bytes(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, obj, headers: dict | None = None) -> None:
        self._send_bytes(status, json.dumps(obj).encode("utf-8"), "application/json", headers)

    def _start_stream(self, content_type: str = "text/event-stream") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _write_chunk(self, data: bytes) -> None:
        if not data:
            return
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError) as error:
            raise _ClientGone() from error

    def _end_stream(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError as error:
            raise _ClientGone() from error

    def _abort_connection(self) -> None:
        """Close the TCP connection at once (no terminating chunk): a truncated response."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _client_closed(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True
        return False

    def _read_json(self) -> dict:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raise _BadRequest("chunked request bodies are not supported; send Content-Length", 411)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise _BadRequest("invalid Content-Length") from None
        if length > _MAX_BODY_BYTES:
            raise _BadRequest(f"request body too large ({length} bytes)", 413)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise _BadRequest(f"request body is not valid JSON: {error}") from None
        if not isinstance(body, dict):
            raise _BadRequest("request body must be a JSON object")
        self._body_read()
        return body

    def _authorized(self, path: str) -> bool:
        key = self.practice.config.api_key
        if not key or path.startswith("/health") or path.startswith("/metrics"):
            return True
        return self.headers.get("Authorization") == f"Bearer {key}"

    # -- dispatch
    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def do_HEAD(self):  # noqa: N802
        self._dispatch("HEAD")

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        practice = self.practice
        try:
            if path == "/speclab/redirected":
                page = (
                    b"<!doctype html><html><body><h1>Sign in</h1><p>Not an SGLang server.</p></body></html>"
                )
                if method == "POST":
                    self._drain_body()
                self._send_bytes(200, page, "text/html; charset=utf-8")
                return
            if not self._authorized(path):
                if method == "POST":
                    self._drain_body()
                self._send_json(401, {"error": "Unauthorized"})
                return
            routes_get = {
                "/health": self._health,
                "/health_generate": self._health,
                "/v1/models": self._models,
                "/model_info": self._model_info,
                "/get_model_info": self._model_info,
                "/server_info": self._server_info,
                "/get_server_info": self._server_info,
                "/metrics": self._metrics,
            }
            routes_post = {
                "/generate": self._generate,
                "/v1/completions": self._openai_completions,
                "/v1/chat/completions": self._openai_chat,
                "/flush_cache": self._flush_cache,
            }
            if method in ("GET", "HEAD") and path in routes_get:
                routes_get[path]()
            elif method == "POST" and path in routes_post:
                if path in _GENERATION_PATHS and practice.config.fault in ("http500", "http404", "redirect"):
                    self._drain_body()
                    self._http_fault(practice.config.fault)
                    return
                routes_post[path]()
            elif path == "/flush_cache" and method == "GET":
                self._flush_cache()
            elif path in routes_get or path in routes_post:
                self._drain_body()
                self._send_json(405, {"detail": "Method Not Allowed"})
            else:
                self._drain_body()
                self._send_json(404, {"detail": "Not Found"})
        except _BadRequest as error:
            self._send_json(error.status, {"error": {"message": str(error)}})
        except _ClientGone:
            self.close_connection = True
        except (TimeoutError, ConnectionError):
            self.close_connection = True
        except Exception as error:  # a bug here must not kill the connection silently or print a traceback
            self.close_connection = True
            with contextlib.suppress(Exception):
                self._send_json(500, {"error": {"message": f"practice server internal error: {error!r}"}})

    def _drain_body(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if 0 < length <= _MAX_BODY_BYTES:
            self.rfile.read(length)
        elif length:
            self.close_connection = True
        self._body_read()

    def _http_fault(self, fault: str) -> None:
        if fault == "http500":
            self._send_json(
                500, {"error": {"message": "practice server fault http500: internal server error"}}
            )
        elif fault == "http404":
            self._send_json(404, {"detail": "Not Found"})
        else:
            location = f"{self.practice.url}/speclab/redirected"
            self._send_bytes(302, b"", "text/plain", {"Location": location})

    # -- informational endpoints
    def _health(self) -> None:
        if self.practice.config.fault == "health_503":
            self._send_bytes(503, b"", "text/plain")
        else:
            self._send_bytes(200, b"", "text/plain")

    def _models(self) -> None:
        p = self.practice
        self._send_json(
            200,
            {
                "object": "list",
                "data": [
                    {
                        "id": p.resolved.model_id,
                        "object": "model",
                        "created": int(p.started_at),
                        "owned_by": "sglang",
                        "root": p.resolved.model_id,
                        "max_model_len": p.config.context_length,
                    }
                ],
            },
        )

    def _model_info(self) -> None:
        p = self.practice
        self._send_json(
            200,
            {
                "model_path": p.resolved.model_id,
                "tokenizer_path": p.resolved.model_id,
                "is_generation": True,
                "preferred_sampling_params": None,
                "weight_version": "default",
                "has_image_understanding": False,
                "has_audio_understanding": False,
                "speclab_practice_server": True,
            },
        )

    def _server_info(self) -> None:
        self._send_json(200, self.practice.server_info())

    def _metrics(self) -> None:
        if not self.practice.config.enable_metrics:
            self._send_json(404, {"detail": "Not Found"})
            return
        self._send_bytes(200, self.practice.metrics_text().encode("utf-8"), "text/plain; version=0.0.4")

    def _flush_cache(self) -> None:
        self._drain_body()
        if self.practice.engine.flush():
            self._send_bytes(200, b"Cache flushed.\n", "text/plain")
        else:
            self._send_bytes(
                400,
                b"Cache not flushed: there are running or waiting requests. Try again when the server is idle.\n",
                "text/plain",
            )

    # -- generation
    def _new_request(self, prompt: str, prompt_tokens: int, max_new_tokens, ignore_eos) -> _Request:
        p = self.practice
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
            raise _BadRequest(f"max_new_tokens must be a whole number >= 0, got {max_new_tokens!r}")
        if prompt_tokens + max_new_tokens > p.config.context_length:
            raise _BadRequest(
                f"Requested token count exceeds the model's maximum context length of {p.config.context_length} "
                f"tokens. You requested a total of {prompt_tokens + max_new_tokens} tokens: {prompt_tokens} tokens "
                f"from the input messages and {max_new_tokens} tokens for the completion."
            )
        rid = uuid.uuid4().hex
        return _Request(
            rid,
            prompt,
            prompt_tokens,
            max_new_tokens,
            bool(ignore_eos),
            p.resolved,
            p.config.seed,
            p._next_sequence_number(),
        )

    def _chunks(self, request: _Request) -> Iterator[_Chunk]:
        """Start the request and yield its chunks (handles slow_start and cancellation)."""
        p = self.practice
        cfg = p.config
        if cfg.fault == "slow_start" and p.stop_event.wait(cfg.slow_start_s):
            return iter(())
        if cfg.fixed_ttft_s is not None or cfg.fixed_itl_s is not None:
            return _fixed_chunks(request, p.resolved, p.stop_event)
        p.engine.submit(request)
        return _engine_chunks(request, p.stop_event)

    def _generate(self) -> None:
        body = self._read_json()
        if "text" in body and body["text"] is not None:
            prompt = body["text"]
            if not isinstance(prompt, str):
                raise _BadRequest("the practice server takes one prompt per request: 'text' must be a string")
            prompt_tokens = _count_prompt_tokens(prompt)
        elif isinstance(body.get("input_ids"), list) and all(isinstance(i, int) for i in body["input_ids"]):
            prompt = " ".join(str(i) for i in body["input_ids"])
            prompt_tokens = max(1, len(body["input_ids"]))
        else:
            raise _BadRequest("request needs 'text' (a string) or 'input_ids' (a list of token ids)")
        params = body.get("sampling_params") or {}
        if not isinstance(params, dict):
            raise _BadRequest("'sampling_params' must be an object")
        request = self._new_request(
            prompt, prompt_tokens, params.get("max_new_tokens", 128), params.get("ignore_eos", False)
        )
        if body.get("rid"):
            request.rid = str(body["rid"])
        stream = bool(body.get("stream", False))
        incremental = self.practice.config.incremental_output
        state = {"ids": []}

        def event(chunk: _Chunk) -> dict:
            state["ids"] += chunk.token_ids
            ids = chunk.token_ids if incremental else list(state["ids"])
            meta = {
                "id": request.rid,
                "finish_reason": chunk.finish,
                "prompt_tokens": prompt_tokens,
                "weight_version": "default",
                "completion_tokens": len(state["ids"]),
                "cached_tokens": 0,
            }
            if chunk.final_meta:
                meta.update(chunk.final_meta)
            return {"text": "".join(_token_text(t) for t in ids), "output_ids": ids, "meta_info": meta}

        self._serve(request, stream, event, native=True)

    def _openai_common(self, body: dict, chat: bool) -> tuple[_Request, bool, bool]:
        if chat:
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages:
                raise _BadRequest("'messages' must be a non-empty list")
            parts, last_user = [], ""
            for message in messages:
                if not isinstance(message, dict):
                    raise _BadRequest("each message must be an object with 'role' and 'content'")
                content = message.get("content")
                if isinstance(content, list):
                    content = " ".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
                content = "" if content is None else str(content)
                parts.append(f"<|{message.get('role', 'user')}|> {content}")
                if message.get("role") == "user":
                    last_user = content
            prompt_tokens = _count_prompt_tokens(" ".join(parts)) + 4  # template tokens
            prompt = last_user
            default_max = None
        else:
            prompt = body.get("prompt")
            if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
                prompt = prompt[0]
            if not isinstance(prompt, str):
                raise _BadRequest(
                    "the practice server takes one prompt per request: 'prompt' must be a string"
                )
            prompt_tokens = _count_prompt_tokens(prompt)
            default_max = 16
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens", default_max))
        if max_tokens is None:
            max_tokens = max(0, self.practice.config.context_length - prompt_tokens)
        request = self._new_request(prompt, prompt_tokens, max_tokens, body.get("ignore_eos", False))
        options = body.get("stream_options") or {}
        include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
        return request, bool(body.get("stream", False)), include_usage

    def _openai_completions(self) -> None:
        self._openai(chat=False)

    def _openai_chat(self) -> None:
        self._openai(chat=True)

    def _openai(self, chat: bool) -> None:
        body = self._read_json()
        request, stream, include_usage = self._openai_common(body, chat)
        p = self.practice
        created = int(time.time())
        response_id = ("chatcmpl-" if chat else "cmpl-") + request.rid
        obj = "chat.completion.chunk" if chat else "text_completion"
        state = {"n": 0, "role_sent": False}
        want_details = bool(body.get("return_spec_tokens_details")) and p.config.spec_tokens_details

        def details(chunk: _Chunk) -> dict:
            """``{"sglext": {"spec_tokens_details": ...}}`` when asked for and supported, else ``{}``."""
            if not want_details or not p.config.speculative or chunk.final_meta is None:
                return {}
            spec = {k: v for k, v in chunk.final_meta.items() if k.startswith("spec_")}
            return {"sglext": {"spec_tokens_details": spec}}

        def finish_name(finish: dict | None) -> str | None:
            return None if finish is None else finish["type"]

        def chunk_events(chunk: _Chunk) -> list[dict]:
            state["n"] += len(chunk.token_ids)
            text = "".join(_token_text(t) for t in chunk.token_ids)
            events = []
            if chat:
                delta = {"content": text}
                if not state["role_sent"]:
                    delta = {"role": "assistant", "content": text}
                    state["role_sent"] = True
                if text or delta.get("role"):
                    events.append(self._oa_chunk(response_id, obj, created, {"delta": delta}, None))
                if chunk.finish is not None:
                    events.append(
                        self._oa_chunk(response_id, obj, created, {"delta": {}}, finish_name(chunk.finish))
                        | details(chunk)
                    )
            else:
                if text or chunk.finish is not None:
                    events.append(
                        self._oa_chunk(response_id, obj, created, {"text": text}, finish_name(chunk.finish))
                        | (details(chunk) if chunk.finish is not None else {})
                    )
            if chunk.finish is not None and include_usage:
                events.append(
                    {
                        "id": response_id,
                        "object": obj,
                        "created": created,
                        "model": p.resolved.model_id,
                        "choices": [],
                        "usage": self._usage(request.prompt_tokens, state["n"]),
                    }
                )
            return events

        if stream:
            self._serve(request, True, None, native=False, openai_events=chunk_events)
            return
        chunks = self._fault_wrapped_nonstream(request)
        if chunks is None:
            return
        text = "".join(_token_text(t) for c in chunks for t in c.token_ids)
        n = sum(len(c.token_ids) for c in chunks)
        finish = next((c.finish for c in chunks if c.finish is not None), None)
        last = chunks[-1]
        if chat:
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": None,
                "finish_reason": finish_name(finish),
            }
        else:
            choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish_name(finish)}
        self._send_nonstream(
            {
                "id": response_id,
                "object": "chat.completion" if chat else "text_completion",
                "created": created,
                "model": p.resolved.model_id,
                "choices": [choice],
                "usage": self._usage(request.prompt_tokens, n),
            }
            | details(last)
        )

    def _oa_chunk(self, response_id, obj, created, choice_fields: dict, finish_reason) -> dict:
        choice = {"index": 0, **choice_fields, "logprobs": None, "finish_reason": finish_reason}
        return {
            "id": response_id,
            "object": obj,
            "created": created,
            "model": self.practice.resolved.model_id,
            "choices": [choice],
            "usage": None,
        }

    @staticmethod
    def _usage(prompt_tokens: int, completion_tokens: int) -> dict:
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }

    # -- response writing with fault injection
    def _serve(self, request: _Request, stream: bool, native_event, native: bool, openai_events=None) -> None:
        if not stream:
            chunks = self._fault_wrapped_nonstream(request)
            if chunks is None:
                return
            result = None
            for chunk in chunks:
                result = native_event(chunk)
            if result is not None:
                self._send_nonstream(result)
            return
        self._stream(request, native_event if native else None, openai_events)

    def _fault_wrapped_nonstream(self, request: _Request):
        """Chunks for a non-streaming request, or ``None`` when a fault already answered."""
        fault = self.practice.config.fault
        if fault == "huge_response":
            self._huge_nonstream()
            return None
        if fault == "stall":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self._write_raw(b'{"text": "')
            self._stall(request)
            return None
        chunks = list(self._chunks(request))
        if not chunks or chunks[-1].finish is None:
            self.close_connection = True
            return None
        if fault == "error_event":
            self._send_json(
                400, {"error": {"message": "practice server fault error_event: generation failed"}}
            )
            return None
        if fault == "malformed_json":
            self._send_bytes(200, b'{"text": "half a resp', "application/json")
            return None
        if fault == "malformed_sse":
            self._send_bytes(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            return None
        if fault == "truncate":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "4096")
            self.end_headers()
            self._write_raw(b'{"text": "cut off')
            self._abort_connection()
            return None
        return chunks

    def _send_nonstream(self, obj: dict) -> None:
        self._send_json(200, obj)

    def _write_raw(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError as error:
            raise _ClientGone() from error

    def _stall(self, request: _Request) -> None:
        """Keep the connection open, silent, until stall_s passes, the client leaves or the server stops."""
        request.cancelled = True
        deadline = time.monotonic() + self.practice.config.stall_s
        while time.monotonic() < deadline:
            if self.practice.stop_event.wait(0.2) or self._client_closed():
                break
        self._abort_connection()

    def _huge_nonstream(self) -> None:
        total = self.practice.config.huge_response_bytes
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        block = b"a" * (1 << 20)
        self._write_raw(b'{"text": "')
        sent = 10
        while sent < total and not self.practice.stop_event.is_set():
            piece = block[: min(len(block), total - sent)]
            self._write_raw(piece)
            sent += len(piece)
        self._abort_connection()

    def _stream(self, request: _Request, native_event, openai_events) -> None:
        p = self.practice
        fault = p.config.fault
        after = max(0, int(p.config.fault_after_events))
        self._start_stream()
        if fault == "huge_response":
            self._huge_stream(native_event is not None)
            return
        sent = 0
        try:
            for chunk in self._chunks(request):
                if sent == after and fault in (
                    "error_event",
                    "malformed_json",
                    "malformed_sse",
                    "truncate",
                    "stall",
                ):
                    if fault == "error_event":
                        request.cancelled = True
                        self._write_chunk(
                            _sse(
                                {"error": {"message": "practice server fault error_event: generation failed"}}
                            )
                        )
                        break
                    if fault == "malformed_json":
                        self._write_chunk(b'data: {"text": "broken", "meta_info": {"id": \n\n')
                    elif fault == "malformed_sse":
                        self._write_chunk(
                            b"<html><body>proxy error</body></html>\nthis is not an event\n\n: ok\nevent\n\n"
                        )
                    elif fault == "truncate":
                        request.cancelled = True
                        self._abort_connection()
                        return
                    elif fault == "stall":
                        self._stall(request)
                        return
                events = [native_event(chunk)] if native_event is not None else openai_events(chunk)
                for obj in events:
                    self._write_chunk(_sse(obj))
                sent += 1
            else:
                if p.stop_event.is_set():
                    self._abort_connection()
                    return
            self._write_chunk(b"data: [DONE]\n\n")
            self._end_stream()
        except _ClientGone:
            request.cancelled = True
            self.close_connection = True

    def _huge_stream(self, native: bool) -> None:
        total = self.practice.config.huge_response_bytes
        text = "x" * 65536
        payload = (
            _sse({"text": text, "output_ids": [], "meta_info": {"finish_reason": None}})
            if native
            else _sse(
                {
                    "object": "text_completion",
                    "choices": [{"index": 0, "text": text, "delta": {"content": text}}],
                }
            )
        )
        sent = 0
        try:
            while sent < total and not self.practice.stop_event.is_set():
                self._write_chunk(payload)
                sent += len(payload)
            self._abort_connection()
        except _ClientGone:
            self.close_connection = True


# --------------------------------------------------------------------------------------------------


class PracticeServer:
    """A simulated SGLang server on a background thread. Use as a context manager or start()/stop().

    ``start()`` binds ``config.host:config.port`` (port 0 = any free port) and returns the base URL;
    ``serve_forever()`` blocks until :meth:`stop` (or Ctrl-C in the caller). Raises ``ValueError`` for a
    bad config and ``OSError`` when the address is taken.
    """

    def __init__(self, config: PracticeConfig | None = None, **overrides):
        config = (
            replace(config or PracticeConfig(), **overrides) if overrides else (config or PracticeConfig())
        )
        self.config = config
        self.resolved = _resolve(config)
        self.timing = _Timing(self.resolved)
        if config.speculative and self.resolved.gamma > 0:
            # Compile the Monte Carlo kernel now, so the first request's TTFT does not include Numba's JIT.
            _sample_accepted(0.5, self.resolved.gamma, 1, 0)
        self.stop_event = threading.Event()
        self.engine = _Engine(self.resolved, self.timing, self.stop_event)
        self.started_at = time.time()
        self._httpd: _HTTPServer | None = None
        self._serve_thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self.url: str | None = None
        self.thread_prefix = "practice-"
        self._sequence = 0
        self._sequence_lock = threading.Lock()

    def _next_sequence_number(self) -> int:
        with self._sequence_lock:
            self._sequence += 1
            return self._sequence

    # connection tracking, so stop() can unblock handler threads waiting on idle keep-alive sockets
    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def _bind(self) -> str:
        if self._httpd is not None:
            raise RuntimeError("practice server already started")
        self._httpd = _HTTPServer((self.config.host, self.config.port), _Handler, self)
        host, port = self._httpd.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        self.url = f"http://{shown}:{port}"
        self.thread_prefix = f"practice-{port}-"
        self.engine.thread.name = self.thread_prefix + "scheduler"
        self.engine.thread.start()
        return self.url

    def start(self) -> str:
        """Bind and serve on a background thread; returns the base URL (``http://127.0.0.1:PORT``)."""
        url = self._bind()
        self._serve_thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=self.thread_prefix + "http",
            daemon=True,
        )
        self._serve_thread.start()
        return url

    def serve_forever(self) -> None:
        """Bind (unless started) and serve on the calling thread until :meth:`stop` is called."""
        if self._httpd is None:
            self._bind()
        elif self._serve_thread is not None:
            while self._serve_thread.is_alive():  # short joins so Ctrl-C reaches the caller
                self._serve_thread.join(0.5)
            return
        try:
            self._httpd.serve_forever(poll_interval=0.1)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving, end every open stream, and join the threads. Safe to call twice."""
        self.stop_event.set()
        httpd = self._httpd
        if httpd is None:
            return
        if self._serve_thread is not None and self._serve_thread is not threading.current_thread():
            httpd.shutdown()
            self._serve_thread.join(timeout=5)
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self.engine.thread.is_alive():
            self.engine.thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> PracticeServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- introspection
    def stats(self) -> dict:
        """The scheduler's own accounting (model seconds, not wall clock).

        Keys: ``decode_steps``, ``decode_model_s``, ``mean_decode_step_s``, ``prefill_batches``,
        ``prefill_model_s``, ``tokens``, ``requests_finished``, ``verify_passes``,
        ``step_time_by_batch`` ({batch size: mean model seconds per decode step}), ``steps_by_batch``.
        """
        s = self.engine.stats
        with s.lock:
            return {
                "decode_steps": s.decode_steps,
                "decode_model_s": s.decode_model_s,
                "mean_decode_step_s": s.decode_model_s / s.decode_steps if s.decode_steps else None,
                "prefill_batches": s.prefill_batches,
                "prefill_model_s": s.prefill_model_s,
                "tokens": s.tokens,
                "requests_finished": s.requests_finished,
                "verify_passes": s.total_verify_ct,
                "step_time_by_batch": {b: v[1] / v[0] for b, v in sorted(s.by_batch.items())},
                "steps_by_batch": {b: int(v[0]) for b, v in sorted(s.by_batch.items())},
            }

    def server_info(self) -> dict:
        """What ``GET /server_info`` returns: resolved arguments at top level plus ``internal_states``."""
        r, c = self.resolved, self.config
        s = self.engine.stats
        with s.lock:
            state = {"last_gen_throughput": s.last_gen_throughput}
            if c.speculative and s.avg_spec_accept_length is not None:
                state["avg_spec_accept_length"] = s.avg_spec_accept_length
        host, port = (self._httpd.server_address[:2]) if self._httpd else (c.host, c.port)
        info = {
            "model_path": r.model_id,
            "tokenizer_path": r.model_id,
            "served_model_name": r.model_id,
            "host": host,
            "port": port,
            "context_length": c.context_length,
            "api_key": "<redacted>" if c.api_key else None,
            "speculative_algorithm": r.algorithm,
            "speculative_draft_model_path": r.draft_model,
            "speculative_num_steps": r.num_steps,
            "speculative_eagle_topk": r.eagle_topk,
            "speculative_num_draft_tokens": r.num_draft_tokens,
            "max_running_requests": r.max_running_requests,
            "disable_overlap_schedule": bool(r.eagle_topk and r.eagle_topk > 1),
            "enable_mixed_chunk": False,
            "incremental_streaming_output": c.incremental_output,
            "enable_metrics": c.enable_metrics,
            "tp_size": 1,
            "dp_size": 1,
            "pp_size": 1,
            "version": "speclab-practice",
            "internal_states": [state],
            "speclab_practice_server": True,
            "speclab_simulation": {
                "note": "SIMULATED: no model runs; timing from a cost model, acceptance from a Monte Carlo "
                "with illustrative per-category acceptance rates.",
                "hardware": c.hardware,
                "target": c.target,
                "draft": r.draft_preset,
                "time_scale": c.time_scale,
                "category_alpha": dict(r.category_alpha),
                "fault": c.fault,
                "fixed_timing": None
                if c.fixed_ttft_s is None and c.fixed_itl_s is None
                else {
                    "ttft_s": c.fixed_ttft_s,
                    "itl_s": c.fixed_itl_s,
                    "tokens_per_event": c.tokens_per_event,
                },
                "notes": list(r.notes),
            },
        }
        return info

    def metrics_text(self) -> str:
        """Prometheus text like SGLang's ``/metrics`` (speculation gauges over the last interval)."""
        s = self.engine.stats
        with s.lock:
            tokens, verify = s.last_interval_verify
            lines = [
                "# HELP sglang:gen_throughput The generation throughput (token/s).",
                "# TYPE sglang:gen_throughput gauge",
                f'sglang:gen_throughput{{model_name="{self.resolved.model_id}"}} {s.last_gen_throughput}',
                "# HELP sglang:generation_tokens_total Number of generation tokens processed.",
                "# TYPE sglang:generation_tokens_total counter",
                f'sglang:generation_tokens_total{{model_name="{self.resolved.model_id}"}} {float(s.tokens)}',
            ]
            if self.config.speculative:
                accept_length = tokens / verify if verify else 0.0
                rate = (accept_length - 1) / self.resolved.gamma if self.resolved.gamma and verify else 0.0
                lines += [
                    "# HELP sglang:spec_accept_length The average acceptance length of speculative decoding.",
                    "# TYPE sglang:spec_accept_length gauge",
                    f'sglang:spec_accept_length{{model_name="{self.resolved.model_id}"}} {accept_length}',
                    "# HELP sglang:spec_accept_rate The average acceptance rate of speculative decoding.",
                    "# TYPE sglang:spec_accept_rate gauge",
                    f'sglang:spec_accept_rate{{model_name="{self.resolved.model_id}"}} {rate}',
                    "# HELP sglang:spec_verify_calls_total Number of speculative verify calls.",
                    "# TYPE sglang:spec_verify_calls_total counter",
                    f'sglang:spec_verify_calls_total{{model_name="{self.resolved.model_id}"}} {float(s.total_verify_ct)}',
                ]
        return "\n".join(lines) + "\n"


def config_as_dict(config: PracticeConfig) -> dict:
    """The config as a plain dict (for display), with the API key hidden."""
    data = asdict(config)
    if data.get("api_key"):
        data["api_key"] = "<redacted>"
    return data
