"""Read saved benchmark results: the app's own JSON exports, and output files of SGLang's bench_serving.

bench_serving (``python -m sglang.benchmark.serving --output-file FILE``, sglang 0.5.23) appends ONE JSON
line per run to FILE: its arguments (``backend``, ``dataset_name``, ``max_concurrency``, ...), the
server's ``/server_info`` after the run, and its aggregates (``completed``, ``duration``,
``output_throughput``, ``mean_ttft_ms`` ... ``p99_e2e_latency_ms``, ``concurrency``, ``accept_length``).
With ``--output-details`` the line also holds one list entry per request: ``input_lens``,
``output_lens`` (0 for a failed request), ``ttfts`` and ``itls`` (seconds), ``generated_texts``,
``errors`` (empty for a success).

:func:`load_results` turns a file into :class:`ImportedRun` objects, each with a :class:`BenchRun`, so the
CLI and the page show it like a live run:

- with details, every request becomes a :class:`RequestRecord` and the summary is recomputed with
  :func:`core.serving.serving_metrics.summarize` over the file's own ``duration``; :attr:`ImportedRun.figures`
  puts each of the file's aggregates next to the recomputed value. TTFT, ITL, token counts and throughput
  use exactly bench_serving's definitions and reproduce its figures. The file holds no per-request E2E
  latency, so E2E is ESTIMATED as TTFT + sum(ITL) (the time of the last token; bench_serving's latency runs
  to ``[DONE]``, a little later), and TPOT and concurrency with it.
- without details, only the file's aggregates exist: the summary holds them as they are, and nothing is
  recomputed (said in the notes).

Success follows the file: bench_serving's own rule (any HTTP-200 stream without a Python exception),
which is looser than the app's (see :mod:`core.serving.serving_metrics`). The per-request accept length
cannot be recomputed (the file has no verify counts); the server's accept length comes from the file's
``server_info`` (what bench_serving printed as "Accept length").
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from core.serving.bench_runner import MAX_CONCURRENCY, BenchRun, BenchSettings
from core.serving.live_session import ResultsFile, ResultsFileError, read_results_file
from core.serving.serving_metrics import LATENCY_METRICS, RunSummary, summarize
from core.serving.sglang_client import RequestRecord, ServerInfo

__all__ = [
    "MAX_FILE_BYTES",
    "FileFigure",
    "ImportedRun",
    "load_results",
    "looks_like_bench_serving",
    "read_bench_serving",
    "read_upload",
]

#: Largest results file accepted (a bench_serving file with details and long texts can be big).
MAX_FILE_BYTES = 64 * 1024 * 1024
_DETAIL_KEYS = ("input_lens", "output_lens", "ttfts", "itls", "generated_texts", "errors")
_STATS = ("mean", "median", "std", "p90", "p95", "p99")
#: bench_serving's name of each latency metric in its JSON keys.
_FILE_METRIC = {"ttft": "ttft", "itl": "itl", "tpot": "tpot", "e2e": "e2e_latency"}
_ESTIMATED = ("tpot", "e2e")
_INPUT_NOTE = (
    "different count: the file's total is the dataset's prompt lengths (bench_serving's tokenizer); "
    "its input_lens, recomputed here, are the prompt_tokens the server reported"
)
_ESTIMATE_NOTE = (
    "estimated: the file has no per-request latency, so E2E = TTFT + sum(ITL) (to the last token)"
)


@dataclass(frozen=True)
class FileFigure:
    """One aggregate of a bench_serving file next to the app's recomputation from the file's requests.

    ``how`` is ``"same definition"`` or starts with ``"estimated"`` (see the module docstring).
    """

    key: str
    file_value: float | None
    recomputed: float | None
    how: str

    @property
    def relative_difference(self) -> float | None:
        """(recomputed - file) / file; None when either is missing or the file's value is 0."""
        if self.file_value is None or self.recomputed is None or self.file_value == 0:
            return None
        return (self.recomputed - self.file_value) / abs(self.file_value)

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "file": self.file_value,
            "recomputed": self.recomputed,
            "relative_difference": self.relative_difference,
            "how": self.how,
        }


@dataclass
class ImportedRun:
    """One run read from a file. ``origin``: ``"speclab"`` (the app's export) or ``"bench_serving"``.

    ``label`` names it (``"run"``, ``"baseline"``, ``"speculative"``, or ``"line N"`` of a JSONL file).
    ``aggregates``: a bench_serving line's own figures (arguments and results, without the per-request
    lists and ``server_info``); empty for the app's files. ``figures``: file vs recomputed (empty
    without ``--output-details``).
    """

    run: BenchRun
    origin: str
    label: str
    aggregates: dict = field(default_factory=dict)
    figures: list[FileFigure] = field(default_factory=list)
    has_details: bool = False

    def to_dict(self) -> dict:
        return {
            "origin": self.origin,
            "label": self.label,
            "has_details": self.has_details,
            "file_aggregates": dict(self.aggregates),
            "recomputed_vs_file": [f.to_dict() for f in self.figures],
        }


