"""SGLang's native ``POST /generate``: the request becomes an :class:`EngineRequest`, steps become events.

Wire format (``shared/docs/sglang.md``; ``sglang/srt/entrypoints/http_server.py`` of 0.5.23): a stream
of ``data: {"text", "output_ids", "meta_info"}`` events ending with ``data: [DONE]``; ``text`` and
``output_ids`` are cumulative unless the server streams deltas (``--incremental-streaming-output``, called
``--stream-output`` in 0.5.5 and 0.5.9).
Errors: a request-schema error is HTTP 400 ``{"error": "<string>"}`` (see ``app.py``); any other bad
request is, when streamed, HTTP 200 with ``data: {"error": {...}}`` then ``data: [DONE]`` (the headers
are already sent when SGLang's tokenizer manager raises), and HTTP 400 ``{"error": {"message"}}``
otherwise.
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
from core.serving.practice_server.protocol import GenerateReqInput, SamplingParams
from core.serving.practice_server.spec_meta import SpecCounts, spec_meta
from core.serving.practice_server.streaming import ByteStream, sse

__all__ = ["generate"]


def _single(value, name: str):
    """SGLang accepts batches; the practice server serves one prompt per request."""
    if isinstance(value, list) and value and isinstance(value[0], str | list):
        if len(value) != 1:
            raise BadRequest(f"the practice server takes one prompt per request: '{name}' has {len(value)}")
        return value[0]
    return value


def engine_request(ctx: ServerContext, body: GenerateReqInput, arrival_s: float) -> EngineRequest:
    """The engine's view of a ``/generate`` body; raises :class:`BadRequest` like SGLang's ValueErrors.

    ``arrival_s``: ``time.monotonic()`` when the request reached the application.
    """
    engine = ctx.engine
    if body.text is not None:
        prompt = _single(body.text, "text")
        ids = engine.tokenize(prompt)
    elif body.input_ids is not None:
        ids = list(_single(body.input_ids, "input_ids"))
        if not ids:
            raise BadRequest("input_ids must not be empty")
        vocab = engine.info.vocab_size
        bad = next((t for t in ids if not 0 <= t < vocab), None)
        if bad is not None:  # SGLang's message for this (its scoring path)
            raise BadRequest(f"Token ID {bad} is out of vocabulary (vocab size: {vocab})")
        prompt = engine.detokenize(ids)
    else:
        raise BadRequest("Either text, input_ids or input_embeds should be provided.")
    params = body.sampling_params or SamplingParams()
    max_new = check_budget(engine, len(ids), params.max_new_tokens)
    temperature, top_p, top_k = check_sampling(params.temperature, params.top_p, params.top_k, params.min_p)
    stop = params.stop if isinstance(params.stop, list) else [params.stop] if params.stop else []
    return EngineRequest(
        rid=body.rid or new_rid(),
        prompt=prompt,
        prompt_token_ids=tuple(ids),
        max_new_tokens=max_new,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        seed=params.sampling_seed,
        ignore_eos=params.ignore_eos,
        stop=tuple(stop),
        arrival_s=arrival_s,
    )


@dataclass
class _Output:
    """One request's output so far, turned into native events."""

    ctx: ServerContext
    request: EngineRequest
    ids: list[int] = field(default_factory=list)
    text: str = ""
    spec: SpecCounts = field(default_factory=SpecCounts)

    def event(self, step: StepOutput) -> dict:
        self.ids += step.token_ids
        self.text += step.text
        self.spec.add(step)
        incremental = self.ctx.config.incremental_output
        meta = {
            "id": self.request.rid,
            "finish_reason": step.finish_reason,
            "prompt_tokens": len(self.request.prompt_token_ids),
            "weight_version": "default",
            "completion_tokens": len(self.ids),
            "cached_tokens": 0,
        }
        if step.finish_reason is not None:
            meta["e2e_latency"] = time.monotonic() - self.request.arrival_s
            if self.ctx.engine.info.speculative is not None:
                meta.update(spec_meta(self.spec, len(self.ids), self.ctx.config.spec_meta_version))
        return {
            "text": step.text if incremental else self.text,
            "output_ids": list(step.token_ids) if incremental else list(self.ids),
            "meta_info": meta,
        }


def _dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"))


async def _pieces(output: _Output) -> AsyncIterator[bytes]:
    try:
        async for step in engine_steps(output.ctx, output.request):
            yield sse(_dumps(output.event(step)))
    except BadRequest as error:  # the engine refused it: SGLang's error event, then [DONE] as usual
        yield _error_event(error)


def _error_event(error: BadRequest) -> bytes:
    payload = {
        "error": {"message": str(error), "type": "invalid_request_error", "code": 400, "retryable": False}
    }
    return sse(_dumps(payload))


async def _error_stream(error: BadRequest) -> AsyncIterator[bytes | object]:
    yield _error_event(error)
    yield b"data: [DONE]\n\n"


async def generate(ctx: ServerContext, body: GenerateReqInput, arrival_s: float) -> Response:
    """Serve one ``/generate`` request (schema already checked by FastAPI) that arrived at ``arrival_s``."""
    try:
        request = engine_request(ctx, body, arrival_s)
    except BadRequest as error:
        if body.stream:
            return ByteStream(_error_stream(error))
        return JSONResponse({"error": {"message": str(error)}}, 400)
    output = _Output(ctx, request)
    if body.stream:
        cancel = lambda: ctx.engine.cancel(request.rid)  # noqa: E731
        return ByteStream(faults.stream_with_fault(ctx, _pieces(output), cancel))
    early = faults.early_nonstream_fault(ctx)
    if early is not None:
        return early
    last = None
    try:
        async for step in engine_steps(ctx, request):
            last = output.event(step)
    except EngineStopped:
        return ByteStream(_aborted(), media_type="application/json")
    except BadRequest as error:
        return JSONResponse({"error": {"message": str(error)}}, 400)
    return faults.nonstream_fault(ctx) or JSONResponse(last)


async def _aborted() -> AsyncIterator[object]:
    yield ABORT
