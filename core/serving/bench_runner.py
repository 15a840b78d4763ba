"""Run a serving benchmark against an SGLang server: prompts from a suite, N requests at concurrency C.

:func:`run_benchmark` sends the requests from a thread pool (``concurrency`` in flight at a time), bounded
in count (``num_requests``) and in time (``time_budget_s``, plus each request's own deadline). It calls
``progress(done, total, record)`` after every finished request and polls ``should_stop()`` about ten
times a second, both in the CALLER's thread (so a Streamlit script can update widgets from them). When
it stops early (asked to, time budget, ``stop_on_error``, Ctrl-C) it cuts the requests in flight and
returns what was measured so far, with ``stopped_reason`` saying why. Server facts (``/server_info``) are
read before and after the run; the server's own accept length comes from the one after.

:class:`BenchRun` is the typed result: settings, records, summary (:func:`core.serving.serving_metrics.summarize`),
timestamps, server facts, a ``simulated`` flag (the practice server identifies itself) and exports
(:meth:`BenchRun.to_json` / :meth:`BenchRun.from_json`, :meth:`BenchRun.to_csv`).
:func:`compare_runs` puts a baseline run next to a speculative run; :func:`concurrency_sweep` repeats a
run at several concurrency levels.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import io
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from core.serving.serving_metrics import RunSummary, summarize
from core.serving.sglang_client import (
    APIS,
    HTTPStatusError,
    RequestRecord,
    ServerInfo,
    SGLangClient,
    SGLangError,
)
from core.serving.spec_counters import SpecCounters

__all__ = [
    "ENGINES",
    "SCHEMA_VERSION",
    "BenchRun",
    "BenchSettings",
    "CategoryComparison",
    "Comparison",
    "ServerAcceptLength",
    "compare_runs",
    "concurrency_sweep",
    "rows_to_csv",
    "run_benchmark",
]

#: Version of the JSON export; :meth:`BenchRun.from_json` refuses files from a newer version.
SCHEMA_VERSION = 2  # 2: summary key accept_length_per_request, engine, vLLM counters, warm-up/flush
_SCHEMA_NAME = "speclab.bench_run"
MAX_REQUESTS = 10_000
MAX_CONCURRENCY = 256
MAX_TOKENS = 131_072
MAX_WARMUP = 64
_POLL_S = 0.1
_STOP_GRACE_S = 2.0

Progress = Callable[[int, int, RequestRecord], None]


# ------------------------------------------------------------------------------------------ settings
@dataclass(frozen=True)
class BenchSettings:
    """What to run. Times in seconds.

    ``categories`` empty means every category of the suite. ``prompts`` (pairs of category, prompt)
    replaces the suite when given. Requests cycle through the prompts with categories interleaved, so
    any ``num_requests`` covers every category evenly. ``temperature`` 0 is greedy, as bench_serving;
    ``ignore_eos`` makes every request produce exactly ``max_tokens`` tokens.

    ``warmup_requests``: requests sent (at the run's concurrency) before the measured run and left out of
    it. ``flush_cache``: ``POST /flush_cache`` after the warm-up, as bench_serving's ``--flush-cache``: it
    clears SGLang's prefix cache and restarts the counters behind the server's accept length, so that
    figure then covers this run only. :meth:`like_bench_serving` gives bench_serving's defaults.
    """

    suite: str = "default"
    categories: tuple[str, ...] = ()
    num_requests: int = 12
    concurrency: int = 1
    max_tokens: int = 128
    temperature: float = 0.0
    ignore_eos: bool = False
    api: str = "native"
    request_timeout_s: float = 120.0
    time_budget_s: float = 900.0
    stop_on_error: bool = False
    prompts: tuple[tuple[str, str], ...] = ()
    warmup_requests: int = 0
    flush_cache: bool = False

    @classmethod
    def like_bench_serving(cls, **changes: Any) -> BenchSettings:
        """Settings with sglang 0.5.23 bench_serving's defaults (``sglang/benchmark/serving.py``): greedy
        (temperature 0), ``ignore_eos`` on (``not args.disable_ignore_eos``), one warm-up request, the
        native ``/generate`` API (``--backend sglang``), no ``/flush_cache`` (its ``--flush-cache`` is
        off by default). ``changes`` override any field (``num_requests``, ``max_tokens``, ...)."""
        base = {"temperature": 0.0, "ignore_eos": True, "warmup_requests": 1, "api": "native"}
        return cls(**{**base, **changes})

    def validated(self) -> BenchSettings:
        """These settings with types normalised; ``ValueError`` naming the first bad field."""

        def whole(name: str, lo: int, hi: int) -> int:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
            if not lo <= int(value) <= hi:
                raise ValueError(f"{name} must be between {lo} and {hi}, got {int(value)}")
            return int(value)

        def seconds(name: str) -> float:
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
            return float(value)

        temperature = self.temperature
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, int | float)
            or not 0 <= temperature <= 2
        ):
            raise ValueError(f"temperature must be between 0 and 2, got {temperature!r}")
        if self.api not in APIS:
            raise ValueError(f"api must be one of {', '.join(APIS)}, got {self.api!r}")
        categories = (self.categories,) if isinstance(self.categories, str) else tuple(self.categories)
        prompts = tuple((str(c), str(p)) for c, p in self.prompts)
        if any(not p.strip() for _, p in prompts):
            raise ValueError("prompts must not be empty")
        return replace(
            self,
            categories=tuple(str(c) for c in categories),
            num_requests=whole("num_requests", 1, MAX_REQUESTS),
            concurrency=whole("concurrency", 1, MAX_CONCURRENCY),
            max_tokens=whole("max_tokens", 1, MAX_TOKENS),
            temperature=float(temperature),
            ignore_eos=bool(self.ignore_eos),
            request_timeout_s=seconds("request_timeout_s"),
            time_budget_s=seconds("time_budget_s"),
            stop_on_error=bool(self.stop_on_error),
            prompts=prompts,
            warmup_requests=whole("warmup_requests", 0, MAX_WARMUP),
            flush_cache=bool(self.flush_cache),
        )

    def plan(self) -> list[tuple[str, str]]:
        """The (category, prompt) of every request, in sending order. ``ValueError`` for an unknown suite
        or category."""
        settings = self.validated()
        if settings.prompts:
            pool = list(settings.prompts)
            if settings.categories:
                pool = [(c, p) for c, p in pool if c in settings.categories]
        else:
            from core.serving.prompt_suite import load_suite

            try:
                suite = load_suite(settings.suite)
            except KeyError as exc:
                raise ValueError(str(exc.args[0]) if exc.args else str(exc)) from None
            wanted = settings.categories or tuple(suite.categories)
            unknown = [c for c in wanted if c not in suite.categories]
            if unknown:
                raise ValueError(
                    f"suite {suite.name!r} has no category {unknown[0]!r}; categories: {', '.join(suite.categories)}"
                )
            pool = [(c, p) for c in wanted for p in suite.prompts(c)]
        if not pool:
            raise ValueError("no prompts to send: the chosen categories have no prompts")
        # interleave categories (first prompt of each, then the second of each, ...)
        by_category: dict[str, list[str]] = {}
        for category, prompt in pool:
            by_category.setdefault(category, []).append(prompt)
        order: list[tuple[str, str]] = []
        for i in range(max(len(v) for v in by_category.values())):
            order.extend((c, ps[i]) for c, ps in by_category.items() if i < len(ps))
        return [order[k % len(order)] for k in range(settings.num_requests)]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["categories"] = list(self.categories)
        data["prompts"] = [list(pair) for pair in self.prompts]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> BenchSettings:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["categories"] = tuple(values.get("categories") or ())
        values["prompts"] = tuple(tuple(pair) for pair in values.get("prompts") or ())
        return cls(**values)


# ------------------------------------------------------------------------------------------ the run
#: Engines a run can identify from what the server answers.
ENGINES = ("sglang", "vllm")


@dataclass(frozen=True)
class ServerAcceptLength:
    """The server's own accept length for a run: tokens per verify pass (bonus token included, the token
    sampled at prefill left out), the figure bench_serving prints as "Accept length".

    ``source`` names where it came from; ``covers`` says, in a sentence, which requests it averages over.
    """

    value: float
    source: str
    covers: str


@dataclass
class BenchRun:
    """The result of one benchmark run. ``started_at`` / ``ended_at`` are Unix seconds.

    ``records`` are in sending order. ``stopped_reason`` is None when every planned request was sent and
    finished. ``simulated`` is True when the server is the speclab practice server (figures are then
    simulated, not measured on a GPU). ``engine`` is ``"sglang"`` (it answered ``/server_info``),
    ``"vllm"`` (its ``/v1/models`` or ``/metrics`` say so) or None (unknown). ``spec_counters_before`` /
    ``_after``: vLLM's speculative-decoding counters around the run. ``flushed_before``: a
    ``/flush_cache`` succeeded just before the run. ``imported``: for a run read from another tool's
    file, what that file said (:meth:`core.serving.bench_serving_files.ImportedRun.to_dict`).
    """

    settings: BenchSettings
    base_url: str
    records: list[RequestRecord]
    summary: RunSummary
    started_at: float
    ended_at: float
    server_info_before: ServerInfo | None = None
    server_info_after: ServerInfo | None = None
    simulated: bool = False
    stopped_reason: str | None = None
    notes: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    engine: str | None = None
    spec_counters_before: SpecCounters | None = None
    spec_counters_after: SpecCounters | None = None
    flushed_before: bool = False
    imported: dict | None = None

    @property
    def server_accept(self) -> ServerAcceptLength | None:
        """The server's accept length for this run, with its source; None when the server gave none.

        vLLM: ``1 + accepted / drafts`` of its counters' growth during the run. SGLang: as bench_serving,
        ``/server_info`` ``internal_states[0].avg_spec_accept_length`` read AFTER the run (never the
        reading from before it).
        """
        before, after = self.spec_counters_before, self.spec_counters_after
        if before is not None and after is not None:
            try:
                value = after.minus(before).mean_acceptance_length
            except ValueError:
                value = None
            if value is not None:
                return ServerAcceptLength(
                    value,
                    "vLLM /metrics: 1 + accepted / drafts (spec_decode counters read before and after)",
                    "every request the server decoded during this run, this run's and any other client's",
                )
        info = self.server_info_after
        if info is None or info.avg_spec_accept_length is None:
            return None
        since = (
            "since the /flush_cache just before this run"
            if self.flushed_before
            else "since the server started or was last flushed (earlier runs and other clients included)"
        )
        return ServerAcceptLength(
            info.avg_spec_accept_length,
            "SGLang /server_info internal_states[0].avg_spec_accept_length after the run",
            f"every verify pass {since}; SGLang refreshes it only every 40 decode steps",
        )

    @property
    def server_accept_length(self) -> float | None:
        """:attr:`server_accept`'s value (tokens per verify pass), or None."""
        accept = self.server_accept
        return None if accept is None else accept.value

    @property
    def speculative(self) -> bool:
        """True when the server speculates (server_info says so, or requests reported verify passes)."""
        info = self.server_info_after or self.server_info_before
        return bool(
            (info is not None and info.speculative)
            or self.summary.accept_length_per_request is not None
            or self.spec_counters_after is not None
        )

    @property
    def complete(self) -> bool:
        """True when every planned request finished and none failed."""
        return self.stopped_reason is None and self.summary.requests_failed == 0

    def to_dict(self) -> dict:
        """A JSON-ready dict (see :data:`SCHEMA_VERSION`)."""
        accept = self.server_accept
        return {
            "schema": _SCHEMA_NAME,
            "schema_version": self.schema_version,
            "base_url": self.base_url,
            "engine": self.engine,
            "simulated": self.simulated,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "stopped_reason": self.stopped_reason,
            "notes": list(self.notes),
            "settings": self.settings.to_dict(),
            "flushed_before": self.flushed_before,
            "server_info_before": None if self.server_info_before is None else self.server_info_before.raw,
            "server_info_after": None if self.server_info_after is None else self.server_info_after.raw,
            "spec_counters_before": _counters_dict(self.spec_counters_before),
            "spec_counters_after": _counters_dict(self.spec_counters_after),
            "server_accept_length": None if accept is None else asdict(accept),
            "imported": self.imported,
            "summary": self.summary.to_dict(),
            "records": [r.to_dict() for r in self.records],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> BenchRun:
        """Inverse of :meth:`to_dict`. ``ValueError`` for something that is not a bench run export."""
        if not isinstance(data, dict) or data.get("schema") != _SCHEMA_NAME:
            raise ValueError("not a speclab benchmark run (missing 'schema': 'speclab.bench_run')")
        version = data.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ValueError(
                f"benchmark file has schema version {version!r}; this speclab reads up to {SCHEMA_VERSION}"
            )
        try:
            before, after = data.get("server_info_before"), data.get("server_info_after")
            return cls(
                settings=BenchSettings.from_dict(data["settings"]),
                base_url=str(data["base_url"]),
                records=[RequestRecord.from_dict(r) for r in data["records"]],
                summary=RunSummary.from_dict(data["summary"]),
                started_at=float(data["started_at"]),
                ended_at=float(data["ended_at"]),
                server_info_before=None if before is None else ServerInfo.from_raw(before),
                server_info_after=None if after is None else ServerInfo.from_raw(after),
                simulated=bool(data.get("simulated", False)),
                stopped_reason=data.get("stopped_reason"),
                notes=list(data.get("notes") or []),
                schema_version=version,
                engine=data.get("engine"),
                spec_counters_before=_counters_from(data.get("spec_counters_before")),
                spec_counters_after=_counters_from(data.get("spec_counters_after")),
                flushed_before=bool(data.get("flushed_before", False)),
                imported=data.get("imported") if isinstance(data.get("imported"), dict) else None,
            )
        except (KeyError, TypeError, ValueError, SGLangError) as exc:
            raise ValueError(f"benchmark file is damaged: {exc!r}") from None

    @classmethod
    def from_json(cls, text: str) -> BenchRun:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"benchmark file is not JSON: {exc}") from None
        return cls.from_dict(data)

    def csv_rows(self, label: str = "") -> list[dict]:
        """One dict per request (the CSV rows), settings repeated on every row."""
        s = self.settings
        rows = []
        for index, r in enumerate(self.records):
            itl_mean = sum(r.itl_s) / len(r.itl_s) if r.itl_s else None
            rows.append(
                {
                    "run": label,
                    "request": index,
                    "category": r.category,
                    "success": r.success,
                    "error": r.error or "",
                    "start_time": r.start_time,
                    "ttft_ms": _ms(r.ttft_s),
                    "itl_ms_mean": _ms(itl_mean),
                    "tpot_ms": _ms(r.tpot_s),
                    "e2e_ms": _ms(r.e2e_s),
                    "prompt_tokens": r.prompt_tokens,
                    "completion_tokens": r.completion_tokens,
                    "events": len(r.event_times_s),
                    "spec_verify_ct": r.spec_verify_ct,
                    "spec_accept_length": r.spec_accept_length,
                    "finish_reason": r.finish_reason or "",
                    "prompt": r.prompt,
                    "base_url": self.base_url,
                    "simulated": self.simulated,
                    "api": s.api,
                    "suite": s.suite if not s.prompts else "custom",
                    "concurrency": s.concurrency,
                    "max_tokens": s.max_tokens,
                    "temperature": s.temperature,
                    "ignore_eos": s.ignore_eos,
                }
            )
        return rows

    def to_csv(self, label: str = "") -> str:
        """CSV text: one row per request plus the settings as columns."""
        return rows_to_csv(self.csv_rows(label))


