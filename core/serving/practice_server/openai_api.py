"""SGLang's OpenAI-compatible ``/v1/chat/completions`` and ``/v1/completions`` on the engine seam.

As in SGLang 0.5.23 (``sglang/srt/entrypoints/openai/serving_chat.py``, ``serving_completions.py``):
a streamed chat starts with a role-only chunk (``delta.role = "assistant"``, empty content), then one
content chunk per step, a finish chunk, then ``sglext`` as its own chunk with ``choices: []`` (when
asked for with ``return_spec_tokens_details`` and the server supports it), then the usage chunk (with
``stream_options.include_usage``), then ``data: [DONE]``. ``stream_options.continuous_usage_stats``
puts the cumulative usage on every content chunk. Every error is HTTP 400 with SGLang's
``{"object": "error", "message", "type", "param", "code"}`` body.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.responses import JSONResponse, Response

from core.serving.practice_server import faults
from core.serving.practice_server.engine import EngineRequest, StepOutput
from core.serving.practice_server.generation import (
    ABORT,
    BadRequest,
    EngineStopped,
    ServerContext,
    check_budget,
    check_sampling,
    engine_steps,
    new_rid,
)
from core.serving.practice_server.protocol import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatCompletionResponseChoice,
    ChatCompletionResponseStreamChoice,
    ChatCompletionStreamResponse,
    ChatMessage,
    CompletionRequest,
    CompletionResponse,
    CompletionResponseStreamChoice,
    CompletionStreamResponse,
    DeltaMessage,
    ErrorResponse,
    SglExt,
    SpecTokensDetails,
    UsageInfo,
)
from core.serving.practice_server.spec_meta import SpecCounts, spec_meta
from core.serving.practice_server.streaming import ByteStream, sse

__all__ = ["chat_completions", "completions", "openai_error"]


def openai_error(message: str, status: int = 400, kind: str = "BadRequestError") -> JSONResponse:
    """SGLang's OpenAI-route error body (``serving_base.create_error_response``)."""
    return JSONResponse(_error_body(message, status, kind), status)


def _error_body(message: str, status: int = 400, kind: str = "BadRequestError") -> dict:
    return ErrorResponse(message=message, type=kind, code=status).model_dump()


def _message_text(message: dict) -> tuple[str, str]:
    if not isinstance(message, dict) or "role" not in message:
        raise BadRequest("each message must be an object with 'role' and 'content'")
    content = message.get("content")
    if isinstance(content, list):  # OpenAI content parts: keep the text ones
        content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    if content is not None and not isinstance(content, str):
        raise BadRequest("message content must be a string or a list of content parts")
    return str(message["role"]), content or ""


def _stops(stop) -> tuple[str, ...]:
    return tuple(stop) if isinstance(stop, list) else (stop,) if stop else ()


def chat_request(ctx: ServerContext, body: ChatCompletionRequest, arrival_s: float) -> EngineRequest:
    """The engine's view of a chat request; raises :class:`BadRequest`."""
    if not body.messages:
        raise BadRequest("'messages' must be a non-empty list")
    if body.n != 1:
        raise BadRequest("the practice server generates one choice per request (n = 1)")
    messages = [dict(zip(("role", "content"), _message_text(m), strict=True)) for m in body.messages]
    prompt = ctx.engine.apply_chat_template(messages)
    ids = ctx.engine.tokenize(prompt)
    wanted = body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
    if wanted is None:
        wanted = max(0, ctx.engine.info.context_length - len(ids))
    return _engine_request(ctx, body, (prompt, ids, arrival_s), wanted, body.temperature, body.top_p)


def completion_request(ctx: ServerContext, body: CompletionRequest, arrival_s: float) -> EngineRequest:
    """The engine's view of a completions request; raises :class:`BadRequest`."""
    prompt = body.prompt
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str | list):
        prompt = prompt[0]
    if isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
        ids = list(prompt)
        prompt = ctx.engine.detokenize(ids)
    elif isinstance(prompt, str):
        ids = ctx.engine.tokenize(prompt)
    else:
        raise BadRequest("the practice server takes one prompt per request: 'prompt' must be a string")
    if body.n != 1:
        raise BadRequest("the practice server generates one choice per request (n = 1)")
    return _engine_request(ctx, body, (prompt, ids, arrival_s), body.max_tokens, body.temperature, body.top_p)


