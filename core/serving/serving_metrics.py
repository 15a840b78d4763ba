"""Every run metric of a serving benchmark, from per-request records, in ONE function (:func:`summarize`).

The latency definitions follow SGLang's ``bench_serving`` (``calculate_metrics`` in
``sglang/benchmark/serving.py`` of sglang 0.5.23), so figures can be compared with SGLang's own tool:

- latency statistics (TTFT, ITL, TPOT, E2E) use successful requests only;
- ITL values of all successful requests are pooled, then summarised;
- TPOT of one request = (E2E - TTFT) / (completion tokens - 1), for requests with at least 2 tokens;
- output throughput = completion tokens of successful requests / wall duration of the run;
- mean concurrency = sum of successful E2E latencies / wall duration;
- statistics (:data:`STATISTICS`), in milliseconds: mean, median, std (numpy's population standard
  deviation, ``ddof=0``), p90, p95, p99 (numpy's linear interpolation) and max, as bench_serving reports
  them (bench_serving's JSON output has no max for TTFT, TPOT and E2E, and prints only max ITL).

Where this differs from bench_serving, on purpose:

- **Success.** A request succeeds here only when its stream ended with ``[DONE]``, carried no error event
  and reported its token count. bench_serving counts every HTTP-200 stream that raised no Python exception
  as a success (it never inspects ``{"error": ...}`` events, and when no text arrived it counts the
  requested output length as generated). With errors in a run, its request count and throughput are
  therefore higher than the figures here.
- **Empty lists.** bench_serving prints 0 (``np.mean(x or 0)``); this module gives None: no figure is
  better than a made-up one. A successful request that never sent text has no TTFT here (bench_serving
  keeps 0.0 for it).

Two accept lengths exist, and they are different numbers; every figure says which one it is:

- ``accept_length_per_request`` (this module) = sum(completion tokens) / sum(spec_verify_ct) over the
  successful requests that report ``spec_verify_ct``: SGLang's per-request ``spec_accept_length``
  definition, pooled. It INCLUDES the first token, sampled at prefill (not by a verify pass), so it runs
  about 1/verify_ct above the per-verify-pass figure (3.20 vs 3.175 for 128 tokens in 40 passes). None
  when no request reports verify passes (no speculation, or an engine that does not say).
- the server's accept length, which bench_serving prints as "Accept length": SGLang's ``/server_info``
  ``internal_states[0].avg_spec_accept_length`` = accepted tokens / verify passes over the server's
  lifetime (since start or the last ``/flush_cache``, all clients, refreshed every 40 decode steps); or
  vLLM's ``1 + accepted / drafts`` from its Prometheus counters. Verify passes only, so it excludes the
  prefill token. :mod:`core.serving.bench_runner` reads it (:class:`ServerAcceptLength`).

Per-category summaries use the same definitions; their ``duration_s`` is the wall time during which at
least one request of that category was in flight (the union of their intervals), so a category's output
throughput is its tokens per second of its own serving time.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from core.serving.sglang_client import RequestRecord

__all__ = ["LATENCY_METRICS", "STATISTICS", "RunSummary", "busy_time_s", "latency_stats_ms", "summarize"]

#: The latency metrics summarised, each as ``<name>_ms_<statistic>`` for every one of :data:`STATISTICS`.
LATENCY_METRICS = ("ttft", "itl", "tpot", "e2e")
#: The statistics of each latency metric, as bench_serving computes them (see the module docstring).
STATISTICS = ("mean", "median", "std", "p90", "p95", "p99", "max")


@dataclass(frozen=True)
class RunSummary:
    """Metrics of a run (or of one category of it). Latencies in ms, durations in s, rates per second.

    ``errors`` counts failed requests by message (token counts stripped, so alike failures group).
    ``categories`` holds one summary per prompt category (empty inside a category summary).
    """

    requests_total: int = 0
    requests_ok: int = 0
    requests_failed: int = 0
    completion_tokens_total: int = 0
    prompt_tokens_total: int = 0
    duration_s: float = 0.0
    output_throughput_tok_s: float | None = None
    request_throughput_req_s: float | None = None
    concurrency_mean: float | None = None
    ttft_ms_mean: float | None = None
    ttft_ms_median: float | None = None
    ttft_ms_std: float | None = None
    ttft_ms_p90: float | None = None
    ttft_ms_p95: float | None = None
    ttft_ms_p99: float | None = None
    ttft_ms_max: float | None = None
    itl_ms_mean: float | None = None
    itl_ms_median: float | None = None
    itl_ms_std: float | None = None
    itl_ms_p90: float | None = None
    itl_ms_p95: float | None = None
    itl_ms_p99: float | None = None
    itl_ms_max: float | None = None
    tpot_ms_mean: float | None = None
    tpot_ms_median: float | None = None
    tpot_ms_std: float | None = None
    tpot_ms_p90: float | None = None
    tpot_ms_p95: float | None = None
    tpot_ms_p99: float | None = None
    tpot_ms_max: float | None = None
    e2e_ms_mean: float | None = None
    e2e_ms_median: float | None = None
    e2e_ms_std: float | None = None
    e2e_ms_p90: float | None = None
    e2e_ms_p95: float | None = None
    e2e_ms_p99: float | None = None
    e2e_ms_max: float | None = None
    accept_length_per_request: float | None = None
    spec_requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    categories: dict[str, RunSummary] = field(default_factory=dict)

    @property
    def accept_length(self) -> float | None:
        """Short name of :attr:`accept_length_per_request` (kept for callers written before the rename)."""
        return self.accept_length_per_request

    def latency_ms(self, metric: str) -> dict[str, float | None]:
        """``{statistic: value}`` for one of :data:`LATENCY_METRICS`, in ms (None: no value)."""
        if metric not in LATENCY_METRICS:
            raise ValueError(f"metric must be one of {', '.join(LATENCY_METRICS)}, got {metric!r}")
        return {stat: getattr(self, f"{metric}_ms_{stat}") for stat in STATISTICS}

    def to_dict(self) -> dict:
        """A JSON-ready dict; ``categories`` nested as dicts."""
        data = asdict(self)
        data["categories"] = {name: summary.to_dict() for name, summary in self.categories.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> RunSummary:
        """Inverse of :meth:`to_dict` (unknown keys ignored; files from before the rename of
        ``accept_length`` to ``accept_length_per_request`` still load)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "accept_length_per_request" not in values and "accept_length" in data:
            values["accept_length_per_request"] = data["accept_length"]
        values["categories"] = {
            name: cls.from_dict(sub) for name, sub in (data.get("categories") or {}).items()
        }
        values["errors"] = dict(data.get("errors") or {})
        return cls(**values)