def rows_to_csv(rows: Sequence[dict]) -> str:
    """CSV text for rows produced by :meth:`BenchRun.csv_rows` (header from the first row)."""
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def _counters_dict(counters: SpecCounters | None) -> dict | None:
    return None if counters is None else counters.to_dict()


def _counters_from(data: Any) -> SpecCounters | None:
    return SpecCounters.from_dict(data) if isinstance(data, dict) else None


def _is_practice(info: ServerInfo | None) -> bool:
    if info is None:
        return False
    return info.is_practice_server or bool(
        info.model_path and info.model_path.startswith("speclab-practice/")
    )


@dataclass
class _Snapshot:
    """What the server says about itself at one moment (before or after a run)."""

    info: ServerInfo | None = None
    counters: SpecCounters | None = None
    engine: str | None = None


def _snapshot(client: SGLangClient, when: str, notes: list[str]) -> _Snapshot:
    """Read ``/server_info`` (SGLang); when the server has none, vLLM's counters from ``/metrics``."""
    try:
        return _Snapshot(info=client.server_info(), engine="sglang")
    except HTTPStatusError as exc:
        if exc.status != 404:
            notes.append(f"could not read /server_info {when} the run: {exc}")
            return _Snapshot()
        info_error = str(exc)
    except SGLangError as exc:
        notes.append(f"could not read /server_info {when} the run: {exc}")
        return _Snapshot()
    try:
        counters = client.spec_counters()
    except SGLangError as exc:
        notes.append(f"could not read /server_info {when} the run ({info_error}) nor /metrics ({exc})")
        return _Snapshot()
    return _Snapshot(
        counters=counters, engine="vllm" if counters is not None or _owned_by_vllm(client) else None
    )