def _engine_request(ctx, body, prompt_ids_arrival: tuple, wanted, temperature, top_p) -> EngineRequest:
    prompt, ids, arrival_s = prompt_ids_arrival
    temperature, top_p, top_k = check_sampling(
        1.0 if temperature is None else temperature, 1.0 if top_p is None else top_p, body.top_k
    )
    return EngineRequest(
        rid=new_rid(),
        prompt=prompt,
        prompt_token_ids=tuple(ids),
        max_new_tokens=check_budget(ctx.engine, len(ids), wanted),
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        seed=body.seed,
        ignore_eos=body.ignore_eos,
        stop=_stops(body.stop),
        arrival_s=arrival_s,
    )


@dataclass
class _Reply:
    """One OpenAI request's output so far."""

    ctx: ServerContext
    request: EngineRequest
    body: ChatCompletionRequest | CompletionRequest
    created: int = field(default_factory=lambda: int(time.time()))
    text: str = ""
    tokens: int = 0
    spec: SpecCounts = field(default_factory=SpecCounts)

    @property
    def response_id(self) -> str:
        return self.request.rid

    def add(self, step: StepOutput) -> None:
        self.text += step.text
        self.tokens += len(step.token_ids)
        self.spec.add(step)

    def usage(self) -> UsageInfo:
        prompt = len(self.request.prompt_token_ids)
        return UsageInfo(
            prompt_tokens=prompt, completion_tokens=self.tokens, total_tokens=prompt + self.tokens
        )

    def sglext(self) -> SglExt | None:
        """``sglext.spec_tokens_details`` when asked for, supported (0.5.21+) and speculating."""
        if not (self.body.return_spec_tokens_details and self.ctx.config.spec_tokens_details):
            return None
        meta = spec_meta(self.spec, self.tokens, "0.5.23")
        return SglExt(spec_tokens_details=SpecTokensDetails(**meta)) if meta else None

    def options(self) -> tuple[bool, bool]:
        """``(include_usage, continuous_usage_stats)`` as SGLang's ``should_include_usage`` reads them."""
        options = self.body.stream_options
        if options is None:
            return False, False
        return bool(options.include_usage), bool(options.continuous_usage_stats)


def _finish_name(step: StepOutput) -> str | None:
    return None if step.finish_reason is None else step.finish_reason["type"]


def _matched(step: StepOutput):
    return (step.finish_reason or {}).get("matched")


def _chunk(reply: _Reply, choices: list, **extra) -> bytes:
    model = reply.body.model
    if isinstance(reply.body, ChatCompletionRequest):
        chunk = ChatCompletionStreamResponse(
            id=reply.response_id, created=reply.created, model=model, choices=choices, **extra
        )
        return sse(chunk.model_dump_json())
    chunk = CompletionStreamResponse(
        id=reply.response_id, created=reply.created, model=model, choices=choices, **extra
    )
    return sse(chunk.model_dump_json(exclude_none=not choices))


def _chat_step(reply: _Reply, step: StepOutput, first: bool) -> bytes:
    """The chat chunks of one step: [role chunk], [content chunk], [finish, sglext, usage chunks]."""
    include_usage, continuous = reply.options()
    reply.add(step)
    pieces = []
    if first:
        delta = DeltaMessage(role="assistant", content="")
        pieces.append(_chunk(reply, [ChatCompletionResponseStreamChoice(delta=delta)]))
    if step.text:
        choice = ChatCompletionResponseStreamChoice(delta=DeltaMessage(content=step.text))
        pieces.append(_chunk(reply, [choice], usage=reply.usage() if continuous else None))
    if step.finish_reason is not None:
        finish = ChatCompletionResponseStreamChoice(
            delta=DeltaMessage(), finish_reason=_finish_name(step), matched_stop=_matched(step)
        )
        pieces.append(_chunk(reply, [finish]))
        pieces += _tail_chunks(reply, include_usage)
    return b"".join(pieces)


