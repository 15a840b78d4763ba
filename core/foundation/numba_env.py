"""Numba settings for a process that many Streamlit sessions share.

This is the one place that configures Numba, and it must run before ``import numba`` (``core/__init__``
calls :func:`configure`). It

* points ``NUMBA_CACHE_DIR`` at a writable folder when the package folder is read-only (``cache=True``
  kernels otherwise fail to import with "cannot cache function");
* selects a thread-safe threading layer: with the default ``workqueue`` layer, two sessions calling a
  ``parallel=True`` kernel at once abort the whole server process;
* caps ``NUMBA_NUM_THREADS`` so one student cannot take every core of a shared server.

Values the operator already set in the environment always win.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the core package, where Numba caches by default
DEFAULT_THREADING_LAYER = "threadsafe"  # tbb or omp; never workqueue
DEFAULT_MAX_THREADS = 4


def _is_writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-probe-"):
            return True
    except OSError:
        return False


def fallback_cache_dir() -> Path:
    """Per-user cache folder used when the package's own ``__pycache__`` is not writable."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "speclab" / "numba"


def choose_cache_dir() -> Path | None:
    """Folder to give ``NUMBA_CACHE_DIR``, or ``None`` when Numba's default (next to the source) works."""
    if _is_writable_dir(_PACKAGE_DIR / "__pycache__"):
        return None
    for candidate in (fallback_cache_dir(), Path(tempfile.gettempdir()) / "speclab-numba-cache"):
        if _is_writable_dir(candidate):
            return candidate
    return None


def configure() -> None:
    """Set Numba's environment for this process; a no-op for anything the environment already sets."""
    if "numba" in sys.modules:
        # Too late to change Numba's config through the environment; keep what it has.
        return
    if "NUMBA_CACHE_DIR" not in os.environ:
        cache_dir = choose_cache_dir()
        if cache_dir is not None:
            os.environ["NUMBA_CACHE_DIR"] = str(cache_dir)
    os.environ.setdefault("NUMBA_THREADING_LAYER", DEFAULT_THREADING_LAYER)
    cpus = os.cpu_count() or 1
    os.environ.setdefault("NUMBA_NUM_THREADS", str(max(1, min(DEFAULT_MAX_THREADS, cpus))))
