"""The engine seam: what the practice server's HTTP layer asks of whatever produces tokens.

SGLang splits a server into a tokenizer manager (HTTP, tokenizing, wire format) and a scheduler that
batches requests and runs the model. The practice server keeps the same split: the HTTP layer
(``http.py``) validates requests, turns them into :class:`EngineRequest` objects and turns the
:class:`StepOutput` objects an :class:`Engine` streams back into SGLang's wire format. It never knows how
tokens are made. An engine owns its batching scheduler and its pacing: the synthetic engine sleeps the
time its cost model gives (SIMULATED), a real engine computes (MEASURED).

Units: times are seconds, token counts are tokens, rates are tokens per second. Thread model: the HTTP
layer calls :meth:`Engine.submit`, :meth:`Engine.cancel`, :meth:`Engine.stats` and :meth:`Engine.flush`
from any thread (or the event loop); the engine pushes step outputs from its own thread(s) into the
request's :class:`StepStream`, which can be read blocking (``get``) or from asyncio (``aget``).
"""

from __future__ import annotations

import abc
import asyncio
import collections
import contextlib
import importlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Engine",
    "EngineInfo",
    "EngineRequest",
    "EngineStats",
    "SpeculativeSettings",
    "StepOutput",
    "StepStream",
    "TimingLabel",
    "create_engine",
    "engine_names",
]

TimingLabel = Literal["measured", "simulated"]


@dataclass(frozen=True)
class EngineRequest:
    """One generation request as the engine sees it (already validated by the HTTP layer).

    ``prompt`` is the text the model reads (for chat, after :meth:`Engine.apply_chat_template`);
    ``prompt_token_ids`` its tokens (from :meth:`Engine.tokenize`, or as the client sent them).
    ``max_new_tokens``: most tokens to generate (0 allowed: the request finishes at once with
    ``{"type": "length", "length": 0}``). ``temperature`` 0 means greedy; ``top_k`` -1 means no limit;
    ``seed`` None lets the engine choose. ``ignore_eos``: never stop at the end-of-sequence token.
    ``stop``: strings that end generation when they appear in the output (finish reason
    ``{"type": "stop", "matched": <the string>}``). ``arrival_s``: ``time.monotonic()`` when the server
    received the request (the engine measures ``e2e_latency`` from it).
    """

    rid: str
    prompt: str
    prompt_token_ids: tuple[int, ...]
    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    seed: int | None = None
    ignore_eos: bool = False
    stop: tuple[str, ...] = ()
    arrival_s: float = 0.0


@dataclass(frozen=True)
class StepOutput:
    """What one engine step (a prefill, a decode step or one verify pass) added to one request.

    ``token_ids`` / ``text``: the NEW tokens and their text (at least one token unless ``finish_reason``
    is set; the last step may add none). ``verify_pass``: whether this step was a speculative verify
    pass (the prefill step never is). ``accepted_drafts``: draft tokens the target accepted in this pass
    (``len(token_ids) - 1`` when a pass is not cut short by a stop); ``proposed_drafts``: drafts scored,
    SGLang's ``num_draft_tokens - 1`` per verify pass (0 when not a verify pass). ``finish_reason``:
    ``None`` until the request ends, then SGLang's dict (``{"type": "length", "length": N}``,
    ``{"type": "stop", "matched": TOKEN_ID_OR_STRING}`` or ``{"type": "abort", "message": ...}``).
    ``duration_s``: seconds this step took for the whole batch; ``timing``: whether that figure was
    ``"measured"`` (wall clock of real computation) or ``"simulated"`` (modelled and slept).
    """

    token_ids: tuple[int, ...]
    text: str
    verify_pass: bool = False
    accepted_drafts: int = 0
    proposed_drafts: int = 0
    finish_reason: dict | None = None
    duration_s: float = 0.0
    timing: TimingLabel = "simulated"


