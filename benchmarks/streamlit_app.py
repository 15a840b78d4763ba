"""Start ``streamlit run app.py`` on a free local port and wait until it answers: for tests and load tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def streamlit_command(port: int) -> list[str]:
    """``streamlit run app.py`` headless on 127.0.0.1:``port``, without usage statistics."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless=true",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false",
    ]


def wait_until_healthy(
    url: str,
    process: subprocess.Popen | None,
    timeout_s: float,
    what: str,
    error: type[Exception] = RuntimeError,
) -> None:
    """Poll ``url``'s ``/_stcore/health`` until it says ok; raise ``error`` if ``process`` exits first or
    ``timeout_s`` seconds pass."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process is not None and process.poll() is not None:
            raise error(f"{what} exited early (code {process.returncode})")
        try:
            if requests.get(f"{url}/_stcore/health", timeout=1).text.strip() == "ok":
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise error(f"{what} did not answer on {url} within {timeout_s:.0f} s")
        time.sleep(0.3)


@contextlib.contextmanager
def running_app(
    env: Mapping[str, str] | None = None, log_path: Path | None = None, timeout_s: float = 60
) -> Iterator[tuple[str, int]]:
    """Run the app headless on 127.0.0.1 until the block ends; yields ``(base_url, pid)``.

    ``env`` adds environment variables (e.g. hosted mode's ``SPECLAB_ALLOWED_BASE_URLS``); output goes to
    ``log_path`` (or is discarded).
    """
    port = free_port()
    command = streamlit_command(port)
    with open(log_path or os.devnull, "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process, timeout_s, f"streamlit (see {log_path or 'its output'})")
        yield base_url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