def _owned_by_vllm(client: SGLangClient) -> bool:
    """vLLM's ``/v1/models`` entries say ``"owned_by": "vllm"``."""
    try:
        return any(card.get("owned_by") == "vllm" for card in client.model_cards())
    except SGLangError:
        return False


def _warm_up_and_flush(
    client: SGLangClient, settings: BenchSettings, plan: list[tuple[str, str]], notes: list[str]
) -> bool:
    """Send the warm-up requests, then ``/flush_cache`` when asked; True when the flush succeeded."""
    if settings.warmup_requests:
        warm = replace(settings, num_requests=settings.warmup_requests, warmup_requests=0)
        loop = _RunLoop(client, warm, [plan[0]] * settings.warmup_requests, None, None, notes)
        records, _, _, _ = loop.run()
        ok = sum(r.success for r in records)
        notes.append(
            f"{len(records)} warm-up request(s) sent before the run and left out of it ({ok} succeeded)"
        )
    if not settings.flush_cache:
        return False
    try:
        client.flush_cache()
    except SGLangError as exc:
        notes.append(
            f"/flush_cache before the run failed, so the server's accept length is not this run's alone: {exc}"
        )
        return False
    return True


def run_benchmark(
    client_or_url: SGLangClient | str,
    settings: BenchSettings,
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    api_key: str | None = None,
) -> BenchRun:
    """Run one benchmark and return its :class:`BenchRun` (never raises for failed requests).

    ``client_or_url``: an :class:`SGLangClient` (reused; its connect/stall timeouts apply) or a base URL
    (a client is made with ``api_key`` and closed afterwards). ``ValueError`` for bad settings or URL.
    Order, as bench_serving: warm-up requests, ``/flush_cache`` (when asked), server facts, the run,
    server facts again.
    """
    settings = settings.validated()
    plan = settings.plan()
    own_client = isinstance(client_or_url, str)
    client = (
        SGLangClient(client_or_url, api_key, timeout_s=settings.request_timeout_s)
        if own_client
        else client_or_url
    )
    notes: list[str] = []
    try:
        flushed = _warm_up_and_flush(client, settings, plan, notes)
        before = _snapshot(client, "before", notes)
        records, started_at, duration, reason = _RunLoop(
            client, settings, plan, progress, should_stop, notes
        ).run()
        after = _snapshot(client, "after", notes)
    finally:
        if own_client:
            client.close()
    if (after.engine or before.engine) == "vllm" and after.counters is None:
        notes.append("vLLM reports no speculative-decoding counters on /metrics: speculation is off")
    return BenchRun(
        settings=settings,
        base_url=client.base_url,
        records=records,
        summary=summarize(records, duration),
        started_at=started_at,
        ended_at=started_at + duration,
        server_info_before=before.info,
        server_info_after=after.info,
        simulated=_is_practice(after.info) or _is_practice(before.info),
        stopped_reason=reason,
        notes=notes,
        engine=after.engine or before.engine,
        spec_counters_before=before.counters,
        spec_counters_after=after.counters,
        flushed_before=flushed,
    )


