"""Every run metric of a serving benchmark, from per-request records, in ONE function (:func:`summarize`).

The definitions follow SGLang's ``bench_serving`` (``calculate_metrics``), so figures can be compared with
SGLang's own tool:

- latency statistics (TTFT, ITL, TPOT, E2E) use successful requests only;
- ITL values of all successful requests are pooled, then summarised;
- TPOT of one request = (E2E - TTFT) / (completion tokens - 1), for requests with at least 2 tokens;
- output throughput = completion tokens of successful requests / wall duration of the run;
- mean concurrency = sum of successful E2E latencies / wall duration;
- statistics are mean, median and 99th percentile (numpy's linear interpolation), in milliseconds.

Where bench_serving prints 0 for an empty list, this module gives None: no figure is better than a
made-up one. Accept length (tokens per target verify pass, bonus token included) =
sum(completion tokens) / sum(spec_verify_ct) over successful requests that report ``spec_verify_ct``;
None when no request does (the server does not speculate).

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

__all__ = ["LATENCY_METRICS", "RunSummary", "busy_time_s", "summarize"]

#: The latency metrics summarised, each as ``<name>_ms_mean``, ``_median`` and ``_p99``.
LATENCY_METRICS = ("ttft", "itl", "tpot", "e2e")


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
    ttft_ms_p99: float | None = None
    itl_ms_mean: float | None = None
    itl_ms_median: float | None = None
    itl_ms_p99: float | None = None
    tpot_ms_mean: float | None = None
    tpot_ms_median: float | None = None
    tpot_ms_p99: float | None = None
    e2e_ms_mean: float | None = None
    e2e_ms_median: float | None = None
    e2e_ms_p99: float | None = None
    accept_length: float | None = None
    spec_requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    categories: dict[str, RunSummary] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A JSON-ready dict; ``categories`` nested as dicts."""
        data = asdict(self)
        data["categories"] = {name: summary.to_dict() for name, summary in self.categories.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> RunSummary:
        """Inverse of :meth:`to_dict` (unknown keys ignored)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["categories"] = {
            name: cls.from_dict(sub) for name, sub in (data.get("categories") or {}).items()
        }
        values["errors"] = dict(data.get("errors") or {})
        return cls(**values)


def _stats_ms(values_s: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    """(mean, median, p99) of values in seconds, returned in milliseconds; Nones for no values."""
    if len(values_s) == 0:
        return None, None, None
    arr = np.asarray(values_s, dtype=np.float64) * 1000.0
    return float(np.mean(arr)), float(np.median(arr)), float(np.percentile(arr, 99))


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
    prompt_tokens = sum(int(r.prompt_tokens or 0) for r in ok)
    ttfts = [r.ttft_s for r in ok if r.ttft_s is not None]
    itls = [gap for r in ok for gap in r.itl_s]
    tpots = [t for t in (r.tpot_s for r in ok) if t is not None]
    e2es = [r.e2e_s for r in ok if r.e2e_s is not None]
    spec = [r for r in ok if r.spec_verify_ct]
    verify = sum(int(r.spec_verify_ct) for r in spec)
    accept = sum(int(r.completion_tokens) for r in spec) / verify if verify > 0 else None
    has_time = duration_s > 0 and math.isfinite(duration_s)
    ttft = _stats_ms(ttfts)
    itl = _stats_ms(itls)
    tpot = _stats_ms(tpots)
    e2e = _stats_ms(e2es)
    return RunSummary(
        requests_total=len(records),
        requests_ok=len(ok),
        requests_failed=len(failed),
        completion_tokens_total=tokens,
        prompt_tokens_total=prompt_tokens,
        duration_s=float(duration_s),
        output_throughput_tok_s=tokens / duration_s if has_time else None,
        request_throughput_req_s=len(ok) / duration_s if has_time else None,
        concurrency_mean=sum(e2es) / duration_s if has_time else None,
        ttft_ms_mean=ttft[0],
        ttft_ms_median=ttft[1],
        ttft_ms_p99=ttft[2],
        itl_ms_mean=itl[0],
        itl_ms_median=itl[1],
        itl_ms_p99=itl[2],
        tpot_ms_mean=tpot[0],
        tpot_ms_median=tpot[1],
        tpot_ms_p99=tpot[2],
        e2e_ms_mean=e2e[0],
        e2e_ms_median=e2e[1],
        e2e_ms_p99=e2e[2],
        accept_length=accept,
        spec_requests=len(spec),
        errors=dict(Counter(_error_key(r.error) for r in failed).most_common()),
    )


def summarize(records: Sequence[RequestRecord], duration_s: float | None = None) -> RunSummary:
    """Compute every run metric from the records of one run (see the module docstring for definitions).

    ``duration_s`` is the wall time of the run in seconds (the runner measures it from sending the first
    request to the end of the last). When None, it is the span from the earliest request start to the
    latest request end found in the records. Per-category summaries (in order of first appearance) are in
    ``summary.categories``.
    """
    records = list(records)
    if duration_s is None:
        spans = [iv for iv in (_interval(r) for r in records) if iv is not None]
        duration_s = max(e for _, e in spans) - min(s for s, _ in spans) if spans else 0.0
    duration_s = float(duration_s)
    if not math.isfinite(duration_s) or duration_s < 0:
        raise ValueError(f"duration_s must be a finite number >= 0, got {duration_s!r}")
    overall = _summarize_one(records, duration_s)
    by_category: dict[str, list[RequestRecord]] = {}
    for record in records:
        by_category.setdefault(record.category, []).append(record)
    categories = {}
    for name, members in by_category.items():
        busy = busy_time_s(iv for iv in (_interval(r) for r in members) if iv is not None)
        categories[name] = _summarize_one(members, busy)
    return replace(overall, categories=categories)