def load_results(data: bytes | str) -> list[ImportedRun]:
    """Every run in a results file: the app's JSON export (one run, or a baseline/speculative pair) or a
    bench_serving JSONL file (one run per line). ``ValueError`` with a one-line reason otherwise."""
    if isinstance(data, bytes):
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("file is not UTF-8 text (expected JSON or JSONL)") from None
    text = data.strip()
    if not text:
        raise ValueError("file is empty")
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None  # several lines: JSONL
    if isinstance(whole, dict) and str(whole.get("schema", "")).startswith("speclab."):
        return _speclab_runs(whole)
    return read_bench_serving(text)


def looks_like_bench_serving(data: bytes | str) -> bool:
    """True when the first line of ``data`` is a bench_serving result (so :func:`read_bench_serving`
    applies); cheap enough to call on an upload before choosing a reader."""
    head = data[:1_000_000]
    if isinstance(head, bytes):
        head = head.decode("utf-8", "replace")
    first = next((line for line in head.splitlines() if line.strip()), "")
    try:
        result = json.loads(first)
    except ValueError:
        return '"output_throughput"' in first and '"completed"' in first  # a long first line, cut above
    return isinstance(result, dict) and {"completed", "duration", "output_throughput"} <= set(result)


def read_upload(data: bytes, name: str, max_bytes: int) -> list[tuple[ResultsFile, str]]:
    """An uploaded results file as (what to keep, its label) pairs: a bench_serving output file gives one
    run per line (labelled ``name`` or ``name line N``); anything else goes to the app's own reader
    (:func:`core.serving.live_session.read_results_file`). :class:`ResultsFileError` with one clear line."""
    if not looks_like_bench_serving(data):
        return [(read_results_file(data, name, max_bytes), name)]
    if len(data) > max_bytes:
        raise ResultsFileError(
            f"{name} is {len(data) / 1e6:.1f} MB; files up to {max_bytes / 1e6:.0f} MB are accepted"
        )
    try:
        imported = read_bench_serving(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ResultsFileError(f"{name} is not UTF-8 text") from None
    except ValueError as error:
        raise ResultsFileError(f"{name}: {error}") from None
    single = len(imported) == 1
    return [(ResultsFile("run", [item.run]), name if single else f"{name} {item.label}") for item in imported]


def _speclab_runs(data: dict) -> list[ImportedRun]:
    if data.get("schema") == "speclab.bench_comparison":
        runs = [
            ImportedRun(BenchRun.from_dict(data[label]), "speclab", label)
            for label in ("baseline", "speculative")
            if data.get(label) is not None
        ]
        if not runs:
            raise ValueError("the comparison file holds no run")
        return runs
    return [ImportedRun(BenchRun.from_dict(data), "speclab", "run")]


def read_bench_serving(text: str) -> list[ImportedRun]:
    """Every run of a bench_serving ``--output-file`` (JSONL; Python's JSON, so ``Infinity`` is read as
    bench_serving writes it for ``request_rate``). ``ValueError`` naming the first bad line."""
    runs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            result = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"line {number} is not JSON ({exc}): not a bench_serving output file?") from None
        if not isinstance(result, dict) or not {"completed", "duration", "output_throughput"} <= set(result):
            raise ValueError(
                f"line {number} is not a bench_serving result (no completed / duration / output_throughput)"
            )
        try:
            runs.append(_bench_serving_run(result, f"line {number}"))
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"line {number} is damaged: {exc}") from None
    if not runs:
        raise ValueError("file holds no bench_serving result")
    return runs


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _bench_serving_run(result: dict, label: str) -> ImportedRun:
    has_details = all(isinstance(result.get(k), list) for k in _DETAIL_KEYS)
    aggregates = {k: v for k, v in result.items() if k not in (*_DETAIL_KEYS, "server_info")}
    duration = _number(result.get("duration"))
    if duration is None or duration < 0:
        raise ValueError(f"duration {result.get('duration')!r} is not a number of seconds")
    notes = [
        f"read from a bench_serving output file ({label}); success is bench_serving's rule "
        "(every HTTP-200 stream without an exception), not the app's stricter one; temperature 0 and "
        "ignore_eos are bench_serving's defaults, assumed (the file does not record them)"
    ]
    if has_details:
        records = _records(result)
        summary = summarize(records, duration, by_category=False)
        figures = _figures(result, summary)
        notes.append(_ESTIMATE_NOTE + "; TPOT and concurrency use that estimate")
    else:
        records = []
        summary = _summary_from_aggregates(result, duration)
        figures = []
        notes.append(
            "the file was written without --output-details: only bench_serving's own aggregates, nothing "
            "recomputed, and the number of failed requests is unknown"
        )
    info = _server_info(result.get("server_info"))
    run = BenchRun(
        settings=_settings(result, records),
        base_url=_base_url(info),
        records=records,
        summary=summary,
        started_at=0.0,
        ended_at=duration,
        server_info_after=info,
        simulated=bool(info is not None and info.is_practice_server),
        notes=notes,
        engine=_engine(str(result.get("backend", ""))),
    )
    imported = ImportedRun(run, "bench_serving", label, aggregates, figures, has_details)
    run.imported = imported.to_dict()
    return imported


