"""Exercise 1: sweep the speculation length and find where it pays most.

For each length ``L`` (tokens drafted per verify pass) a practice server is started in this process with
SGLang's chain settings ``--speculative-num-steps L --speculative-eagle-topk 1
--speculative-num-draft-tokens L+1``, the same small run is sent to it, and the server is stopped; length
0 is a server without speculation (the baseline). Each point keeps the whole measured run: accept length
per request (output tokens ÷ verify passes) and output tokens per second. A longer draft accepts more
tokens per pass but costs more drafting and a wider verify; :func:`best_point` marks the length with the
highest measured throughput.

In-process servers run on the app's machine, so the page offers this only in workshop mode.

Public API: :data:`SPEC_LENGTHS`, :class:`LengthPoint`, :func:`sweep_speculation_length`,
:func:`best_point`, :func:`describe_sweep`, :func:`length_sweep_frame`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from core.serving.bench_runner import BenchRun, BenchSettings, run_benchmark
from core.serving.practice_server import PracticeConfig, PracticeServer
from core.serving.sglang_client import RequestRecord

__all__ = [
    "SPEC_LENGTHS",
    "LengthPoint",
    "best_point",
    "describe_sweep",
    "length_sweep_frame",
    "sweep_speculation_length",
]

#: Lengths the page offers (0 = no speculation).
SPEC_LENGTHS = (0, 1, 2, 3, 4, 6, 8)


@dataclass(frozen=True)
class LengthPoint:
    """One measured point of the sweep: ``length`` drafted tokens per verify pass (0 = baseline)."""

    length: int
    run: BenchRun

    @property
    def accept_length(self) -> float | None:
        """Output tokens ÷ verify passes (1.0 for the baseline, which verifies nothing)."""
        return 1.0 if self.length == 0 else self.run.summary.accept_length_per_request

    @property
    def tokens_per_s(self) -> float | None:
        return self.run.summary.output_throughput_tok_s


def server_config(length: int, algorithm: str = "EAGLE", **overrides) -> PracticeConfig:
    """The practice server of one point: tiny models on the CPU unless ``overrides`` say otherwise."""
    if isinstance(length, bool) or not isinstance(length, int) or not 0 <= length <= 16:
        raise ValueError(f"a speculation length is a whole number from 0 to 16, got {length!r}")
    base = {"engine": "tiny", "timing": "cpu", **overrides}
    if length == 0:
        return PracticeConfig(speculative=False, **base)
    return PracticeConfig(
        speculative=True,
        algorithm=algorithm,
        num_steps=length,
        eagle_topk=1,
        num_draft_tokens=length + 1,
        **base,
    )


def sweep_speculation_length(
    settings: BenchSettings,
    lengths: Sequence[int],
    *,
    algorithm: str = "EAGLE",
    progress: Callable[[int, int, int, RequestRecord], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_point: Callable[[LengthPoint], None] | None = None,
    **overrides,
) -> list[LengthPoint]:
    """Measure ``settings`` once per length, each on its own in-process server (stopped after its run).

    ``progress(length, done, total, record)`` after each request; ``should_stop()`` ends the sweep (the
    point under way keeps what finished, later lengths are not run); ``on_point(point)`` after each
    length. ``overrides`` go to :class:`PracticeConfig` (e.g. ``engine="synthetic"``). ``ValueError`` for
    a bad length or settings, before any server starts.
    """
    configs = [(int(n), server_config(n, algorithm, **overrides)) for n in dict.fromkeys(lengths)]
    if not configs:
        raise ValueError("choose at least one speculation length")
    settings.validated().plan()
    points: list[LengthPoint] = []
    for length, config in configs:
        if should_stop is not None and should_stop():
            break

        def report(done: int, total: int, record: RequestRecord, length: int = length) -> None:
            if progress is not None:
                progress(length, done, total, record)

        with PracticeServer(config) as server:
            run = run_benchmark(server.url, settings, progress=report, should_stop=should_stop)
        point = LengthPoint(length, run)
        points.append(point)
        if on_point is not None:
            on_point(point)
    return points


def best_point(points: Sequence[LengthPoint]) -> LengthPoint | None:
    """The point with the highest measured output throughput (None when none was measured)."""
    measured = [p for p in points if p.tokens_per_s is not None]
    return max(measured, key=lambda p: p.tokens_per_s) if measured else None


def length_sweep_frame(points: Sequence[LengthPoint]) -> pd.DataFrame:
    """Chart and CSV table: one row per point with length, accept length, tok/s, verify passes, whether it
    is the best, and how complete its run was."""
    best = best_point(points)
    rows = []
    for p in points:
        s = p.run.summary
        rows.append(
            {
                "speculation length": p.length,
                "accept length": p.accept_length,
                "output tok/s": p.tokens_per_s,
                "requests ok": s.requests_ok,
                "requests failed": s.requests_failed,
                "best": best is not None and p is best,
            }
        )
    return pd.DataFrame(rows)


def describe_sweep(points: Sequence[LengthPoint]) -> str | None:
    """What the measured points say, in sentences that hold for these numbers (None without a best)."""
    best = best_point(points)
    if best is None:
        return None
    what = "no speculation" if best.length == 0 else f"length {best.length}"
    text = f"Measured best: {what}, {best.tokens_per_s:,.0f} output tok/s (accept length {best.accept_length:.2f})."
    longest = max((p for p in points if p.tokens_per_s is not None), key=lambda p: p.length)
    if best.length == 0:
        return text + (
            " No length beat plain decoding here: drafting and verifying cost more than the accepted tokens saved."
        )
    if longest is best:
        return (
            text
            + " The longest length you tried was the fastest: try longer ones to find where it stops paying."
        )
    return text + (
        f" Length {longest.length} accepted {longest.accept_length:.2f} tokens per pass but made only "
        f"{longest.tokens_per_s:,.0f} tok/s: past the best, the extra drafted tokens cost more than they gained."
    )