def latency_stats_ms(values_s: Sequence[float]) -> dict[str, float | None]:
    """Every one of :data:`STATISTICS` of values in seconds, returned in milliseconds; Nones for no values.

    The same numpy calls as bench_serving: ``np.mean``, ``np.median``, ``np.std`` (ddof 0),
    ``np.percentile`` (linear) and ``np.max``.
    """
    if len(values_s) == 0:
        return dict.fromkeys(STATISTICS)
    arr = np.asarray(values_s, dtype=np.float64) * 1000.0
    return {
        "mean": float(np.mean(arr)),
        "median": float(np.median(arr)),
        "std": float(np.std(arr)),
        "p90": float(np.percentile(arr, 90)),
        "p95": float(np.percentile(arr, 95)),
        "p99": float(np.percentile(arr, 99)),
        "max": float(np.max(arr)),
    }


def busy_time_s(intervals: Iterable[tuple[float, float]]) -> float:
    """Length in seconds of the union of (start, end) intervals (overlaps counted once)."""
    total = 0.0
    current_start = current_end = None
    for start, end in sorted((float(a), float(b)) for a, b in intervals if b > a):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return total


_COUNT_SUFFIX = re.compile(r" (after \d+ (tokens?|chunks?)|before the first token)$")


def _error_key(message: str | None) -> str:
    return _COUNT_SUFFIX.sub("", message or "unknown error")


def _interval(record: RequestRecord) -> tuple[float, float] | None:
    if record.e2e_s is None:
        return None
    return record.start_time, record.start_time + record.e2e_s


def _summarize_one(records: Sequence[RequestRecord], duration_s: float) -> RunSummary:
    ok = [r for r in records if r.success]
    failed = [r for r in records if not r.success]
    tokens = sum(int(r.completion_tokens) for r in ok)
    spec = [r for r in ok if r.spec_verify_ct]
    verify = sum(int(r.spec_verify_ct) for r in spec)
    e2es = [r.e2e_s for r in ok if r.e2e_s is not None]
    samples = {
        "ttft": [r.ttft_s for r in ok if r.ttft_s is not None],
        "itl": [gap for r in ok for gap in r.itl_s],
        "tpot": [t for t in (r.tpot_s for r in ok) if t is not None],
        "e2e": e2es,
    }
    latency = {
        f"{metric}_ms_{stat}": value
        for metric, values in samples.items()
        for stat, value in latency_stats_ms(values).items()
    }
    has_time = duration_s > 0 and math.isfinite(duration_s)
    return RunSummary(
        requests_total=len(records),
        requests_ok=len(ok),
        requests_failed=len(failed),
        completion_tokens_total=tokens,
        prompt_tokens_total=sum(int(r.prompt_tokens or 0) for r in ok),
        duration_s=float(duration_s),
        output_throughput_tok_s=tokens / duration_s if has_time else None,
        request_throughput_req_s=len(ok) / duration_s if has_time else None,
        concurrency_mean=sum(e2es) / duration_s if has_time else None,
        accept_length_per_request=(
            sum(int(r.completion_tokens) for r in spec) / verify if verify > 0 else None
        ),
        spec_requests=len(spec),
        errors=dict(Counter(_error_key(r.error) for r in failed).most_common()),
        **latency,
    )


def summarize(
    records: Sequence[RequestRecord], duration_s: float | None = None, *, by_category: bool = True
) -> RunSummary:
    """Compute every run metric from the records of one run (see the module docstring for definitions).

    ``duration_s`` is the wall time of the run in seconds (the runner measures it from sending the first
    request to the end of the last). When None, it is the span from the earliest request start to the
    latest request end found in the records. Per-category summaries (in order of first appearance) are in
    ``summary.categories``; ``by_category=False`` leaves them out (records without real start times, such
    as those read back from a bench_serving file, have no per-category serving time).
    """
    records = list(records)
    if duration_s is None:
        spans = [iv for iv in (_interval(r) for r in records) if iv is not None]
        duration_s = max(e for _, e in spans) - min(s for s, _ in spans) if spans else 0.0
    duration_s = float(duration_s)
    if not math.isfinite(duration_s) or duration_s < 0:
        raise ValueError(f"duration_s must be a finite number >= 0, got {duration_s!r}")
    overall = _summarize_one(records, duration_s)
    if not by_category:
        return overall
    groups: dict[str, list[RequestRecord]] = {}
    for record in records:
        groups.setdefault(record.category, []).append(record)
    categories = {}
    for name, members in groups.items():
        busy = busy_time_s(iv for iv in (_interval(r) for r in members) if iv is not None)
        categories[name] = _summarize_one(members, busy)
    return replace(overall, categories=categories)