def _records(result: dict) -> list[RequestRecord]:
    lists = [result[k] for k in _DETAIL_KEYS]
    if len({len(x) for x in lists}) != 1:
        raise ValueError("the per-request lists have different lengths")
    category = str(result.get("dataset_name") or "bench_serving")
    records = []
    for prompt_len, output_len, ttft, itl, text, error in zip(*lists, strict=True):
        itl_s = [float(x) for x in itl or []]
        ok = not error
        ttft_s = _number(ttft)
        records.append(
            RequestRecord(
                prompt="",
                category=category,
                success=ok,
                error=None if ok else _last_line(str(error)),
                ttft_s=ttft_s,
                e2e_s=None if ttft_s is None else ttft_s + sum(itl_s),
                itl_s=itl_s,
                prompt_tokens=int(prompt_len or 0),
                completion_tokens=int(output_len or 0),
                output_text=str(text or "")[:2000],
            )
        )
    return records


def _last_line(error: str) -> str:
    """bench_serving stores a whole traceback; its last line says what happened."""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "error")[:200]


def _figures(result: dict, summary: RunSummary) -> list[FileFigure]:
    same = "same definition"
    pairs = [
        ("completed", summary.requests_ok, same),
        ("total_input_tokens", summary.prompt_tokens_total, _INPUT_NOTE),
        ("total_output_tokens", summary.completion_tokens_total, same),
        ("request_throughput", summary.request_throughput_req_s, same),
        ("output_throughput", summary.output_throughput_tok_s, same),
        ("concurrency", summary.concurrency_mean, "estimated: from the estimated E2E"),
    ]
    for metric in LATENCY_METRICS:
        how = _ESTIMATE_NOTE if metric in _ESTIMATED else same
        for stat in _STATS:
            pairs.append((f"{stat}_{_FILE_METRIC[metric]}_ms", getattr(summary, f"{metric}_ms_{stat}"), how))
    return [
        FileFigure(key, _number(result.get(key)), None if value is None else float(value), how)
        for key, value, how in pairs
        if key in result
    ]


def _summary_from_aggregates(result: dict, duration: float) -> RunSummary:
    """A :class:`RunSummary` holding a bench_serving line's own figures (no per-request data)."""
    latency = {
        f"{metric}_ms_{stat}": _number(result.get(f"{stat}_{_FILE_METRIC[metric]}_ms"))
        for metric in LATENCY_METRICS
        for stat in _STATS
    }
    completed = int(result.get("completed") or 0)
    return RunSummary(
        requests_total=completed,
        requests_ok=completed,
        requests_failed=0,
        completion_tokens_total=int(result.get("total_output_tokens") or 0),
        prompt_tokens_total=int(result.get("total_input_tokens") or 0),
        duration_s=duration,
        output_throughput_tok_s=_number(result.get("output_throughput")),
        request_throughput_req_s=_number(result.get("request_throughput")),
        concurrency_mean=_number(result.get("concurrency")),
        **latency,
    )


def _server_info(raw: Any) -> ServerInfo | None:
    if not isinstance(raw, dict):
        return None
    return ServerInfo.from_raw(raw)


def _base_url(info: ServerInfo | None) -> str:
    raw = {} if info is None else info.raw
    host, port = raw.get("host"), raw.get("port")
    return f"http://{host}:{port}" if host and port else "unknown server (bench_serving file)"


def _engine(backend: str) -> str | None:
    if backend.startswith("sglang"):
        return "sglang"
    return "vllm" if backend.startswith("vllm") else None


def _settings(result: dict, records: list[RequestRecord]) -> BenchSettings:
    """The run's settings as far as the file records them (bench_serving keeps few of its arguments)."""
    count = len(records) or int(result.get("completed") or 0) or 1
    concurrency = result.get("max_concurrency") or count
    max_tokens = result.get("random_output_len") or result.get("sharegpt_output_len")
    if records and not max_tokens:
        max_tokens = max(r.completion_tokens for r in records)
    backend = str(result.get("backend", ""))
    return BenchSettings(
        suite=f"bench_serving {result.get('dataset_name') or 'dataset'}",
        num_requests=count,
        concurrency=max(1, min(int(concurrency), MAX_CONCURRENCY)),
        max_tokens=int(max_tokens or 0),
        ignore_eos=True,  # bench_serving's default; the file does not record --disable-ignore-eos
        api="native" if backend in ("sglang", "sglang-native") else "openai",
    )
