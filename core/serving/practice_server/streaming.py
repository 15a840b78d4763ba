"""A streamed HTTP response that can also break on purpose, and notices a client that left.

Starlette's ``StreamingResponse`` always ends a response cleanly; the fault modes need to close a
connection mid-body (``truncate``, a stopping server). :class:`ByteStream` sends whatever its body
iterator yields, closes the connection without finishing the response when it yields
:data:`~core.serving.practice_server.generation.ABORT`, and stops (cancelling the body) as soon as the
client disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.responses import Response

from core.serving.practice_server.generation import ABORT

__all__ = ["ByteStream", "quiet_deliberate_aborts", "sse"]

_UNFINISHED = "ASGI callable returned without completing response."


def sse(payload: bytes | str) -> bytes:
    """One server-sent event: ``data: PAYLOAD`` and a blank line."""
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    return b"data: " + data + b"\n\n"


class _DropDeliberateAborts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _UNFINISHED


def quiet_deliberate_aborts() -> None:
    """Uvicorn logs an error line for every response left unfinished; here that is on purpose (a fault
    mode or a stopping server), so the line is dropped. Idempotent."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropDeliberateAborts) for f in logger.filters):
        logger.addFilter(_DropDeliberateAborts())


class ByteStream(Response):
    """A response whose body comes from an async iterator of ``bytes`` (or ``ABORT``).

    ``headers`` may carry a ``content-length`` (a non-chunked body, for the non-streamed fault modes);
    without one the body is chunked.
    """

    def __init__(
        self,
        body: AsyncIterator[bytes | object],
        status_code: int = 200,
        media_type: str = "text/event-stream",
        headers: dict[str, str] | None = None,
    ):
        self.body_iterator = body
        self.status_code = status_code
        self.media_type = media_type
        self.background = None
        self.init_headers(headers)

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        disconnected = asyncio.ensure_future(_wait_for_disconnect(receive))
        try:
            if await self._send_body(send, disconnected):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            disconnected.cancel()
            with contextlib.suppress(Exception):
                await self.body_iterator.aclose()  # type: ignore[attr-defined]

    async def _send_body(self, send, disconnected: asyncio.Future) -> bool:
        """Send every piece; True when the body ended normally, False when aborted or the client left."""
        iterator = self.body_iterator.__aiter__()
        while True:
            piece_task = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({piece_task, disconnected}, return_when=asyncio.FIRST_COMPLETED)
            if piece_task not in done:  # the client left while we waited for the next piece
                piece_task.cancel()
                with contextlib.suppress(BaseException):
                    await piece_task
                return False
            try:
                piece = piece_task.result()
            except StopAsyncIteration:
                return True
            if piece is ABORT:
                return False
            if piece:
                await send({"type": "http.response.body", "body": piece, "more_body": True})


async def _wait_for_disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
