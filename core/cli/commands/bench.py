"""``speclab bench``: benchmark an SGLang server (optionally against a baseline server) from the terminal.

Measures TTFT, ITL, TPOT, E2E latency, output throughput and accept length with SGLang bench_serving's
definitions (:mod:`core.serving.serving_metrics`). Progress goes to stderr; results to stdout (a table, or ONE JSON
object with ``--json``); ``--out FILE`` also saves them (.json: the full run(s); .csv: one row per request).
``--like-bench-serving`` runs with bench_serving's defaults (ignore_eos on, greedy, one warm-up request).
``--from-file FILE`` sends nothing: it reads a saved run of the app or a bench_serving ``--output-file``
and prints the same summary (see :mod:`core.serving.bench_serving_files`).

Exit codes: 0 every request succeeded; 1 some failed or the run stopped early; 2 bad arguments or an
unreachable server (checked with /health and /server_info before anything is sent).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from core.serving.bench_runner import (
    BenchRun,
    BenchSettings,
    Comparison,
    compare_runs,
    rows_to_csv,
    run_benchmark,
)
from core.serving.bench_serving_files import MAX_FILE_BYTES, ImportedRun, load_results
from core.serving.serving_metrics import RunSummary
from core.serving.sglang_client import (
    APIS,
    HTTPStatusError,
    InvalidURLError,
    RequestRecord,
    ServerInfo,
    SGLangClient,
    SGLangError,
)

PROG = "speclab bench"
#: What the two accept lengths in the output are (the JSON carries this too).
ACCEPT_LENGTH_NAMES = {
    "summary.accept_length_per_request": "sum(completion_tokens) / sum(spec_verify_ct) of this run's successful "
    "requests: SGLang's per-request spec_accept_length, includes the token sampled at prefill",
    "server_accept_length": "the server's tokens per verify pass (bench_serving's 'Accept length'): SGLang "
    "/server_info avg_spec_accept_length after the run, or vLLM 1 + accepted/drafts from /metrics",
}
API_KEY_ENV = "SPECLAB_API_KEY"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark an SGLang server (TTFT, ITL, TPOT, throughput, accept length)",
        description=(
            "Send prompts from a suite to an SGLang server and measure it with the definitions of SGLang's "
            "bench_serving. With --baseline-url, run the same prompts against a baseline (no speculation) "
            "server first and report the speedup. Runs against the practice server are labelled SIMULATED."
        ),
        epilog="Exit codes: 0 all requests succeeded, 1 some failed or the run stopped early, "
        "2 bad arguments or unreachable server.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--url", default=None, help="server to measure, e.g. http://127.0.0.1:30000")
    source.add_argument(
        "--from-file",
        default=None,
        metavar="FILE",
        help="read results instead of measuring: a saved speclab run (.json) or an output file of SGLang's "
        "bench_serving (--output-file, JSONL, with or without --output-details)",
    )
    parser.add_argument("--baseline-url", default=None, help="baseline server (speculation off) to compare")
    _add_run_options(parser)
    parser.add_argument(
        "--out", default=None, metavar="FILE", help="also save results: FILE.json or FILE.csv"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(func=run)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """What to send and how (every option of a live run)."""
    parser.add_argument("--suite", default="default", help="prompt suite (default: default)")
    parser.add_argument(
        "--categories", nargs="+", default=None, metavar="CATEGORY", help="only these categories"
    )
    parser.add_argument("--requests", type=int, default=12, help="number of requests per run (default 12)")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight at once (default 1)")
    parser.add_argument(
        "--max-tokens", type=int, default=128, help="tokens to generate per request (default 128)"
    )
    parser.add_argument(
        "--temperature", type=float, default=0.0, help="sampling temperature (default 0, greedy)"
    )
    parser.add_argument(
        "--ignore-eos",
        action="store_true",
        help="generate exactly --max-tokens tokens (bench_serving's default)",
    )
    parser.add_argument(
        "--api", choices=APIS, default="native", help="native /generate (default) or openai chat"
    )
    parser.add_argument(
        "--api-key", default=None, help=f"Bearer API key (default: the {API_KEY_ENV} environment variable)"
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds allowed per request (default 120)"
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        default=900.0,
        help="seconds allowed per run before it stops (default 900)",
    )
    parser.add_argument(
        "--stop-on-error", action="store_true", help="stop sending after the first failed request"
    )
    parser.add_argument(
        "--like-bench-serving",
        action="store_true",
        help="bench_serving's defaults: --ignore-eos, temperature 0, --warmup 1, native API",
    )
    parser.add_argument(
        "--warmup", type=int, default=None, help="warm-up requests before the run, not counted (default 0)"
    )
    parser.add_argument(
        "--flush-cache",
        action="store_true",
        help="POST /flush_cache after the warm-up (as bench_serving --flush-cache): the server's accept "
        "length then covers this run only",
    )


class _UsageError(Exception):
    """Bad arguments or an unusable server: exit code 2."""


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    if args.from_file is not None:
        return _from_file(args)
    try:
        settings, clients, out = _prepare(args)
    except _UsageError as exc:
        return _fail(str(exc))
    runs: dict[str, BenchRun] = {}
    try:
        # every server is checked before anything is sent, so a bad second URL cannot waste a first run
        for label, client in clients.items():
            _describe_server(label, client, _check_server(client))
        for label, client in clients.items():
            runs[label] = run_benchmark(client, settings, progress=_progress_printer(label))
            if runs[label].stopped_reason and runs[label].stopped_reason.startswith("interrupted"):
                break
    except _UsageError as exc:
        return _fail(str(exc))
    finally:
        for client in clients.values():
            client.close()

    main = runs.get("speculative", runs.get("run"))
    baseline = runs.get("baseline")
    comparison = compare_runs(baseline, main) if baseline is not None and main is not None else None
    if args.json:
        print(json.dumps(_json_result(main, baseline, comparison)))
    else:
        print(_table(main, baseline, comparison))
    code = 0 if runs and all(r.complete for r in runs.values()) and len(runs) == len(clients) else 1
    if out is not None:
        try:
            out.write_text(_export(out, main, baseline, comparison), encoding="utf-8")
            print(f"{PROG}: saved {out}", file=sys.stderr)
        except OSError as exc:
            print(f"{PROG}: error: could not write {out}: {exc.strerror or exc}", file=sys.stderr)
            code = 1
    return code


def _from_file(args: argparse.Namespace) -> int:
    """``--from-file``: print the summary of saved results (nothing is sent); exit 2 for a bad file."""
    if args.baseline_url:
        return _fail("--from-file reads saved results: do not combine it with --baseline-url")
    path = Path(args.from_file)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        imported = load_results(data)
    except OSError as exc:
        return _fail(f"cannot read {args.from_file}: {exc.strerror or exc}")
    except ValueError as exc:
        return _fail(f"{args.from_file}: {exc}")
    by_label = {item.label: item for item in imported}
    if set(by_label) == {"baseline", "speculative"}:
        base, main = by_label["baseline"].run, by_label["speculative"].run
        result = _json_result(main, base, compare_runs(base, main))
        text = _table(main, base, compare_runs(base, main))
    else:
        results = [dict(_json_result(item.run, None, None), from_file=item.to_dict()) for item in imported]
        result = results[0] if len(results) == 1 else {"runs": results}
        text = "\n\n".join(_file_table(item) for item in imported)
    print(json.dumps(result) if args.json else text)
    return 0


def _file_table(item: ImportedRun) -> str:
    lines = [_run_table(f"From file ({item.origin}, {item.label})", item.run)]
    if item.figures:
        lines.append(f"{'bench_serving figure':<26}{'file':>12}{'recomputed':>12}{'diff':>9}  how")
        for f in item.figures:
            diff = "-" if f.relative_difference is None else f"{f.relative_difference * 100:+.2f}%"
            lines.append(f"{f.key:<26}{_f(f.file_value, 2):>12}{_f(f.recomputed, 2):>12}{diff:>9}  {f.how}")
    return "\n".join(lines)


def _prepare(args) -> tuple[BenchSettings, dict[str, SGLangClient], Path | None]:
    make = BenchSettings.like_bench_serving if args.like_bench_serving else BenchSettings
    extra = {} if args.warmup is None else {"warmup_requests": args.warmup}
    settings = make(
        **extra,
        flush_cache=args.flush_cache,
        suite=args.suite,
        categories=tuple(args.categories or ()),
        num_requests=args.requests,
        concurrency=args.concurrency,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        ignore_eos=args.ignore_eos or args.like_bench_serving,
        api=args.api,
        request_timeout_s=args.timeout,
        time_budget_s=args.time_budget,
        stop_on_error=args.stop_on_error,
    )
    try:
        settings = settings.validated()
        settings.plan()
    except ValueError as exc:
        raise _UsageError(_cli_names(str(exc))) from None
    out = None
    if args.out:
        out = Path(args.out)
        if out.suffix.lower() not in (".json", ".csv"):
            raise _UsageError(f"--out must end in .json or .csv, got {args.out!r}")
        if not out.parent.is_dir():
            raise _UsageError(f"--out: folder {str(out.parent)!r} does not exist")
    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    clients: dict[str, SGLangClient] = {}
    try:
        if args.baseline_url:
            clients["baseline"] = SGLangClient(
                args.baseline_url, api_key, timeout_s=settings.request_timeout_s
            )
        label = "speculative" if args.baseline_url else "run"
        clients[label] = SGLangClient(args.url, api_key, timeout_s=settings.request_timeout_s)
    except InvalidURLError as exc:
        raise _UsageError(str(exc)) from None
    return settings, clients, out


_CLI_NAMES = {
    "num_requests": "--requests",
    "concurrency": "--concurrency",
    "max_tokens": "--max-tokens",
    "temperature": "--temperature",
    "request_timeout_s": "--timeout",
    "time_budget_s": "--time-budget",
    "api": "--api",
    "warmup_requests": "--warmup",
}


def _cli_names(message: str) -> str:
    """Name the command-line option in a settings error ("num_requests must..." -> "--requests must...")."""
    for field_name, option in _CLI_NAMES.items():
        if message.startswith(field_name + " "):
            return option + message[len(field_name) :]
    return message


def _check_server(client: SGLangClient) -> ServerInfo | None:
    """Make sure the server answers before sending anything: /health, then /server_info."""
    try:
        client.health()
    except HTTPStatusError as exc:
        if exc.status != 404:  # some proxies hide /health; /server_info below decides then
            raise _UsageError(f"server at {client.base_url} is not usable: {exc}") from None
    except SGLangError as exc:
        raise _UsageError(f"cannot reach the server at {client.base_url}: {exc}") from None
    try:
        return client.server_info()
    except HTTPStatusError as exc:
        if exc.status in (401, 403):
            raise _UsageError(f"server at {client.base_url} refused the request: {exc}") from None
        print(f"{PROG}: note: {client.base_url} has no /server_info ({exc}); carrying on", file=sys.stderr)
    except SGLangError as exc:
        print(f"{PROG}: note: could not read /server_info of {client.base_url}: {exc}", file=sys.stderr)
    return None


def _describe_server(label: str, client: SGLangClient, info: ServerInfo | None) -> None:
    what = "no /server_info, so not SGLang (vLLM: accept length from its /metrics counters)"
    if info is not None:
        spec = (
            f"{info.speculative_algorithm} steps={info.num_steps} topk={info.eagle_topk} "
            f"draft_tokens={info.num_draft_tokens}"
            if info.speculative
            else "no speculation"
        )
        what = f"{info.model_path or 'model ?'}, {spec}"
        if info.is_practice_server:
            what += " (practice server: SIMULATED)"
    print(f"{PROG}: [{label}] {client.base_url}: {what}", file=sys.stderr)


def _progress_printer(label: str):
    def show(done: int, total: int, record: RequestRecord) -> None:
        if record.success:
            tpot = f"{record.tpot_s * 1000:.1f} ms" if record.tpot_s is not None else "-"
            ttft = f"{record.ttft_s * 1000:.1f} ms" if record.ttft_s is not None else "-"
            line = f"ok   {record.category:<17} {record.completion_tokens:>5} tok  TTFT {ttft}  TPOT {tpot}"
        else:
            line = f"FAIL {record.category:<17} {record.error}"
        print(f"[{label} {done}/{total}] {line}", file=sys.stderr, flush=True)

    return show


# ------------------------------------------------------------------------------------------ output
def _summary_json(run: BenchRun) -> dict:
    return run.summary.to_dict()


def _json_result(main: BenchRun | None, baseline: BenchRun | None, comparison: Comparison | None) -> dict:
    result: dict = {}
    if main is not None:
        info = main.server_info_after or main.server_info_before
        accept = main.server_accept
        result.update(
            url=main.base_url,
            engine=main.engine,
            simulated=main.simulated,
            source="simulated (practice server)" if main.simulated else "measured",
            speculative_algorithm=None if info is None else info.speculative_algorithm,
            model=None if info is None else info.model_path,
            summary=_summary_json(main),
            server_accept_length=None if accept is None else accept.value,
            server_accept_length_source=None if accept is None else accept.source,
            server_accept_length_covers=None if accept is None else accept.covers,
            accept_length_names=ACCEPT_LENGTH_NAMES,
            stopped_reason=main.stopped_reason,
            notes=list(main.notes),
            settings=main.settings.to_dict(),
        )
    if baseline is not None:
        result.update(
            baseline_url=baseline.base_url,
            baseline_summary=_summary_json(baseline),
            baseline_stopped_reason=baseline.stopped_reason,
        )
    if comparison is not None:
        result["speedup"] = comparison.to_dict()
    return result


def _export(
    out: Path, main: BenchRun | None, baseline: BenchRun | None, comparison: Comparison | None
) -> str:
    if out.suffix.lower() == ".csv":
        rows = []
        if baseline is not None:
            rows += baseline.csv_rows("baseline")
        if main is not None:
            rows += main.csv_rows("speculative" if baseline is not None else "run")
        return rows_to_csv(rows)
    if baseline is None and main is not None:
        return main.to_json()
    return json.dumps(
        {
            "schema": "speclab.bench_comparison",
            "baseline": None if baseline is None else baseline.to_dict(),
            "speculative": None if main is None else main.to_dict(),
            "speedup": None if comparison is None else comparison.to_dict(),
        },
        indent=2,
    )


def _f(value: float | None, digits: int = 1, suffix: str = "") -> str:
    return "-" if value is None else f"{value:.{digits}f}{suffix}"


def _summary_rows(summary: RunSummary) -> list[tuple[str, RunSummary]]:
    return [("overall", summary)] + [(f"  {name}", s) for name, s in summary.categories.items()]


def _run_table(title: str, run: BenchRun) -> str:
    source = "SIMULATED (practice server, no GPU)" if run.simulated else "MEASURED"
    lines = [f"{title}: {run.base_url}  [{source}]"]
    header = f"{'':<20}{'ok/sent':>9}{'tokens':>8}{'tok/s':>9}{'TTFT ms':>9}{'ITL ms':>8}{'TPOT ms':>9}{'E2E ms':>9}{'acc/req':>8}"
    lines.append(header)
    for name, s in _summary_rows(run.summary):
        lines.append(
            f"{name:<20}{f'{s.requests_ok}/{s.requests_total}':>9}{s.completion_tokens_total:>8}"
            f"{_f(s.output_throughput_tok_s):>9}{_f(s.ttft_ms_mean):>9}{_f(s.itl_ms_mean, 2):>8}"
            f"{_f(s.tpot_ms_mean, 2):>9}{_f(s.e2e_ms_mean, 0):>9}{_f(s.accept_length, 2):>8}"
        )
    lines.append(
        "p99 ms: "
        + ", ".join(
            f"{m.upper()} {_f(getattr(run.summary, f'{m}_ms_p99'), 2)}"
            for m in ("ttft", "itl", "tpot", "e2e")
        )
    )
    lines.append(
        "acc/req = accept length per request: sum(completion tokens) / sum(verify passes), the prefill token "
        "included"
    )
    accept = run.server_accept
    if accept is not None:
        lines.append(
            f"server accept length (tokens per verify pass, bench_serving's figure): {accept.value:.2f}"
        )
        lines.append(f"  from {accept.source}; covers {accept.covers}")
    for message, count in run.summary.errors.items():
        lines.append(f"failed: {count} x {message}")
    if run.stopped_reason:
        lines.append(f"stopped early: {run.stopped_reason}")
    for note in run.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _table(main: BenchRun | None, baseline: BenchRun | None, comparison: Comparison | None) -> str:
    parts = []
    if baseline is not None:
        parts.append(_run_table("Baseline", baseline))
    if main is not None:
        parts.append(_run_table("Server" if baseline is None else "Speculative", main))
    if comparison is not None:
        lines = ["Speedup (speculative vs baseline; TTFT/ITL deltas in ms, + = slower)"]
        lines.append(f"{'':<20}{'throughput':>11}{'TPOT':>8}{'TTFT Δ':>9}{'ITL Δ':>8}{'accept':>8}")
        rows = [("overall", comparison.overall)] + [(f"  {n}", c) for n, c in comparison.categories.items()]
        for name, c in rows:
            lines.append(
                f"{name:<20}{_f(c.throughput_speedup, 2, 'x'):>11}{_f(c.tpot_speedup, 2, 'x'):>8}"
                f"{_f(c.ttft_delta_ms):>9}{_f(c.itl_delta_ms, 2):>8}{_f(c.accept_length, 2):>8}"
            )
        if comparison.simulated:
            lines.append("These figures are SIMULATED by the practice server, not measured on a GPU.")
        lines += [f"warning: {w}" for w in comparison.warnings]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
