"""What the Live benchmark page does, without Streamlit: connect, practice servers, limits, queue, files.

The page (``pages/live_benchmark.py``) stays thin: it draws widgets and charts and keeps this module's
objects in ``st.session_state``. Everything here is plain Python and is tested on its own.

* :class:`PracticeLease` / :func:`start_practice_server`: a GPU-free practice server started for one user
  session, stopped by the session (reset) or, at the latest, after a fixed lifetime, so a closed browser tab
  cannot leave servers running for ever.
* :func:`connect`: check a URL against the :class:`~core.serving.server_policy.ServerPolicy` (refused URLs are never
  contacted), then read the server's ``/server_info`` into a :class:`Connection`.
* :func:`server_card`: the facts the page shows about a server, as (label, value) rows.
* :func:`clamp_run_settings`: a run's size clamped to the policy's limits, with a message for each clamp.
* :func:`wait_for_turn`: wait in the process-wide per-server FIFO queue (:mod:`core.serving.run_queue`).
* :func:`simulator_link_params`: a measured accept length turned into a Simulator deep link (alpha, gamma).
* :class:`SavedRun` / :class:`SavedSweep`: a run or a concurrency sweep kept in the session, with where it
  came from (measured now, or loaded from a file); :func:`sweep_to_json` and :func:`read_results_file`
  save and load them (size-capped, malformed files -> :class:`ResultsFileError` with a clear message).
* Chart tables (pandas, long form for Altair): :func:`records_frame`, :func:`category_frame`,
  :func:`comparison_frame`, :func:`speedup_frame`, :func:`sweep_frame`, :func:`sweep_speedup_frame`,
  :func:`published_throughput_frame`, :func:`published_batch_frame`.

Times are seconds; accept lengths are tokens per verify pass, bonus token included.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pandas as pd

from core.references import published
from core.serving.bench_runner import BenchRun, BenchSettings, Comparison, compare_runs
from core.serving.launch_command import LaunchCommand, LaunchSpec, build_launch_command
from core.serving.practice_server import PracticeConfig, PracticeServer
from core.serving.run_queue import ServerQueue, Ticket
from core.serving.server_policy import ServerPolicy, URLRefused, check_url
from core.serving.serving_metrics import summarize
from core.serving.sglang_client import RequestRecord, ServerInfo, SGLangClient, SGLangError
from core.simulation.closed_form import alpha_from_accept_length

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_URL",
    "MAX_PRACTICE_SERVERS",
    "MAX_RESULTS_FILE_BYTES",
    "MAX_SAVED",
    "PRACTICE_KINDS",
    "PRACTICE_LIFETIME_S",
    "SWEEP_LEVELS",
    "Connection",
    "PracticeLease",
    "ResultsFileError",
    "RunSize",
    "SavedRun",
    "SavedSweep",
    "category_frame",
    "clamp_run_settings",
    "comparison_frame",
    "connect",
    "gamma_of",
    "partial_run",
    "pick_comparison",
    "published_batch_frame",
    "published_throughput_frame",
    "read_results_file",
    "records_frame",
    "refuse_reason",
    "run_caveats",
    "run_gamma",
    "server_card",
    "simulator_link_params",
    "start_commands",
    "speedup_frame",
    "start_practice_server",
    "sweep_frame",
    "sweep_speedup_frame",
    "sweep_to_json",
    "wait_for_turn",
]

#: SGLang's default address, and what the URL field shows first.
DEFAULT_URL = "http://localhost:30000"
#: Practice servers one session may run at once (one baseline and one speculative is the lesson).
MAX_PRACTICE_SERVERS = 2
#: A practice server stops itself this long after it started, even if its session never comes back.
PRACTICE_LIFETIME_S = 3600.0
#: The two practice servers the page offers: plain decoding, and EAGLE-3 with SGLang's automatic settings.
PRACTICE_KINDS: Mapping[str, str] = {
    "baseline": "plain decoding (no speculation)",
    "speculative": "EAGLE-3 speculation (SGLang's automatic steps/topk/draft tokens)",
}
#: Connect timeout (seconds) for the connect button: a server that does not answer fails fast.
CONNECT_TIMEOUT_S = 3.0


# ------------------------------------------------------------------------------------ practice servers
@dataclass
class PracticeLease:
    """A practice server started for one session. ``expires_at`` (Unix seconds): it stops itself then."""

    kind: str
    server: PracticeServer
    url: str
    started_at: float
    expires_at: float
    _timer: threading.Timer | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        """True until :meth:`stop` ran (by the session, or by the lifetime timer)."""
        return not self.server.stop_event.is_set()

    def stop(self) -> None:
        """Stop the server and its lifetime timer. Safe to call twice."""
        if self._timer is not None:
            self._timer.cancel()
        self.server.stop()

    def describe(self) -> str:
        """One line for the page: kind, URL and how long it has left."""
        left_min = max(0, math.ceil((self.expires_at - time.time()) / 60))
        state = f"stops itself in {left_min} min" if self.running else "stopped"
        return f"practice {self.kind} server at {self.url} ({state})"


def start_practice_server(
    kind: str,
    running: list[PracticeLease] | tuple[PracticeLease, ...] = (),
    *,
    time_scale: float = 1.0,
    lifetime_s: float = PRACTICE_LIFETIME_S,
    max_servers: int = MAX_PRACTICE_SERVERS,
    **overrides,
) -> PracticeLease:
    """Start a practice server of ``kind`` ("baseline" or "speculative") on a free local port.

    ``running``: the session's leases so far; raises ``RuntimeError`` when ``max_servers`` of them still
    run. ``time_scale`` multiplies the simulated model time (1.0 = the cost model's H100 timing).
    ``overrides`` go to :class:`~core.serving.practice_server.PracticeConfig` (tests use ``fault=...``).
    Raises ``ValueError`` for an unknown kind or a bad config.
    """
    if kind not in PRACTICE_KINDS:
        raise ValueError(f"unknown practice server kind {kind!r}; choose one of {', '.join(PRACTICE_KINDS)}")
    alive = [lease for lease in running if lease.running]
    if len(alive) >= max_servers:
        raise RuntimeError(
            f"this session already runs {len(alive)} practice servers (the most allowed); stop one first"
        )
    if not (isinstance(lifetime_s, int | float) and math.isfinite(lifetime_s) and lifetime_s > 0):
        raise ValueError(f"lifetime_s must be a positive number of seconds, got {lifetime_s!r}")
    config = PracticeConfig(speculative=kind == "speculative", time_scale=time_scale, **overrides)
    server = PracticeServer(config)
    url = server.start()
    now = time.time()
    timer = threading.Timer(lifetime_s, server.stop)
    timer.daemon = True
    timer.start()
    return PracticeLease(kind, server, url, now, now + lifetime_s, timer)


# ------------------------------------------------------------------------------------------ connect
@dataclass(frozen=True)
class Connection:
    """A server the session connected to: its checked URL, what ``/server_info`` said, and readiness.

    ``ready_error`` is None when ``/health`` answered 200, else the one-line reason (e.g. still starting).
    The API key is deliberately not kept here (it lives only in the password widget).
    """

    url: str
    info: ServerInfo
    ready_error: str | None = None

    @property
    def simulated(self) -> bool:
        """True for the practice server: everything measured against it is SIMULATED."""
        return self.info.is_practice_server


def make_client(url: str, api_key: str | None, policy: ServerPolicy, **kwargs) -> SGLangClient:
    """An :class:`SGLangClient` with the policy's response-size and time limits."""
    return SGLangClient(
        url,
        api_key or None,
        timeout_s=policy.request_timeout_s,
        max_response_bytes=max(1024, int(policy.max_response_bytes)),
        **kwargs,
    )


def connect(
    url: str,
    api_key: str | None,
    policy: ServerPolicy,
    *,
    resolver=None,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
) -> Connection:
    """Check ``url`` against ``policy`` and read the server's facts.

    Raises :class:`~core.serving.server_policy.URLRefused` (the server is never contacted),
    :class:`~core.serving.sglang_client.InvalidURLError` (a ``ValueError``) for a malformed URL, or
    :class:`~core.serving.sglang_client.SGLangError` when the server cannot be reached or answers badly.
    """
    checked = check_url(url, policy, resolver=resolver)
    with make_client(checked, api_key, policy, connect_timeout_s=connect_timeout_s) as client:
        info = client.server_info()
        ready_error = None
        try:
            client.health()
        except SGLangError as error:
            ready_error = str(error)
    return Connection(url=checked, info=info, ready_error=ready_error)


#: The model the page's launch commands start from (it has published EAGLE-3 drafts, see draft_pairs.toml).
DEFAULT_MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def start_commands(url: str, model: str = DEFAULT_MODEL) -> tuple[LaunchCommand, LaunchCommand]:
    """(baseline, speculative EAGLE-3) SGLang launch commands serving on the port of ``url`` (30000 when the
    URL gives none or cannot be read), for the "nothing answers" guidance."""
    try:
        port = urlsplit(url if "://" in url else f"http://{url}").port or 30000
    except ValueError:
        port = 30000
    baseline = build_launch_command(LaunchSpec(model=model, port=port, baseline=True))
    speculative = build_launch_command(LaunchSpec(model=model, port=port, algorithm="EAGLE3"))
    return baseline, speculative


def flags_used(
    commands: Sequence[LaunchCommand | None], explanations: Mapping[str, str]
) -> list[tuple[str, str]]:
    """The (flag or environment variable, meaning) pairs of ``explanations`` that the commands use, in the
    order of ``explanations``; a None command (one SGLang would refuse) uses none."""
    used = set()
    for command in commands:
        if command is not None:
            used.update(a for a in command.argv if a.startswith("--"))
            used.update(command.env)
    return [(flag, text) for flag, text in explanations.items() if flag in used]


def gamma_of(info: ServerInfo) -> int | None:
    """Most draft tokens one verify pass can accept on this server (the Simulator's gamma).

    The draft tree is ``num_steps`` deep and holds ``num_draft_tokens - 1`` drafts, so the longest accepted
    path is ``min(num_steps, num_draft_tokens - 1)``. None without speculation or when the server does not
    report its steps.
    """
    if not info.speculative or info.num_steps is None:
        return None
    gamma = info.num_steps
    if info.num_draft_tokens is not None:
        gamma = min(gamma, info.num_draft_tokens - 1)
    return gamma if gamma >= 1 else None


def _or_dash(value) -> str:
    return "—" if value is None else str(value)


def server_card(info: ServerInfo) -> list[tuple[str, str]]:
    """(label, value) rows describing a server, in the order the page shows them."""
    rows = [
        ("Model", _or_dash(info.model_path)),
        ("Speculation", "on" if info.speculative else "off"),
    ]
    if info.speculative:
        rows += [
            ("Algorithm", _or_dash(info.speculative_algorithm)),
            ("Draft model", _or_dash(info.draft_model_path)),
            (
                "Steps / topk / draft tokens",
                f"{_or_dash(info.num_steps)} / {_or_dash(info.eagle_topk)} / {_or_dash(info.num_draft_tokens)}",
            ),
        ]
    rows.append(("Max running requests", _or_dash(info.max_running_requests)))
    if info.speculative:
        accept = info.avg_spec_accept_length
        rows.append(
            (
                "Accept length so far (server)",
                "not reported yet" if accept is None else f"{accept:.2f} tokens per verify pass",
            )
        )
    if info.version:
        rows.append(("Server version", info.version))
    return rows


# --------------------------------------------------------------------------------------- run limits
@dataclass(frozen=True)
class RunSize:
    """How big one run is: requests in total, requests in flight at once, and max new tokens each."""

    num_requests: int
    concurrency: int
    max_tokens: int


def clamp_run_settings(size: RunSize, policy: ServerPolicy) -> tuple[RunSize, list[str]]:
    """``size`` with each value clamped to the policy's limits, plus one message per value changed."""
    messages: list[str] = []
    where = "this classroom server" if policy.hosted else "this app"

    def clamp(value: int, limit: int, what: str) -> int:
        value = max(1, int(value))
        if value > limit:
            messages.append(f"{where} allows at most {limit} {what}; using {limit}.")
            return int(limit)
        return value

    requests = clamp(size.num_requests, policy.max_requests_per_run, "requests per run")
    concurrency = clamp(size.concurrency, policy.max_concurrency, "concurrent requests")
    tokens = clamp(size.max_tokens, policy.max_tokens, "new tokens per request")
    if concurrency > requests:
        concurrency = requests  # more slots than requests would only idle
    return RunSize(requests, concurrency, tokens), messages


# ------------------------------------------------------------------------------------------- queue
def wait_for_turn(
    queue: ServerQueue,
    ticket: Ticket,
    *,
    on_wait: Callable[[int], None] = lambda ahead: None,
    should_stop: Callable[[], bool] = lambda: False,
    poll_s: float = 0.5,
    max_wait_s: float = 900.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Wait until ``ticket`` may run. Returns "run", "stopped", "expired" (dropped from the queue) or
    "timeout" (waited ``max_wait_s``). ``on_wait(runs_ahead)`` is called on every poll while waiting (the
    page updates its message there, which also lets Streamlit stop the script)."""
    start = clock()
    while True:
        if should_stop():
            return "stopped"
        if queue.try_start(ticket):
            return "run"
        ahead = queue.position(ticket)
        if ahead is None:
            return "expired"
        if clock() - start >= max_wait_s:
            return "timeout"
        on_wait(ahead)
        sleep(poll_s)


# ------------------------------------------------------------------------------ simulator deep link
def simulator_link_params(accept_length: float | None, gamma: int | None) -> dict[str, str] | None:
    """Query parameters opening the Simulator's basics on the i.i.d. alpha that matches a measured accept
    length for this gamma (``docs/developing.md`` contract). None when either is missing or out of range."""
    if accept_length is None or gamma is None or gamma < 1:
        return None
    accept_length = float(accept_length)
    if not math.isfinite(accept_length):
        return None
    # A server's lifetime mean can sit a hair outside [1, gamma + 1] from rounding; anything further is not
    # an accept length for this gamma.
    if not (1.0 - 1e-6 <= accept_length <= gamma + 1 + 1e-6):
        return None
    alpha = alpha_from_accept_length(min(max(accept_length, 1.0), gamma + 1.0), gamma)
    return {"section": "basics", "alpha": f"{alpha:.2f}", "gamma": str(int(gamma))}


def refuse_reason(url: str, policy: ServerPolicy, resolver=None) -> str | None:
    """The policy's message when ``url`` may not be contacted, else None (never contacts the server)."""
    try:
        check_url(url, policy, resolver=resolver)
    except URLRefused as error:
        return str(error)
    return None


# ------------------------------------------------------------------------------------ saved results
#: Runs (and, separately, sweeps) one session keeps; the oldest is dropped past this (bounded memory).
MAX_SAVED = 20
#: Largest results file accepted for upload (bytes); a 500-request run exports to well under 1 MB.
MAX_RESULTS_FILE_BYTES = 5 * 1024 * 1024
#: Concurrency levels offered for a sweep (1 to 64 spans batch-1 latency to past SGLang's cap of 48).
SWEEP_LEVELS = (1, 2, 4, 8, 16, 32, 64)
_SWEEP_SCHEMA = "speclab.concurrency_sweep"
_SWEEP_SCHEMA_VERSION = 1


def _short_id() -> str:
    return uuid.uuid4().hex[:8]


def _server_of(run: BenchRun) -> ServerInfo | None:
    return run.server_info_after or run.server_info_before


def _model_name(run: BenchRun) -> str:
    info = _server_of(run)
    name = (info.model_path if info is not None else None) or run.base_url
    return name.rstrip("/").rsplit("/", 1)[-1]


def _kind(run: BenchRun) -> str:
    info = _server_of(run)
    if run.speculative:
        algorithm = info.speculative_algorithm if info is not None else None
        return f"speculative ({algorithm})" if algorithm else "speculative"
    return "baseline"


@dataclass
class SavedRun:
    """A run kept in the session. ``origin`` is "measured now" or "file <name>"; ``label`` names it in
    menus; ``id`` is unique within the session."""

    run: BenchRun
    label: str
    origin: str = "measured now"
    id: str = field(default_factory=_short_id)

    @classmethod
    def new(cls, run: BenchRun, number: int, origin: str = "measured now") -> SavedRun:
        """A saved run labelled "#number kind · model · N requests @ concurrency C"."""
        s = run.settings
        label = (
            f"#{number} {_kind(run)} · {_model_name(run)} · {len(run.records)} req @ c{s.concurrency}"
            + (" · simulated" if run.simulated else "")
            + ("" if origin == "measured now" else f" · {origin}")
        )
        return cls(run=run, label=label, origin=origin)


@dataclass
class SavedSweep:
    """A concurrency sweep (one run per level) kept in the session, like :class:`SavedRun`."""

    runs: list[BenchRun]
    label: str
    origin: str = "measured now"
    id: str = field(default_factory=_short_id)

    @classmethod
    def new(cls, runs: list[BenchRun], number: int, origin: str = "measured now") -> SavedSweep:
        if not runs:
            raise ValueError("a sweep needs at least one run")
        levels = ", ".join(str(r.settings.concurrency) for r in runs)
        first = runs[0]
        label = (
            f"sweep #{number} {_kind(first)} · {_model_name(first)} · c = {levels}"
            + (" · simulated" if first.simulated else "")
            + ("" if origin == "measured now" else f" · {origin}")
        )
        return cls(runs=list(runs), label=label, origin=origin)

    @property
    def simulated(self) -> bool:
        return any(r.simulated for r in self.runs)

    @property
    def speculative(self) -> bool:
        return any(r.speculative for r in self.runs)


def keep_bounded(items: list, item, limit: int = MAX_SAVED) -> int:
    """Append ``item`` and drop the oldest entries past ``limit``; returns how many were dropped."""
    items.append(item)
    dropped = max(0, len(items) - limit)
    del items[:dropped]
    return dropped


def sweep_to_json(runs: Sequence[BenchRun], indent: int | None = 2) -> str:
    """A concurrency sweep as one JSON document (each run in :meth:`BenchRun.to_dict` form)."""
    return json.dumps(
        {
            "schema": _SWEEP_SCHEMA,
            "schema_version": _SWEEP_SCHEMA_VERSION,
            "runs": [run.to_dict() for run in runs],
        },
        indent=indent,
    )


def sweep_to_csv(runs: Sequence[BenchRun]) -> str:
    """One CSV for a whole sweep: every request of every level (``concurrency`` column tells them apart)."""
    from core.serving.bench_runner import rows_to_csv

    rows = [row for run in runs for row in run.csv_rows(f"c{run.settings.concurrency}")]
    return rows_to_csv(rows)


class ResultsFileError(ValueError):
    """An uploaded results file that cannot be used; the message says why, for the user."""


@dataclass(frozen=True)
class ResultsFile:
    """What a results file held: ``kind`` "run" (one run in ``runs``) or "sweep" (one run per level)."""

    kind: str
    runs: list[BenchRun]


def read_results_file(
    data: bytes, name: str = "file", max_bytes: int = MAX_RESULTS_FILE_BYTES
) -> ResultsFile:
    """Parse an uploaded JSON export of a run or a sweep. Raises :class:`ResultsFileError` (one clear line)
    for a file that is too large, not UTF-8, not JSON, or not a speclab run/sweep."""
    if len(data) > max_bytes:
        raise ResultsFileError(
            f"{name} is {len(data) / 1e6:.1f} MB; results files up to {max_bytes / 1e6:.0f} MB are accepted"
        )
    if not data.strip():
        raise ResultsFileError(f"{name} is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ResultsFileError(f"{name} is not a text file: upload the .json a run was saved as") from None
    try:
        document = json.loads(text)
    except ValueError as error:
        hint = " (the CSV export is for spreadsheets; upload the JSON export)" if "," in text[:200] else ""
        raise ResultsFileError(f"{name} is not JSON: {error}{hint}") from None
    if isinstance(document, dict) and document.get("schema") == _SWEEP_SCHEMA:
        version = document.get("schema_version")
        if not isinstance(version, int) or version > _SWEEP_SCHEMA_VERSION:
            raise ResultsFileError(f"{name} is a sweep of schema version {version!r}; this app reads up to 1")
        items = document.get("runs")
        if not isinstance(items, list) or not items:
            raise ResultsFileError(f"{name} is a sweep file without runs")
        try:
            runs = [BenchRun.from_dict(item) for item in items]
        except ValueError as error:
            raise ResultsFileError(f"{name}: {error}") from None
        return ResultsFile("sweep", runs)
    try:
        return ResultsFile("run", [BenchRun.from_dict(document)])
    except ValueError as error:
        raise ResultsFileError(f"{name}: {error}") from None


# ------------------------------------------------------------------------------------- chart tables
def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def records_frame(records: Sequence[RequestRecord]) -> pd.DataFrame:
    """One row per request (in the order given), for the live results table. Times in ms."""
    rows = []
    for index, r in enumerate(records, start=1):
        itl = sum(r.itl_s) / len(r.itl_s) if r.itl_s else None
        rows.append(
            {
                "#": index,
                "category": r.category,
                "ok": bool(r.success),
                "output tokens": int(r.completion_tokens),
                "TTFT (ms)": _ms(r.ttft_s),
                "ITL mean (ms)": _ms(itl),
                "TPOT (ms)": _ms(r.tpot_s),
                "E2E (ms)": _ms(r.e2e_s),
                "accept length": r.spec_accept_length,
                "error": r.error or "",
            }
        )
    columns = ["#", "category", "ok", "output tokens", "TTFT (ms)", "ITL mean (ms)", "TPOT (ms)"]
    columns += ["E2E (ms)", "accept length", "error"]
    return pd.DataFrame(rows, columns=columns)


def category_frame(run: BenchRun) -> pd.DataFrame:
    """Per-category summary of one run (then "overall"): requests, output tok/s, TTFT/ITL/TPOT means in
    ms, accept length (None without speculation)."""
    rows = []
    items = [*run.summary.categories.items(), ("overall", run.summary)]
    for name, summary in items:
        rows.append(
            {
                "category": name or "(none)",
                "requests ok": summary.requests_ok,
                "failed": summary.requests_failed,
                "output tokens": summary.completion_tokens_total,
                "output tok/s": summary.output_throughput_tok_s,
                "TTFT mean (ms)": summary.ttft_ms_mean,
                "ITL mean (ms)": summary.itl_ms_mean,
                "TPOT mean (ms)": summary.tpot_ms_mean,
                "accept length": summary.accept_length,
            }
        )
    return pd.DataFrame(rows)


_COMPARED_METRICS = (
    ("output tok/s", "output_throughput_tok_s"),
    ("TTFT mean (ms)", "ttft_ms_mean"),
    ("ITL mean (ms)", "itl_ms_mean"),
    ("accept length", "accept_length"),
)


def comparison_frame(baseline: BenchRun, speculative: BenchRun) -> pd.DataFrame:
    """Long table (category, metric, server, value) of both runs, for grouped bar charts.

    ``server`` is "baseline" or "speculative"; categories present in both runs, in the speculative run's
    order, then "overall". The baseline's accept length is 1 by definition when it does not speculate
    (every verify pass, i.e. every decode step, yields one token), so it is shown as 1.
    """
    names = [n for n in speculative.summary.categories if n in baseline.summary.categories]
    rows = []
    for name in [*names, "overall"]:
        for server, run in (("baseline", baseline), ("speculative", speculative)):
            summary = run.summary if name == "overall" else run.summary.categories[name]
            for metric, attribute in _COMPARED_METRICS:
                value = getattr(summary, attribute)
                if (
                    metric == "accept length"
                    and value is None
                    and not run.speculative
                    and summary.requests_ok
                ):
                    value = 1.0
                rows.append({"category": name, "metric": metric, "server": server, "value": value})
    return pd.DataFrame(rows, columns=["category", "metric", "server", "value"])


def speedup_frame(comparison: Comparison) -> pd.DataFrame:
    """Speedups of the speculative run per category (then overall), long form (category, measure, speedup).

    "output throughput": speculative / baseline output tok/s; "per-request speed": baseline TPOT /
    speculative TPOT (how much faster one request streams once started). Above 1 = speculation is faster.
    """
    rows = []
    for item in [*comparison.categories.values(), comparison.overall]:
        for measure, value in (
            ("output throughput", item.throughput_speedup),
            ("per-request speed (1/TPOT)", item.tpot_speedup),
        ):
            rows.append({"category": item.category, "measure": measure, "speedup": value})
    return pd.DataFrame(rows, columns=["category", "measure", "speedup"])


def pick_comparison(saved: Sequence[SavedRun]) -> tuple[SavedRun | None, SavedRun | None]:
    """A sensible default pair: the latest run that does not speculate, and the latest one that does."""
    baseline = next((s for s in reversed(saved) if not s.run.speculative), None)
    speculative = next((s for s in reversed(saved) if s.run.speculative), None)
    return baseline, speculative


def sweep_frame(sweeps: Sequence[SavedSweep]) -> pd.DataFrame:
    """One row per (sweep, concurrency level): output tok/s, TPOT mean (ms), accept length, failures.

    ``series`` is a short legend name ("sweep #3 baseline"); ``sweep`` the full label."""
    rows = []
    for sweep in sweeps:
        series = sweep.label.split(" · ")[0]
        for run in sweep.runs:
            s = run.summary
            rows.append(
                {
                    "series": series,
                    "sweep": sweep.label,
                    "server": "speculative" if run.speculative else "baseline",
                    "concurrency": run.settings.concurrency,
                    "output tok/s": s.output_throughput_tok_s,
                    "TPOT mean (ms)": s.tpot_ms_mean,
                    "accept length": s.accept_length,
                    "requests ok": s.requests_ok,
                    "failed": s.requests_failed,
                }
            )
    columns = ["series", "sweep", "server", "concurrency", "output tok/s", "TPOT mean (ms)", "accept length"]
    return pd.DataFrame(rows, columns=[*columns, "requests ok", "failed"])


def sweep_speedup_frame(baseline: SavedSweep, speculative: SavedSweep) -> pd.DataFrame:
    """Speculative / baseline output throughput at each concurrency level both sweeps measured."""
    base = {r.settings.concurrency: r.summary.output_throughput_tok_s for r in baseline.runs}
    rows = []
    for run in speculative.runs:
        level = run.settings.concurrency
        b, s = base.get(level), run.summary.output_throughput_tok_s
        if b is None or s is None or b <= 0:
            continue
        rows.append({"concurrency": level, "baseline tok/s": b, "speculative tok/s": s, "speedup": s / b})
    return pd.DataFrame(rows, columns=["concurrency", "baseline tok/s", "speculative tok/s", "speedup"])


@dataclass(frozen=True)
class SweepVerdict:
    """Where speculation stopped paying in a sweep: the lowest concurrency at which it was slower than the
    baseline (None if never), the highest level measured, and the smallest speedup with its level."""

    slower_from: int | None
    highest_level: int
    lowest_speedup: float
    lowest_speedup_at: int


def sweep_verdict(speedup: pd.DataFrame) -> SweepVerdict | None:
    """Read a :func:`sweep_speedup_frame`; None when it has no level."""
    if not len(speedup):
        return None
    losing = speedup[speedup["speedup"] < 1.0]
    lowest = speedup.loc[speedup["speedup"].idxmin()]
    return SweepVerdict(
        slower_from=int(losing["concurrency"].min()) if len(losing) else None,
        highest_level=int(speedup["concurrency"].max()),
        lowest_speedup=float(lowest["speedup"]),
        lowest_speedup_at=int(lowest["concurrency"]),
    )


def unsteady_levels(sweeps: Sequence[SavedSweep]) -> list[str]:
    """The levels of the last two sweeps too short or too small to trust fully, as "c = N (why)"."""
    return [
        f"c = {run.settings.concurrency} ({run_caveats(run)[0].split(',')[0]})"
        for sweep in sweeps[-2:]
        for run in sweep.runs
        if run_caveats(run)
    ]


def run_gamma(run: BenchRun) -> int | None:
    """The Simulator's gamma for the server a run measured (see :func:`gamma_of`)."""
    info = _server_of(run)
    return None if info is None else gamma_of(info)


def published_throughput_frame() -> pd.DataFrame:
    """The SGLang documentation's single-H100 figures (plain, EAGLE-2, EAGLE-3), with their source.

    Published numbers, not measurements of this session: the page labels them so.
    """
    ref = published.get_reference("sglang-docs-llama31-8b-h100")
    rows = [{"method": "no speculation", "output tok/s": float(ref.metric("baseline_tok_s"))}]
    for method, value in dict(ref.metric("throughput_tok_s")).items():
        rows.append({"method": method, "output tok/s": float(value)})
    frame = pd.DataFrame(rows)
    frame["speedup"] = frame["output tok/s"] / frame["output tok/s"].iloc[0]
    frame["source"] = ref.source
    frame["url"] = ref.url
    return frame


def published_batch_frame() -> pd.DataFrame:
    """EAGLE-3 paper Table 3: throughput ratio over plain decoding by batch size (only the quoted points)."""
    return pd.DataFrame(
        [
            {
                "method": p.method,
                "batch size": p.batch_size,
                "speedup": p.throughput_ratio,
                "source": p.source,
                "url": p.url,
            }
            for p in published.batch_throughput_series()
        ]
    )


#: Runs shorter than this (seconds) are dominated by timing noise (thread scheduling, other programs).
MIN_RELIABLE_DURATION_S = 2.0


def run_caveats(run: BenchRun) -> list[str]:
    """Plain-language reasons to trust a run's throughput less: too short, or too few requests to keep
    the batch full (ramp-up and drain dominate). Empty when none applies."""
    notes = []
    s = run.summary
    if s.requests_ok and s.duration_s < MIN_RELIABLE_DURATION_S:
        notes.append(
            f"it lasted only {s.duration_s:.2f} s, so timing noise (thread scheduling, other programs on the "
            "machines) weighs heavily; use more requests or more tokens"
        )
    waves = s.requests_total / max(1, run.settings.concurrency)
    if run.settings.concurrency > 1 and waves < 2:
        notes.append(
            f"{s.requests_total} requests at concurrency {run.settings.concurrency} fill the batch about "
            f"{waves:.1f} time(s), so ramp-up and drain are a large part of the run; send at least "
            f"{2 * run.settings.concurrency} requests for a steadier figure"
        )
    return notes


def partial_run(
    settings: BenchSettings,
    base_url: str,
    records: Sequence[RequestRecord],
    *,
    started_at: float,
    simulated: bool,
    reason: str,
    server_info: ServerInfo | None = None,
) -> BenchRun:
    """A :class:`BenchRun` from the requests that finished before a run was cut off from outside the runner
    (the page was interrupted). Its duration is the span of those requests, so throughput stays honest:
    tokens of finished requests over the time they took."""
    records = list(records)
    summary = summarize(records)
    spans = [r.start_time + r.e2e_s for r in records if r.e2e_s is not None]
    ended_at = max(spans) if spans else started_at
    return BenchRun(
        settings=settings,
        base_url=base_url,
        records=records,
        summary=summary,
        started_at=started_at,
        ended_at=ended_at,
        server_info_before=server_info,
        server_info_after=None,
        simulated=simulated,
        stopped_reason=reason,
        notes=["requests still in flight when the run was cut off are not included"],
    )


def compare(baseline: SavedRun, speculative: SavedRun) -> Comparison:
    """:func:`core.serving.bench_runner.compare_runs` on two saved runs."""
    return compare_runs(baseline.run, speculative.run)