class _RunLoop:
    """Sends the planned requests from a thread pool, ``concurrency`` in flight, and collects them."""

    def __init__(
        self,
        client: SGLangClient,
        settings: BenchSettings,
        plan: list[tuple[str, str]],
        progress: Progress | None,
        should_stop: Callable[[], bool] | None,
        notes: list[str],
    ) -> None:
        self.client, self.settings, self.plan = client, settings, plan
        self.progress, self.should_stop, self.notes = progress, should_stop, notes
        self.cancel = threading.Event()
        self.results: dict[int, RequestRecord] = {}
        self.in_flight: dict[cf.Future, int] = {}
        self.reason: str | None = None
        self.next_index = 0
        self.last_end: float | None = None

    def run(self) -> tuple[list[RequestRecord], float, float, str | None]:
        """(records in sending order, start Unix time, duration s, stopped reason or None)."""
        total = len(self.plan)
        self.started_at = time.time()
        t0 = time.perf_counter()
        pool = cf.ThreadPoolExecutor(
            max_workers=self.settings.concurrency, thread_name_prefix="speclab-bench"
        )
        try:
            while self.next_index < total or self.in_flight:
                # a hard stop cuts the requests in flight; stop_on_error (soft) only stops sending new ones
                if self._asked_to_stop():
                    self.reason = "stopped by the user"
                    break
                if time.perf_counter() - t0 >= self.settings.time_budget_s:
                    self.reason = f"time budget of {self.settings.time_budget_s:g} s reached"
                    break
                self._submit_more(pool)
                if not self.in_flight:
                    break
                finished, _ = cf.wait(list(self.in_flight), timeout=_POLL_S, return_when=cf.FIRST_COMPLETED)
                self._collect(finished)
        except KeyboardInterrupt:
            self.reason = "interrupted (Ctrl-C)"
        finally:
            if self.in_flight:
                self._cut_in_flight()
            pool.shutdown(wait=False, cancel_futures=True)
        if self.reason is None and self.next_index < total:
            self.reason = "stopped before every request was sent"
        duration = (self.last_end if self.last_end is not None else time.perf_counter()) - t0
        records = [self.results[i] for i in sorted(self.results)]
        return records, self.started_at, duration, self.reason

    def _one(self, index: int) -> RequestRecord:
        category, prompt = self.plan[index]
        s = self.settings
        try:
            return self.client.generate(
                prompt,
                max_tokens=s.max_tokens,
                temperature=s.temperature,
                ignore_eos=s.ignore_eos,
                api=s.api,
                category=category,
                timeout_s=s.request_timeout_s,
                cancel=self.cancel,
            )
        except Exception as exc:  # a bug must not lose the run: record it as this request's failure
            return RequestRecord(
                prompt=prompt, category=category, api=s.api, error=f"internal error: {exc!r}"
            )

    def _submit_more(self, pool: cf.ThreadPoolExecutor) -> None:
        while (
            self.reason is None
            and self.next_index < len(self.plan)
            and len(self.in_flight) < self.settings.concurrency
        ):
            self.in_flight[pool.submit(self._one, self.next_index)] = self.next_index
            self.next_index += 1

    def _collect(self, finished: set[cf.Future]) -> None:
        for future in finished:
            index = self.in_flight.pop(future)
            record = future.result()
            self.results[index] = record
            self.last_end = time.perf_counter()
            self._report(record)
            if self.settings.stop_on_error and not record.success and self.reason is None:
                self.reason = f"stopped after the first failed request (stop_on_error): {record.error}"

    def _cut_in_flight(self) -> None:
        """Stop the requests still running; keep what finished within the grace period."""
        self.cancel.set()
        self.client.interrupt(self.cancel)
        finished, _ = cf.wait(list(self.in_flight), timeout=_STOP_GRACE_S)
        for future, index in list(self.in_flight.items()):
            category, prompt = self.plan[index]
            if future in finished:
                self.results[index] = future.result()
            else:
                self.results[index] = RequestRecord(
                    prompt=prompt,
                    category=category,
                    api=self.settings.api,
                    start_time=self.started_at,
                    error="stopped before the request finished",
                )
        self.last_end = time.perf_counter()

    def _report(self, record: RequestRecord) -> None:
        if self.progress is None:
            return
        try:
            self.progress(len(self.results), len(self.plan), record)
        except Exception as exc:  # the UI's callback failing must not lose the measurements
            self.notes.append(f"progress callback failed and was turned off: {exc!r}")
            self.progress = None

    def _asked_to_stop(self) -> bool:
        if self.should_stop is None:
            return False
        try:
            return bool(self.should_stop())
        except Exception as exc:
            self.notes.append(f"should_stop failed ({exc!r}); stopping")
            return True