@dataclass(frozen=True)
class SpeculativeSettings:
    """Resolved speculation settings, as SGLang reports them in ``/server_info``.

    ``algorithm`` is the RESOLVED name (NEXTN is reported as EAGLE, as SGLang does). ``num_steps``:
    draft steps per round; ``eagle_topk``: tree branching (NGRAM's BFS breadth); ``num_draft_tokens``:
    tokens one verify pass scores, so ``num_draft_tokens - 1`` drafts are proposed per pass.
    ``max_accepted_drafts``: most drafts one pass can accept (the tree depth, capped by its size).
    ``draft_model_path``: what ``speculative_draft_model_path`` shows (None for NGRAM / NEXTN).
    """

    algorithm: str
    num_steps: int
    eagle_topk: int
    num_draft_tokens: int
    max_accepted_drafts: int
    draft_model_path: str | None = None

    @property
    def proposed_drafts_per_pass(self) -> int:
        """Drafts SGLang counts as proposed in one verify pass: ``num_draft_tokens - 1``."""
        return max(0, self.num_draft_tokens - 1)


@dataclass(frozen=True)
class EngineInfo:
    """What an engine tells the server about itself (``/model_info``, ``/server_info``, ``/v1/models``).

    ``model_id``: the id and path the server reports; ``vocab_size`` in tokens; ``context_length``: most
    prompt + output tokens per request; ``eos_token_id``: the end-of-sequence token (None if none);
    ``speculative``: None for plain decoding; ``timing``: ``"measured"`` or ``"simulated"``;
    ``description``: one line saying what produces the tokens (shown by the CLI and in ``/server_info``);
    ``details``: engine-specific facts for ``/server_info`` (JSON-serializable).
    """

    model_id: str
    vocab_size: int
    context_length: int
    eos_token_id: int | None
    speculative: SpeculativeSettings | None
    timing: TimingLabel
    description: str
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class EngineStats:
    """An engine's lifetime counters, for ``/server_info`` ``internal_states`` and ``/metrics``.

    ``avg_spec_accept_length``: tokens per verify pass (accepted drafts + 1; the prefill token is not
    counted) since start or the last :meth:`Engine.flush`, refreshed only every
    ``stats_interval_steps`` decode steps like SGLang's scheduler (None before the first refresh or
    without speculation). ``interval_accept_length`` / ``interval_accept_rate``: the same over the last
    refresh interval (SGLang's ``sglang:spec_accept_length`` / ``spec_accept_rate`` gauges; the rate is
    accepted drafts / proposed drafts). ``last_gen_throughput``: output tokens per second over the last
    interval. ``generation_tokens_total``, ``verify_passes_total``, ``requests_finished``: counters since
    start (not reset by flush). ``running`` / ``queued``: requests now in the batch / waiting.
    """

    generation_tokens_total: int = 0
    verify_passes_total: int = 0
    requests_finished: int = 0
    avg_spec_accept_length: float | None = None
    interval_accept_length: float | None = None
    interval_accept_rate: float | None = None
    last_gen_throughput: float = 0.0
    running: int = 0
    queued: int = 0


class StepStream:
    """The per-request channel from an engine thread to the HTTP layer.

    The engine calls :meth:`push` for every step and :meth:`close` when the request will get no more
    (finished, cancelled or the engine stopped). The reader calls :meth:`get` (blocking, with a timeout)
    or ``await`` :meth:`aget`; both return ``None`` once the stream is closed and drained.
    """

    def __init__(self, rid: str):
        self.rid = rid
        self._items: collections.deque[StepOutput] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None

    def push(self, step: StepOutput) -> None:
        """Add one step (engine side). Ignored after :meth:`close`."""
        with self._cond:
            if self._closed:
                return
            self._items.append(step)
            self._cond.notify_all()
        self._wake_async()

    def close(self) -> None:
        """No more steps will come (engine side). Safe to call twice."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._wake_async()

    @property
    def closed(self) -> bool:
        """Whether the engine closed the stream (steps may still be waiting to be read)."""
        return self._closed

    def get(self, timeout_s: float | None = None) -> StepOutput | None:
        """The next step, blocking up to ``timeout_s`` seconds; ``None`` when closed and drained.

        Raises ``TimeoutError`` when nothing arrived in time and the stream is still open.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._closed, timeout_s):
                raise TimeoutError(f"no step for request {self.rid} within {timeout_s} s")
            return self._items.popleft() if self._items else None

    async def aget(self) -> StepOutput | None:
        """The next step, awaited on the running event loop; ``None`` when closed and drained."""
        if self._wakeup is None:
            self._loop = asyncio.get_running_loop()
            self._wakeup = asyncio.Event()
        while True:
            with self._cond:
                if self._items:
                    return self._items.popleft()
                if self._closed:
                    return None
                self._wakeup.clear()
            await self._wakeup.wait()

    def _wake_async(self) -> None:
        loop, wakeup = self._loop, self._wakeup
        if loop is not None and wakeup is not None:
            # RuntimeError: the event loop already closed, so nobody is reading any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wakeup.set)


