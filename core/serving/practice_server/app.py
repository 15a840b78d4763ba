"""The practice server's FastAPI application: routes that only validate and translate.

Endpoints as in SGLang 0.5.23: ``POST /generate`` (native), ``/v1/chat/completions``,
``/v1/completions``; ``GET /server_info`` (``/get_server_info``), ``/model_info``
(``/get_model_info``), ``/v1/models``, ``/health`` (``/health_generate``), ``/metrics``; ``GET`` or
``POST /flush_cache``. A Bearer API key guards everything but ``/health*`` and ``/metrics``. Schema errors
are HTTP 400: ``{"error": "<string>"}`` on ``/generate``, SGLang's ``{"object": "error", ...}`` on the
OpenAI routes; unknown paths and methods get the same ``{"object": "error"}`` shape with 404 / 405.
Nothing a client sends can cause a 5xx (a bug would be one JSON line, never a traceback).
"""

from __future__ import annotations

import sys
import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response

from core.serving.practice_server import info, native, openai_api
from core.serving.practice_server.faults import HTTP_FAULTS, REDIRECT_PATH, http_fault_response
from core.serving.practice_server.generation import ServerContext
from core.serving.practice_server.protocol import ChatCompletionRequest, CompletionRequest, GenerateReqInput

__all__ = ["create_app"]

MAX_BODY_BYTES = 8 * 1024 * 1024
ARRIVAL_KEY = "speclab_arrival_s"
_GENERATION_PATHS = ("/generate", "/v1/completions", "/v1/chat/completions")
_OPEN_PATHS = ("/health", "/metrics")  # no API key needed, as in SGLang (utils/auth.py)
_REDIRECT_PAGE = b"<!doctype html><html><body><h1>Sign in</h1><p>Not an SGLang server.</p></body></html>"


class _Gate:
    """Pure ASGI middleware: API key, body size, and the faults that answer before a request is read."""

    def __init__(self, app, ctx: ServerContext):
        self.app, self.ctx = app, ctx

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        # Arrival as early as the application sees the request (TTFT and e2e_latency count from it).
        scope.setdefault("state", {})[ARRIVAL_KEY] = time.monotonic()
        path = scope["path"]
        headers = dict(scope.get("headers") or [])
        refusal = self._refusal(path, scope["method"], headers)
        if refusal is not None:
            return await refusal(scope, receive, send)
        started = False

        async def tracked_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as error:  # a bug: one line on stderr and a JSON 500, never a traceback
            print(f"practice server: internal error on {path}: {error!r}", file=sys.stderr)
            if not started:
                body = {"error": {"message": f"practice server internal error: {error!r}"}}
                await JSONResponse(body, 500)(scope, receive, send)

    def _refusal(self, path: str, method: str, headers: dict) -> Response | None:
        key = self.ctx.config.api_key
        exempt = path.startswith(_OPEN_PATHS) or path == REDIRECT_PATH
        if key and not exempt and headers.get(b"authorization", b"").decode("latin-1") != f"Bearer {key}":
            return JSONResponse({"error": "Unauthorized"}, 401)
        length = headers.get(b"content-length", b"0")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return _openai_shape(413, f"request body too large ({int(length)} bytes)")
        if method == "POST" and path in _GENERATION_PATHS and self.ctx.config.fault in HTTP_FAULTS:
            return http_fault_response(self.ctx)
        return None


def _openai_shape(status: int, message: str, kind: str | None = None) -> JSONResponse:
    return openai_api.openai_error(message, status, kind or str(status))


def _describe(error: RequestValidationError) -> str:
    """One readable line: ``field: problem; field: problem``."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item.get("loc", ())[1:]) or "body"
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def schema_error(request: Request, error: RequestValidationError):
        message = _describe(error)
        if request.url.path == "/generate":
            return JSONResponse({"error": message}, 400)
        return _openai_shape(400, message, "Bad Request")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        return _openai_shape(error.status_code, str(error.detail))


def _install_info_routes(app: FastAPI, ctx: ServerContext) -> None:
    @app.get("/health")
    @app.get("/health_generate")
    async def health():
        status = 503 if ctx.config.fault == "health_503" or ctx.stop.is_set() else 200
        return Response(b"", status, media_type="text/plain")

    @app.get("/v1/models")
    async def models():
        return info.models(ctx)

    @app.get("/model_info")
    @app.get("/get_model_info")
    async def model_info():
        return info.model_info(ctx)

    @app.get("/server_info")
    @app.get("/get_server_info")
    async def server_info():
        return JSONResponse(info.server_info(ctx))

    @app.get("/metrics")
    async def metrics():
        if not ctx.config.enable_metrics:
            return _openai_shape(404, "Not Found")
        return PlainTextResponse(info.metrics_text(ctx), media_type="text/plain; version=0.0.4")

    @app.api_route("/flush_cache", methods=["GET", "POST"])
    async def flush_cache():
        if ctx.engine.flush():
            return PlainTextResponse("Cache flushed.\n")
        message = (
            "Cache not flushed: there are running or waiting requests. Try again when the server is idle.\n"
        )
        return PlainTextResponse(message, 400)

    @app.api_route(REDIRECT_PATH, methods=["GET", "POST"])
    async def redirected():
        return Response(_REDIRECT_PAGE, 200, media_type="text/html; charset=utf-8")


def _install_generation_routes(app: FastAPI, ctx: ServerContext) -> None:
    @app.api_route("/generate", methods=["POST", "PUT"])
    async def generate(body: GenerateReqInput, request: Request):
        return await native.generate(ctx, body, _arrival(request))

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatCompletionRequest, request: Request):
        return await openai_api.chat_completions(ctx, body, _arrival(request))

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request):
        return await openai_api.completions(ctx, body, _arrival(request))


def _arrival(request: Request) -> float:
    return request.scope.get("state", {}).get(ARRIVAL_KEY) or time.monotonic()


def create_app(ctx: ServerContext) -> FastAPI:
    """The ASGI application serving ``ctx.engine`` with ``ctx.config``."""
    app = FastAPI(title="speclab practice server", docs_url=None, redoc_url=None, openapi_url=None)
    _install_error_handlers(app)
    _install_info_routes(app, ctx)
    _install_generation_routes(app, ctx)
    app.add_middleware(_Gate, ctx=ctx)
    return app