# ------------------------------------------------------------------------------------------ comparing
@dataclass(frozen=True)
class CategoryComparison:
    """Baseline vs speculative for one category (or ``"overall"``).

    ``throughput_speedup`` = speculative / baseline output throughput; ``tpot_speedup`` = baseline TPOT /
    speculative TPOT (above 1 means speculation is faster); deltas are speculative minus baseline, in ms.
    """

    category: str
    baseline_throughput_tok_s: float | None
    speculative_throughput_tok_s: float | None
    throughput_speedup: float | None
    baseline_tpot_ms: float | None
    speculative_tpot_ms: float | None
    tpot_speedup: float | None
    ttft_delta_ms: float | None
    itl_delta_ms: float | None
    accept_length: float | None


@dataclass(frozen=True)
class Comparison:
    """A baseline run next to a speculative run of the same prompts. ``warnings`` say what makes the
    comparison unfair (settings differ, the baseline speculates, requests failed, a simulated server)."""

    overall: CategoryComparison
    categories: dict[str, CategoryComparison]
    server_accept_length: float | None
    simulated: bool
    warnings: list[str]

    def to_dict(self) -> dict:
        return {
            "overall": asdict(self.overall),
            "categories": {name: asdict(c) for name, c in self.categories.items()},
            "server_accept_length": self.server_accept_length,
            "simulated": self.simulated,
            "warnings": list(self.warnings),
        }


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _compare(name: str, base: RunSummary, spec: RunSummary) -> CategoryComparison:
    return CategoryComparison(
        category=name,
        baseline_throughput_tok_s=base.output_throughput_tok_s,
        speculative_throughput_tok_s=spec.output_throughput_tok_s,
        throughput_speedup=_ratio(spec.output_throughput_tok_s, base.output_throughput_tok_s),
        baseline_tpot_ms=base.tpot_ms_mean,
        speculative_tpot_ms=spec.tpot_ms_mean,
        tpot_speedup=_ratio(base.tpot_ms_mean, spec.tpot_ms_mean),
        ttft_delta_ms=_delta(spec.ttft_ms_mean, base.ttft_ms_mean),
        itl_delta_ms=_delta(spec.itl_ms_mean, base.itl_ms_mean),
        accept_length=spec.accept_length,
    )