class Engine(abc.ABC):
    """Produces tokens and speculation counts for the practice server's HTTP layer.

    An engine is created stopped; :meth:`start` starts its scheduler, :meth:`close` stops it and closes
    every open :class:`StepStream`. ``submit`` never blocks on generation: the engine schedules the
    request (batching it with others as it likes) and pushes :class:`StepOutput` objects into the
    returned stream, the first one after prefill. Errors that the client caused are raised by
    ``submit`` as ``ValueError`` with a message fit for the client (the HTTP layer answers 400 or an
    error event); anything else an engine raises is a bug.
    """

    info: EngineInfo

    @abc.abstractmethod
    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` (no special tokens added)."""

    @abc.abstractmethod
    def detokenize(self, token_ids: Sequence[int]) -> str:
        """Text of ``token_ids`` (special tokens such as EOS render as an empty string)."""

    @abc.abstractmethod
    def apply_chat_template(self, messages: Sequence[dict]) -> str:
        """The prompt text for OpenAI chat ``messages`` (dicts with ``role`` and string ``content``)."""

    @abc.abstractmethod
    def submit(self, request: EngineRequest) -> StepStream:
        """Schedule ``request``; its steps arrive in the returned stream, which the engine closes at the end."""

    @abc.abstractmethod
    def cancel(self, rid: str) -> None:
        """The client left: stop working on ``rid`` soon and close its stream. Unknown ids are ignored."""

    @abc.abstractmethod
    def stats(self) -> EngineStats:
        """A snapshot of the lifetime counters (thread-safe)."""

    @abc.abstractmethod
    def flush(self) -> bool:
        """SGLang's ``/flush_cache``: drop caches and reset the accept-length counters. Returns False
        (and does nothing) while requests are running or waiting."""

    def start(self) -> None:  # noqa: B027 - optional hook: engines without threads need nothing
        """Start the scheduler (thread, worker pool). Called once by the server before serving."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop the scheduler, close every open stream, release resources. Safe to call twice."""


# Engine name -> (module, factory function name, one line for --help). A module is imported only when
# its engine is asked for, so a synthetic server never loads a model stack. Add a row per engine, e.g.
# "synthetic": ("core.serving.practice_server.engines.synthetic", "create", "SIMULATED tokens and timing").
_ENGINES: dict[str, tuple[str, str, str]] = {}


def engine_names() -> dict[str, str]:
    """Known engine names and their one-line descriptions."""
    return {name: row[2] for name, row in sorted(_ENGINES.items())}


def create_engine(name: str, config) -> Engine:
    """A new, stopped engine of kind ``name`` for ``config`` (the server's ``PracticeConfig``).

    Each engine module has a factory ``create(config) -> Engine`` that raises ``ValueError`` (one clear
    line) for settings it cannot serve. ``ValueError`` too for an unknown name.
    """
    if name not in _ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose one of: {', '.join(sorted(_ENGINES))}")
    module_name, factory_name, _ = _ENGINES[name]
    factory: Callable[..., Engine] = getattr(importlib.import_module(module_name), factory_name)
    return factory(config)
