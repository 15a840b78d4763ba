"""``PracticeServer``: one engine behind the FastAPI app, served by uvicorn on a background thread.

The server binds its own socket first (so a taken port is an ``OSError`` at once, and ``port=0`` gives
a known free port), then runs uvicorn's event loop on a thread named ``practice-<port>-http``; the engine
runs its own threads. :meth:`PracticeServer.stop` ends every open stream (without ``[DONE]``, as a dying
server would), stops uvicorn and the engine, and joins the threads. Every server is an independent
object, so several can run in one process.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import asdict, replace

import uvicorn

from core.serving.practice_server.app import create_app
from core.serving.practice_server.config import PracticeConfig, validate_config
from core.serving.practice_server.engine import create_engine
from core.serving.practice_server.generation import ServerContext
from core.serving.practice_server.info import metrics_text, server_info
from core.serving.practice_server.streaming import quiet_deliberate_aborts

__all__ = ["PracticeServer"]

_KEEPALIVE_S = 5.0  # idle keep-alive connections close after this (uvicorn's default)
_GRACEFUL_S = 3.0  # stop(): longest wait for open connections after their streams were ended


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket. The protocol is named explicitly: asyncio sets TCP_NODELAY on accepted
    connections only when it is IPPROTO_TCP (``socket.create_server`` leaves 0), and without NODELAY
    Nagle's algorithm plus the client's delayed ACK hold a small SSE event back ~40 ms."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class PracticeServer:
    """A practice server (SGLang's HTTP API) on a background thread; a context manager.

    ``start()`` binds ``config.host:config.port`` (port 0 = any free port) and returns the base URL
    (also in :attr:`url`); ``serve_forever()`` blocks until :meth:`stop` or Ctrl-C. Raises
    ``ValueError`` for a bad config (before binding) and ``OSError`` when the address is taken.
    ``overrides`` replace fields of ``config``.
    """

    def __init__(self, config: PracticeConfig | None = None, **overrides):
        config = config or PracticeConfig()
        self.config = replace(config, **overrides) if overrides else config
        validate_config(self.config)
        self.engine = create_engine(self.config.engine, self.config)
        self.context = ServerContext(self.engine, self.config, host=self.config.host, port=self.config.port)
        self.stop_event = self.context.stop
        self.started_at = self.context.started_at
        self.url: str | None = None
        self.thread_prefix = "practice-"
        self._uvicorn: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def notes(self) -> list[str]:
        """What the engine decided for the user (SGLang's automatic choices, pricing); one line each."""
        return list(self.engine.info.details.get("notes", []))

    def start(self) -> str:
        """Bind and serve on a background thread; returns the base URL (``http://127.0.0.1:PORT``)."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("practice server already started")
            sock = _bind(self.config.host, self.config.port)
            host, port = sock.getsockname()[:2]
            self.context.host, self.context.port = str(host), int(port)
            self.url = self.context.url
            self.thread_prefix = f"practice-{port}-"
            quiet_deliberate_aborts()
            config = uvicorn.Config(
                create_app(self.context),
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_keep_alive=int(_KEEPALIVE_S),
                timeout_graceful_shutdown=int(_GRACEFUL_S),
            )
            self._uvicorn = uvicorn.Server(config)
            self.engine.start()
            self._thread = threading.Thread(
                target=self._uvicorn.run,
                kwargs={"sockets": [sock]},
                name=self.thread_prefix + "http",
                daemon=True,
            )
            self._thread.start()
        self._wait_until_serving()
        return self.url

    def _wait_until_serving(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise OSError(f"the practice server on {self.url} did not start")
            time.sleep(0.005)

    def serve_forever(self) -> None:
        """Start (unless started) and block until :meth:`stop` is called; Ctrl-C stops the server."""
        if self._thread is None:
            self.start()
        try:
            while self._thread.is_alive():  # short joins so Ctrl-C reaches the caller
                self._thread.join(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        """End every open stream, stop serving, stop the engine, join the threads. Safe to call twice."""
        self.stop_event.set()
        self.engine.close()  # closes every engine stream: open responses end without [DONE]
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=_GRACEFUL_S + 5)

    def __enter__(self) -> PracticeServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- introspection
    def server_info(self) -> dict:
        """What ``GET /server_info`` returns (works before :meth:`start` too)."""
        return server_info(self.context)

    def metrics_text(self) -> str:
        """What ``GET /metrics`` returns."""
        return metrics_text(self.context)

    def stats(self) -> dict:
        """The engine's counters (:class:`EngineStats` fields) plus its scheduler's own accounting, if any
        (the synthetic engine: model seconds per decode step by batch size, ``steps_by_batch``, ...)."""
        data = asdict(self.engine.stats())
        extra = getattr(self.engine, "scheduler_stats", None)
        return data | (extra() if callable(extra) else {})
