"""The fault modes: ways a server breaks the wire protocol, applied on purpose around real responses.

Every mode of :data:`~core.serving.practice_server.config.FAULT_MODES` lives here, so a client can be
tested against each way a real server (or a proxy in front of one) fails. The routes hand their
per-step byte pieces to :func:`stream_with_fault` and their finished body to :func:`nonstream_fault`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

from starlette.responses import JSONResponse, Response

from core.serving.practice_server.generation import ABORT, EngineStopped, ServerContext, wait_or_stop
from core.serving.practice_server.streaming import ByteStream, sse

__all__ = ["HTTP_FAULTS", "http_fault_response", "nonstream_fault", "stream_with_fault"]

HTTP_FAULTS = ("http500", "http404", "redirect")  # answered before the request is even read
_MID_STREAM = ("error_event", "malformed_json", "malformed_sse", "truncate", "stall")
_DONE = b"data: [DONE]\n\n"
_ERROR_MESSAGE = "practice server fault error_event: generation failed"
REDIRECT_PATH = "/speclab/redirected"


def http_fault_response(ctx: ServerContext) -> Response:
    """The answer of a generation request under ``http500`` / ``http404`` / ``redirect``."""
    fault = ctx.config.fault
    if fault == "http500":
        return JSONResponse(
            {"error": {"message": "practice server fault http500: internal server error"}}, 500
        )
    if fault == "http404":
        return JSONResponse({"detail": "Not Found"}, 404)
    return Response(b"", 302, headers={"Location": ctx.url + REDIRECT_PATH}, media_type="text/plain")


async def stream_with_fault(
    ctx: ServerContext, pieces: AsyncIterator[bytes], cancel: Callable[[], None]
) -> AsyncIterator[bytes | object]:
    """The SSE body: one piece per engine step, the configured fault after ``fault_after_events``
    pieces, then ``data: [DONE]``. ``cancel`` stops the request in the engine when a fault ends it."""
    fault = ctx.config.fault
    if fault == "huge_response":
        async for piece in _huge_stream(ctx):
            yield piece
        return
    after = max(0, int(ctx.config.fault_after_events))
    sent = 0
    try:
        async for piece in pieces:
            if sent == after and fault in _MID_STREAM:
                async for broken in _break_stream(ctx, fault, cancel):
                    yield broken
                if fault in ("error_event", "truncate", "stall"):
                    return
            yield piece
            sent += 1
    except EngineStopped:
        yield ABORT
        return
    finally:  # close the engine side now (it cancels an unfinished request), not when garbage-collected
        await pieces.aclose()  # type: ignore[attr-defined]
    yield _DONE


async def _break_stream(ctx: ServerContext, fault: str, cancel: Callable[[], None]) -> AsyncIterator:
    if fault == "error_event":
        cancel()
        yield sse(json.dumps({"error": {"message": _ERROR_MESSAGE}}))
        yield _DONE
    elif fault == "malformed_json":
        yield b'data: {"text": "broken", "meta_info": {"id": \n\n'
    elif fault == "malformed_sse":
        yield b"<html><body>proxy error</body></html>\nthis is not an event\n\n: ok\nevent\n\n"
    elif fault == "truncate":
        cancel()
        yield ABORT
    elif fault == "stall":
        cancel()
        await wait_or_stop(ctx, ctx.config.stall_s)  # silent on an open connection
        yield ABORT


async def _huge_stream(ctx: ServerContext) -> AsyncIterator[bytes | object]:
    """A stream far larger than any sane cap, never sending [DONE]."""
    text = "x" * 65536
    payload = sse(json.dumps({"text": text, "output_ids": [], "meta_info": {"finish_reason": None}}))
    sent = 0
    while sent < ctx.config.huge_response_bytes and not ctx.stop.is_set():
        yield payload
        sent += len(payload)
    yield ABORT


def nonstream_fault(ctx: ServerContext) -> Response | None:
    """The broken answer of a non-streamed request under the active fault (None: answer normally).

    Called after generation finished (except ``huge_response`` and ``stall``, which answer at once).
    """
    fault = ctx.config.fault
    if fault == "error_event":
        return JSONResponse({"error": {"message": _ERROR_MESSAGE}}, 400)
    if fault == "malformed_json":
        return Response(b'{"text": "half a resp', 200, media_type="application/json")
    if fault == "malformed_sse":
        return Response(b"<html><body>502 Bad Gateway</body></html>", 200, media_type="text/html")
    if fault == "truncate":
        return _partial_json(ctx, b'{"text": "cut off', 4096, wait=False)
    return None


def early_nonstream_fault(ctx: ServerContext) -> Response | None:
    """Faults that answer a non-streamed request before generating anything."""
    fault = ctx.config.fault
    if fault == "huge_response":
        return ByteStream(
            _huge_json(ctx), media_type="application/json", headers=_length(ctx.config.huge_response_bytes)
        )
    if fault == "stall":
        return _partial_json(ctx, b'{"text": "', 100000, wait=True)
    return None


def _length(total: int) -> dict[str, str]:
    return {"content-length": str(int(total))}


def _partial_json(ctx: ServerContext, start: bytes, promised: int, wait: bool) -> ByteStream:
    """Headers promising ``promised`` bytes, then ``start``, then (after a stall) a closed connection."""

    async def body():
        yield start
        if wait:
            await wait_or_stop(ctx, ctx.config.stall_s)
        yield ABORT

    return ByteStream(body(), media_type="application/json", headers=_length(promised))


async def _huge_json(ctx: ServerContext) -> AsyncIterator[bytes | object]:
    block = b"a" * (1 << 20)
    yield b'{"text": "'
    sent = 10
    total = ctx.config.huge_response_bytes
    while sent < total and not ctx.stop.is_set():
        piece = block[: min(len(block), total - sent)]
        yield piece
        sent += len(piece)
    yield ABORT