_SAME_SETTINGS = ("api", "max_tokens", "temperature", "ignore_eos", "concurrency", "num_requests")


def compare_runs(baseline: BenchRun, speculative: BenchRun) -> Comparison:
    """Speedup of ``speculative`` over ``baseline``, overall and per category present in both runs."""
    warnings = []
    for name in _SAME_SETTINGS:
        a, b = getattr(baseline.settings, name), getattr(speculative.settings, name)
        if a != b:
            warnings.append(f"the runs differ in {name} ({a} vs {b}): the comparison is not like for like")
    if [(r.category, r.prompt) for r in baseline.records] != [
        (r.category, r.prompt) for r in speculative.records
    ]:
        warnings.append("the runs did not send the same prompts in the same order")
    if baseline.speculative:
        warnings.append("the baseline server speculates too: its figures are not a no-speculation baseline")
    if not speculative.speculative:
        warnings.append("the speculative server reports no speculation (no spec_verify_ct, no algorithm)")
    for label, run in (("baseline", baseline), ("speculative", speculative)):
        if run.summary.requests_failed:
            warnings.append(f"{run.summary.requests_failed} {label} request(s) failed and are left out")
        if run.stopped_reason:
            warnings.append(f"the {label} run stopped early: {run.stopped_reason}")
    models = [
        (run.server_info_after or run.server_info_before).model_path
        for run in (baseline, speculative)
        if (run.server_info_after or run.server_info_before) is not None
    ]
    if len(models) == 2 and models[0] != models[1]:
        warnings.append(f"the servers run different models ({models[0]} vs {models[1]})")
    if baseline.simulated != speculative.simulated:
        warnings.append("one run is simulated (practice server) and the other is not")
    categories = {
        name: _compare(name, baseline.summary.categories[name], summary)
        for name, summary in speculative.summary.categories.items()
        if name in baseline.summary.categories
    }
    return Comparison(
        overall=_compare("overall", baseline.summary, speculative.summary),
        categories=categories,
        server_accept_length=speculative.server_accept_length,
        simulated=baseline.simulated or speculative.simulated,
        warnings=warnings,
    )


