"""Compile every Numba kernel of the lab once per process.

A hosted classroom shares one process; the app starts :func:`warm_all` in a background thread at the
first page view so that no student waits for compilation later (about 0.4 s per kernel from Numba's
disk cache, about 1 s cold). Pages still call their own module's ``warm_up()`` before first use; a
kernel compiled here is then already there.
"""

from __future__ import annotations

import importlib
import time

# Modules with Numba kernels, each exposing warm_up().
KERNEL_MODULES = (
    "core.simulation.montecarlo",
    "core.simulation.tree",
    "core.simulation.rejection",
    "core.simulation.controllers",
    "core.simulation.adaptive_stream",
    "core.tiny_models.kernels",
)


def warm_all() -> dict[str, float]:
    """Compile (or load from cache) every kernel; returns seconds spent per module."""
    seconds = {}
    for name in KERNEL_MODULES:
        start = time.perf_counter()
        importlib.import_module(name).warm_up()
        seconds[name] = time.perf_counter() - start
    return seconds