def _completion_step(reply: _Reply, step: StepOutput) -> bytes:
    include_usage, continuous = reply.options()
    reply.add(step)
    choice = CompletionResponseStreamChoice(
        text=step.text, finish_reason=_finish_name(step), matched_stop=_matched(step)
    )
    pieces = [_chunk(reply, [choice], usage=reply.usage() if continuous else None)]
    if step.finish_reason is not None:
        pieces += _tail_chunks(reply, include_usage)
    return b"".join(pieces)


def _tail_chunks(reply: _Reply, include_usage: bool) -> list[bytes]:
    """After the finish chunk: sglext as its own chunk, then the usage chunk."""
    pieces = []
    ext = reply.sglext()
    if ext is not None:
        pieces.append(_chunk(reply, [], sglext=ext))
    if include_usage:
        pieces.append(_chunk(reply, [], usage=reply.usage()))
    return pieces


async def _pieces(reply: _Reply) -> AsyncIterator[bytes]:
    chat = isinstance(reply.body, ChatCompletionRequest)
    first = True
    try:
        async for step in engine_steps(reply.ctx, reply.request):
            yield _chat_step(reply, step, first) if chat else _completion_step(reply, step)
            first = False
    except BadRequest as error:  # the engine refused it: serving_base.create_streaming_error_response
        yield sse(json.dumps({"error": _error_body(str(error))}))


def _whole(reply: _Reply, last: StepOutput) -> dict:
    """The non-streamed response body."""
    common = {"id": reply.response_id, "created": reply.created, "model": reply.body.model}
    finish = {"finish_reason": _finish_name(last), "matched_stop": _matched(last)}
    if isinstance(reply.body, ChatCompletionRequest):
        choice = ChatCompletionResponseChoice(
            message=ChatMessage(role="assistant", content=reply.text), **finish
        )
        whole = ChatCompletionResponse(**common, choices=[choice], usage=reply.usage(), sglext=reply.sglext())
    else:
        choice = CompletionResponseStreamChoice(text=reply.text, **finish)
        whole = CompletionResponse(**common, choices=[choice], usage=reply.usage(), sglext=reply.sglext())
    return whole.model_dump()


async def _serve(ctx: ServerContext, body, request: EngineRequest) -> Response:
    reply = _Reply(ctx, request, body)
    if body.stream:
        cancel = lambda: ctx.engine.cancel(request.rid)  # noqa: E731
        return ByteStream(faults.stream_with_fault(ctx, _pieces(reply), cancel))
    early = faults.early_nonstream_fault(ctx)
    if early is not None:
        return early
    last = None
    try:
        async for step in engine_steps(ctx, request):
            reply.add(step)
            last = step
    except EngineStopped:
        return ByteStream(_aborted(), media_type="application/json")
    except BadRequest as error:
        return openai_error(str(error))
    return faults.nonstream_fault(ctx) or JSONResponse(_whole(reply, last))


async def _aborted() -> AsyncIterator[object]:
    yield ABORT


async def chat_completions(ctx: ServerContext, body: ChatCompletionRequest, arrival_s: float) -> Response:
    """Serve ``POST /v1/chat/completions`` (arrived at ``arrival_s``, ``time.monotonic()``)."""
    try:
        request = chat_request(ctx, body, arrival_s)
    except BadRequest as error:
        return openai_error(str(error))
    return await _serve(ctx, body, request)


async def completions(ctx: ServerContext, body: CompletionRequest, arrival_s: float) -> Response:
    """Serve ``POST /v1/completions`` (arrived at ``arrival_s``, ``time.monotonic()``)."""
    try:
        request = completion_request(ctx, body, arrival_s)
    except BadRequest as error:
        return openai_error(str(error))
    return await _serve(ctx, body, request)