# ------------------------------------------------------------------------------------------ sweeps
def concurrency_sweep(
    client_or_url: SGLangClient | str,
    settings: BenchSettings,
    levels: Sequence[int] = (1, 2, 4, 8, 16),
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    api_key: str | None = None,
) -> list[BenchRun]:
    """One run per concurrency level (same prompts and settings otherwise), in order of ``levels``.

    Each level sends ``max(num_requests, level)`` requests so every slot is used at least once.
    ``progress(done, total, record)`` counts across all levels. Stops after the level during which
    ``should_stop()`` became true (that run is cut short and kept); the time budget applies per level.
    """
    levels = list(levels)
    if not levels:
        raise ValueError("levels must list at least one concurrency level")
    for level in levels:
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= MAX_CONCURRENCY:
            raise ValueError(
                f"concurrency levels must be whole numbers from 1 to {MAX_CONCURRENCY}, got {level!r}"
            )
    settings = settings.validated()
    per_level = [
        replace(settings, concurrency=level, num_requests=max(settings.num_requests, level))
        for level in levels
    ]
    for s in per_level:
        s.plan()  # fail on a bad suite before any request is sent
    grand_total = sum(s.num_requests for s in per_level)
    own_client = isinstance(client_or_url, str)
    client = (
        SGLangClient(client_or_url, api_key, timeout_s=settings.request_timeout_s)
        if own_client
        else client_or_url
    )
    runs: list[BenchRun] = []
    offset = 0
    try:
        for s in per_level:
            base = offset

            def level_progress(done: int, total: int, record: RequestRecord, base: int = base) -> None:
                if progress is not None:
                    progress(base + done, grand_total, record)

            run = run_benchmark(client, s, progress=level_progress, should_stop=should_stop)
            runs.append(run)
            offset += s.num_requests
            user_stop = run.stopped_reason is not None and run.stopped_reason.startswith(
                ("stopped by the user", "interrupted")
            )
            if user_stop or (should_stop is not None and should_stop()):
                break
    finally:
        if own_client:
            client.close()
    return runs
