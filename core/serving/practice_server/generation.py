"""What every generation route shares: the server context, request checks, and reading an engine's steps.

The routes (``native.py``, ``openai_api.py``) only validate and translate; this module hands a checked
:class:`EngineRequest` to the engine and yields its :class:`StepOutput` objects on the event loop.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from core.serving.practice_server.config import PracticeConfig
from core.serving.practice_server.engine import Engine, EngineRequest, StepOutput

__all__ = [
    "ABORT",
    "BadRequest",
    "check_sampling",
    "EngineStopped",
    "ServerContext",
    "check_budget",
    "engine_steps",
    "new_rid",
    "wait_or_stop",
]

# Yielded by a response body: close the connection at once, leaving the response unfinished.
ABORT = object()


class BadRequest(ValueError):
    """The client's request cannot be served (SGLang raises ``ValueError`` for these too)."""


class EngineStopped(Exception):
    """The engine closed the request's stream before it finished (the server is stopping)."""


@dataclass
class ServerContext:
    """What the routes need: the engine, the settings, and the server's life-cycle facts."""

    engine: Engine
    config: PracticeConfig
    stop: threading.Event = field(default_factory=threading.Event)
    started_at: float = field(default_factory=time.time)
    host: str = "127.0.0.1"
    port: int = 0

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}"


def new_rid() -> str:
    """A request id like SGLang's (32 hex digits)."""
    return uuid.uuid4().hex


def check_budget(engine: Engine, prompt_tokens: int, max_new_tokens: int | None) -> int:
    """``max_new_tokens`` checked against SGLang's rules and the context length; raises :class:`BadRequest`."""
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise BadRequest(f"max_new_tokens must be a whole number >= 0, got {max_new_tokens!r}")
    limit = engine.info.context_length
    if prompt_tokens + max_new_tokens > limit:
        raise BadRequest(
            f"Requested token count exceeds the model's maximum context length of {limit} tokens. "
            f"You requested a total of {prompt_tokens + max_new_tokens} tokens: {prompt_tokens} tokens "
            f"from the input messages and {max_new_tokens} tokens for the completion."
        )
    return max_new_tokens


def check_sampling(
    temperature: float, top_p: float, top_k: int, min_p: float = 0.0
) -> tuple[float, float, int]:
    """``(temperature, top_p, top_k)`` checked as SGLang's ``SamplingParams.verify`` checks them, with its
    messages; raises :class:`BadRequest`."""
    temperature, top_p, min_p = float(temperature), float(top_p), float(min_p)
    if not math.isfinite(temperature) or temperature < 0.0:
        raise BadRequest(f"temperature must be a non-negative finite number, got {temperature}.")
    if not 0.0 < top_p <= 1.0:
        raise BadRequest(f"top_p must be in (0, 1], got {top_p}.")
    if not 0.0 <= min_p <= 1.0:
        raise BadRequest(f"min_p must be in [0, 1], got {min_p}.")
    if top_k != -1 and top_k < 1:
        raise BadRequest(f"top_k must be -1 (disable) or at least 1, got {top_k}.")
    return temperature, top_p, int(top_k)


async def wait_or_stop(ctx: ServerContext, seconds: float) -> bool:
    """Sleep ``seconds`` on the event loop; returns True (early) when the server is stopping."""
    deadline = time.monotonic() + max(0.0, float(seconds))
    while not ctx.stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        await asyncio.sleep(min(left, 0.1))
    return True


async def engine_steps(ctx: ServerContext, request: EngineRequest) -> AsyncIterator[StepOutput]:
    """Submit ``request`` and yield its steps until the finishing one.

    Raises :class:`EngineStopped` when the stream ends unfinished, :class:`BadRequest` when the engine
    refuses the request (before any step). Leaving early (the client went away,
    a fault, a cancelled task) cancels the request in the engine.
    """
    if ctx.config.fault == "slow_start" and await wait_or_stop(ctx, ctx.config.slow_start_s):
        raise EngineStopped()
    try:
        stream = ctx.engine.submit(request)
    except ValueError as error:  # by the Engine contract, a request the client got wrong
        raise BadRequest(str(error)) from None
    finished = False
    try:
        while (step := await stream.aget()) is not None:
            finished = step.finish_reason is not None
            yield step
            if finished:
                return
        raise EngineStopped()
    finally:
        if not finished:
            ctx.engine.cancel(request.rid)
