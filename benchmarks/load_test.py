"""Classroom load test: many concurrent sessions against one ``streamlit run`` process or N replicas.

Each simulated student (a websocket session, see ``streamlit_ws.py``) loops for the test's duration:
moves simulator sliders, answers a quiz question, and runs a small benchmark (3 requests, concurrency 1)
against a practice server (the app runs in hosted mode with only that server allow-listed, as in a
classroom). ``--replicas N`` (N > 1) starts the class set-up of ``benchmarks/class_replicas.py``: a
throwaway PostgreSQL, N replicas and HAProxy with sticky sessions; students connect through the proxy.
N = 1 is one process on a SQLite file, as before.

The JSON object (``--json``) holds at least:

* ``sessions``, ``interactions``, ``errors`` (exception boxes, timeouts, protocol failures; goal 0),
  ``p50_ms`` / ``p95_ms`` (time from the widget change to the end of the rerun, as a student waits);
* ``queue_overlaps``: generation requests the practice server saw start while a request of another
  connection was in flight (its own request log: each run is sequential, so any overlap means two runs
  on the server at once; goal 0);
* ``runs_saved``: benchmark runs whose save the page confirmed (its "Saved from this tab" line);
  ``runs_lost``: of those, the runs missing when the store is read back per learner at the end, or
  missing from what the resume link restored after a reconnect (goal 0).

``--kill-replica-at S`` kills replica 1 S seconds in: its students' sockets drop, they reconnect through
the proxy with their resume link (``?learner=``) and check that every run the page had confirmed came back
(``reconnects``, ``reconnect_runs_missing``); the interactions cut by the kill are counted in
``disconnects``, not in ``errors``.

    python benchmarks/load_test.py --sessions 30 --duration 120 --think 5           # one process
    python benchmarks/load_test.py --replicas 2 --sessions 100 --duration 120 --think 5 --json
    python benchmarks/load_test.py --replicas 2 --sessions 100 --duration 120 --think 5 --kill-replica-at 60
    python benchmarks/load_test.py --url http://host:8501 --pid 1234   # an already running server
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import websocket

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from benchmarks.class_replicas import ClassReplicas, SetupError  # noqa: E402
from benchmarks.streamlit_ws import RunResult, StreamlitSession  # noqa: E402
from core.serving.practice_server import PracticeConfig, PracticeServer  # noqa: E402

GENERATION_PATHS = ("/generate", "/v1/completions", "/v1/chat/completions")
_SAVED_LINE = re.compile(r"Saved from this tab so far: (.*)\.")
_RESTORED_LINE = re.compile(r"Welcome back: restored (.*)\.")
_RUNS = re.compile(r"(\d+) runs?\b")
# What a dropped connection looks like to the client (the replica died, the proxy closed the socket).
DISCONNECTS = (websocket.WebSocketException, ConnectionError, OSError, TimeoutError)


@dataclass
class Tally:
    """What all sessions saw; guarded by a lock because session threads add to it."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    disconnects: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, result) -> None:
        """Count one interaction's latency and exceptions."""
        with self.lock:
            self.latencies[kind].append(result.seconds)
            self.errors.extend(f"{kind}: {e}" for e in result.exceptions)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    def disconnect(self, message: str) -> None:
        with self.lock:
            self.disconnects.append(message)


@dataclass
class Learner:
    """What one student's client knows: the resume token, runs shown and confirmed saved, reconnects."""

    seed: int
    token: str = ""
    replica: str = ""  # the proxy's sticky cookie value (r1, r2, ...), "" without a proxy
    first_replica: str = ""  # the one it started on
    confirmed_before: int = 0  # confirmed by earlier sessions (before a reconnect)
    confirmed_now: int = 0  # confirmed by the current session
    reconnects: int = 0
    restored_missing: int = 0  # confirmed runs the resume link did not bring back

    @property
    def runs_confirmed(self) -> int:
        return self.confirmed_before + self.confirmed_now

    def observe(self, session: StreamlitSession, result: RunResult) -> None:
        """Read the token from the URL and the "Saved from this tab" line from the page."""
        token = parse_qs(session.query_string).get("learner", [""])[0]
        self.token = token or self.token
        for text in result.texts:
            match = _SAVED_LINE.search(text)
            if match:
                self.confirmed_now = max(self.confirmed_now, runs_in(match.group(1)))


def runs_in(summary: str) -> int:
    """The number of runs in a summary like "1 quiz attempt, 3 runs" (0 when none)."""
    match = _RUNS.search(summary)
    return int(match.group(1)) if match else 0


def count_overlaps(requests: list[tuple[float, float, object]]) -> int:
    """Requests that started while a request of another connection was still in flight.

    ``requests``: (start, end, connection) per generation request, as the server logged them. A run sends
    its requests one after another on one connection, so an overlap between connections is two runs on the
    server at once.
    """
    overlaps = 0
    in_flight: list[tuple[float, object]] = []  # (end, connection) of requests started earlier
    for start, end, connection in sorted(requests, key=lambda r: r[0]):
        in_flight = [(e, c) for e, c in in_flight if e > start]
        if any(c != connection for _e, c in in_flight):
            overlaps += 1
        in_flight.append((end, connection))
    return overlaps


class RequestLog:
    """ASGI middleware for the practice server: (start, end, client connection) of each generation request."""

    def __init__(self, app, log: list):
        self.app, self.log = app, log

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] not in GENERATION_PATHS:
            return await self.app(scope, receive, send)
        start = time.monotonic()
        try:
            return await self.app(scope, receive, send)
        finally:
            self.log.append((start, time.monotonic(), tuple(scope.get("client") or ())))


def logged_practice_server(log: list) -> tuple[PracticeServer, str]:
    """A practice server whose generation requests are logged in ``log``; returns (server, url)."""
    practice = PracticeServer(PracticeConfig(speculative=True, time_scale=0.05, seed=1))
    url = practice.start()
    # No request has reached the app yet, so its middleware stack is not built: the log goes outermost.
    practice._uvicorn.config.app.add_middleware(RequestLog, log=log)
    return practice, url


def rss_mib(pid: int) -> float | None:
    """Resident memory of a process in MiB (Linux /proc), or None when unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far, in seconds (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def student(base_url: str, deadline: float, tally: Tally, seed: int, think_s: float = 0.0, **options) -> None:
    """One student's loop of interactions until the deadline.

    ``options``: ``learner`` (a :class:`Learner` to fill), ``proxy`` (send the page's cookies, as through
    HAProxy), ``killed`` (a ``threading.Event`` set once a replica was killed: a dropped socket then
    means reconnecting with the resume link, not an error).
    """
    learner: Learner = options.get("learner") or Learner(seed)
    killed: threading.Event | None = options.get("killed")
    proxy = bool(options.get("proxy"))
    rng = random.Random(seed)
    try:
        session = StreamlitSession(base_url, think_s=think_s, seed=seed, cookies=proxy)
    except Exception as error:
        tally.error(f"connect: {error}")
        return
    learner.replica = learner.first_replica = session.cookie_value("SPECLAB_REPLICA")
    first = True
    try:
        while True:
            try:
                lessons(session, _actor(session, tally, learner), rng, deadline, first)
                return
            except DISCONNECTS as error:
                if killed is None or not killed.is_set() or not learner.token:
                    raise
                tally.disconnect(f"session {seed}: {type(error).__name__}: {error}")
                session.close()
                session = reconnect(base_url, learner, tally, think_s, seed)
                first = False
    except Exception as error:
        tally.error(f"session {seed}: {type(error).__name__}: {error}\n{traceback.format_exc(limit=3)}")
    finally:
        session.close()


def _actor(session: StreamlitSession, tally: Tally, learner: Learner):
    def act(kind: str, result: RunResult) -> RunResult:
        tally.record(kind, result)
        learner.observe(session, result)
        return result

    return act


def lessons(session: StreamlitSession, act, rng: random.Random, deadline: float, first: bool) -> None:
    """Simulator sliders, a quiz question, a benchmark run, again and again; a last look at the page."""
    if first:
        act("open-home", session.open(""))
    while time.monotonic() < deadline:
        act("open-simulator", session.open("speedup-simulator"))
        for _ in range(3):
            act("simulator-slider", session.set_slider("Acceptance rate", round(rng.uniform(0.3, 0.95), 2)))
        if time.monotonic() >= deadline:
            break
        scenario_quiz(session, rng, act)
        if time.monotonic() >= deadline:
            break
        scenario_benchmark(session, act)
    # The page confirms a save on the rerun after it (the writer saves in the background): one more look.
    time.sleep(1.0)
    act("open-home", session.open(""))


def reconnect(base_url: str, learner: Learner, tally: Tally, think_s: float, seed: int) -> StreamlitSession:
    """Open the resume link through the proxy (up to 5 tries while it notices the dead replica) and check
    that every run the page confirmed before came back."""
    for attempt in range(5):
        try:
            session = StreamlitSession(
                base_url,
                think_s=think_s,
                seed=seed + 7919 * (attempt + 1),
                query_string=f"learner={learner.token}",
                cookies=True,
            )
            result = session.open("")
            break
        except DISCONNECTS:
            if attempt == 4:
                raise
            time.sleep(1.0)
    tally.record("reconnect-open", result)
    restored = next((m.group(1) for t in result.texts if (m := _RESTORED_LINE.search(t))), None)
    restored_runs = runs_in(restored) if restored is not None else 0
    learner.restored_missing += max(0, learner.runs_confirmed - restored_runs)
    learner.confirmed_before, learner.confirmed_now = learner.runs_confirmed, 0
    learner.reconnects += 1
    learner.replica = session.cookie_value("SPECLAB_REPLICA")
    learner.observe(session, result)
    return session


def scenario_quiz(session: StreamlitSession, rng: random.Random, act) -> None:
    """Answer the quiz's current question: type a number, or pick one of the multiple-choice options."""
    act("open-quiz", session.open("decision-quiz"))
    # Progress survives page switches: move past the last feedback, or start over after the final score.
    for step in ("Next question", "See your result", "New random attempt"):
        if any(w.label.startswith("Your answer") for w in session.widgets):
            break
        if any(w.kind == "button" and w.label == step for w in session.widgets):
            act("quiz-navigate", session.click(step))
    answer = next((w for w in session.widgets if w.label.startswith("Your answer")), None)
    if answer is None:
        raise RuntimeError("quiz: no question to answer on the quiz page")
    if answer.kind == "radio":
        act("quiz-answer", session.choose_radio_widget(answer, rng.randrange(len(answer.proto.options))))
    else:
        act("quiz-answer", session.set_text(answer.label, str(rng.randint(1, 6))))
    act("quiz-check", session.click("Check answer"))


def scenario_benchmark(session: StreamlitSession, act) -> None:
    """Connect to the allow-listed practice server and run a three-request benchmark through the queue
    (concurrency 1: the run's requests go one after another, which the overlap count relies on)."""
    act("open-live", session.open("live-benchmark"))
    act("live-connect", session.click("Connect"))
    act("live-settings", session.set_number("Requests", 3))
    act("live-settings", session.set_number("Concurrency", 1))
    result = act("live-run", session.click("Run benchmark"))
    if not any(" req @ c" in text for text in result.texts):
        raise RuntimeError("live: the benchmark run left no result on the page")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def machine_busy_seconds() -> float | None:
    """CPU seconds every core of this machine spent busy so far (all processes; /proc/stat), or None."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_load_test(
    sessions: int,
    duration_s: float,
    url: str | None = None,
    pid: int | None = None,
    think_s: float = 0.0,
    replicas: int = 1,
    kill_replica_at: float | None = None,
    database_url: str | None = None,
) -> dict:
    """Drive ``sessions`` concurrent students for ``duration_s`` seconds; returns the report as a dict.

    ``url``/``pid``: an already running app (no set-up is started; ``database_url`` then names its store
    for the read-back). Otherwise ``replicas`` app processes (behind HAProxy when more than one).
    """
    if kill_replica_at is not None and (url is not None or replicas < 2):
        raise ValueError("--kill-replica-at needs --replicas 2 or more (the others take the learners over)")
    with contextlib.ExitStack() as stack:
        log: list = []
        practice, practice_url = logged_practice_server(log)
        stack.callback(practice.stop)
        pids: list[int] = [pid] if pid else []
        class_set = None
        if url is None:
            # A classroom: hosted mode, with only the practice server allow-listed.
            env = {"SPECLAB_ALLOWED_BASE_URLS": practice_url}
            class_set = stack.enter_context(ClassReplicas(replicas, env=env, database_url=database_url))
            url, pids, database_url = class_set.url, class_set.pids(), class_set.database_url
        run = drive(url, sessions, duration_s, think_s, pids, class_set, kill_replica_at)
        requests_logged = list(log)
        in_store = stored_runs(database_url, run.learners)  # before the set-up (and its database) goes
    return report(run, sessions, think_s, replicas, requests_logged, in_store)


@dataclass
class Drive:
    """What :func:`drive` measured."""

    tally: Tally
    learners: list[Learner]
    elapsed_s: float
    cpu_s: list[float | None]
    rss_start: list[float | None]
    rss_end: list[float | None]
    machine_busy_s: float | None
    client_cpu_s: float
    killed_at_s: float | None


def drive(url, sessions, duration_s, think_s, pids, class_set, kill_at) -> Drive:
    """Warm up, start the students (and the replica killer), wait for them; the server-side readings."""
    proxy = class_set is not None and class_set.proxy
    warm = StreamlitSession(url, cookies=proxy)  # so compile time is not counted as classroom latency
    warm.open("speedup-simulator")
    warm.close()
    for other in range(1, len(pids)):  # every replica compiles its kernels before the class arrives
        with contextlib.suppress(Exception):
            session = StreamlitSession(class_set.replicas[other].url)
            session.open("speedup-simulator")
            session.close()
    rss_start, cpu_start = [rss_mib(p) for p in pids], [cpu_seconds(p) for p in pids]
    busy_start, client_start = machine_busy_seconds(), time.process_time()
    tally, killed = Tally(), threading.Event()
    learners = [Learner(i) for i in range(sessions)]
    deadline = time.monotonic() + duration_s
    threads = [
        threading.Thread(
            target=student,
            args=(url, deadline, tally, i, think_s),
            kwargs={
                "learner": learners[i],
                "proxy": proxy,
                "killed": killed if kill_at is not None else None,
            },
            daemon=True,
        )
        for i in range(sessions)
    ]
    started = time.monotonic()
    killed_at: list[float] = []
    if kill_at is not None:
        threading.Thread(
            target=_kill_later, args=(class_set, kill_at, killed, killed_at), daemon=True
        ).start()
    for thread in threads:
        thread.start()
        time.sleep(0.05)  # students arrive over a moment, not in the same millisecond
    for thread in threads:
        thread.join(timeout=duration_s + 300)
    elapsed = time.monotonic() - started
    cpu_end = [cpu_seconds(p) for p in pids]
    cpu = [None if a is None or b is None else b - a for a, b in zip(cpu_start, cpu_end, strict=True)]
    busy_end = machine_busy_seconds()
    busy = None if busy_start is None or busy_end is None else busy_end - busy_start
    return Drive(
        tally,
        learners,
        elapsed,
        cpu,
        rss_start,
        [rss_mib(p) for p in pids],
        busy,
        time.process_time() - client_start,
        killed_at[0] - started if killed_at else None,
    )


def _kill_later(class_set: ClassReplicas, at_s: float, killed: threading.Event, when: list) -> None:
    time.sleep(at_s)
    killed.set()  # first: from now on a dropped socket is the kill's doing
    class_set.kill(0)
    when.append(time.monotonic())


def stored_runs(database_url: str | None, learners: list[Learner]) -> dict[int, int] | None:
    """Runs in the store per learner (by seed), read back with each learner's token; None without a URL."""
    if not database_url:
        return None
    from core.store.class_store import ClassStore
    from core.store.database import transaction
    from core.store.learners import token_hash
    from core.store.saved_work import load_work

    store = ClassStore(database_url)
    try:
        with transaction(store.engine()) as connection:
            return {
                learner.seed: len(load_work(connection, token_hash(learner.token), "run") or [])
                for learner in learners
                if learner.token
            }
    finally:
        store.dispose()


def _rounded(values: list[float | None]) -> list[float | None]:
    return [None if v is None else round(v, 1) for v in values]


def report(run: Drive, sessions, think_s, replicas, requests_logged, in_store: dict | None) -> dict:
    """The JSON object: the keys the issue asks for first, then the details."""
    tally, learners = run.tally, run.learners
    all_latencies = [x for values in tally.latencies.values() for x in values]
    confirmed = sum(learner.runs_confirmed for learner in learners)
    lost_in_store = (
        None
        if in_store is None
        else sum(max(0, one.runs_confirmed - in_store.get(one.seed, 0)) for one in learners)
    )
    restored_missing = sum(learner.restored_missing for learner in learners)
    cpu = [c for c in run.cpu_s if c is not None]
    return {
        "sessions": sessions,
        "replicas": replicas,
        "think_s": think_s,
        "duration_s": round(run.elapsed_s, 1),
        "interactions": len(all_latencies),
        "errors": len(tally.errors),
        "p50_ms": round(1000 * percentile(all_latencies, 50), 1),
        "p95_ms": round(1000 * percentile(all_latencies, 95), 1),
        "queue_overlaps": count_overlaps(requests_logged),
        "runs_saved": confirmed,
        "runs_lost": (lost_in_store or 0) + restored_missing,
        "runs_in_store": None if in_store is None else sum(in_store.values()),
        "runs_missing_in_store": lost_in_store,
        "practice_requests": len(requests_logged),
        "killed_replica_at_s": None if run.killed_at_s is None else round(run.killed_at_s, 1),
        "disconnects": len(tally.disconnects),
        "reconnects": sum(learner.reconnects for learner in learners),
        "reconnect_runs_confirmed": sum(one.confirmed_before for one in learners if one.reconnects),
        "reconnect_runs_missing": restored_missing,
        "sessions_per_replica_at_start": dict(
            sorted(Counter(one.first_replica or "direct" for one in learners).items())
        ),
        "sessions_per_replica_at_end": dict(
            sorted(Counter(one.replica or "direct" for one in learners).items())
        ),
        "error_samples": tally.errors[:10],
        "latency_ms_p50": round(1000 * percentile(all_latencies, 50), 1),
        "latency_ms_p95": round(1000 * percentile(all_latencies, 95), 1),
        "by_interaction": {
            kind: {
                "count": len(values),
                "p50_ms": round(1000 * percentile(values, 50), 1),
                "p95_ms": round(1000 * percentile(values, 95), 1),
            }
            for kind, values in sorted(tally.latencies.items())
        },
        "server_cpu_s": round(sum(cpu), 1) if cpu else None,
        "server_cpu_s_per_replica": _rounded(run.cpu_s),
        "server_cpu_ms_per_interaction": round(1000 * sum(cpu) / len(all_latencies), 1)
        if cpu and all_latencies
        else None,
        "load_test_client_cpu_s": round(run.client_cpu_s, 1),
        "machine_cpu_busy_s": None if run.machine_busy_s is None else round(run.machine_busy_s, 1),
        "machine_cores": os.cpu_count(),
        "server_rss_mib_start": next((round(v, 1) for v in run.rss_start if v), None),
        "server_rss_mib_end": next((round(v, 1) for v in run.rss_end if v), None),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds a student pauses between interactions (default 0)",
    )
    parser.add_argument(
        "--replicas", type=int, default=1, help="app processes; >1: behind HAProxy, on PostgreSQL"
    )
    parser.add_argument("--kill-replica-at", type=float, help="kill replica 1 this many seconds in")
    parser.add_argument("--database", help="database URL the app uses (default: a throwaway one)")
    parser.add_argument("--url", help="an already running app (default: start one)")
    parser.add_argument("--pid", type=int, help="that app's process id, for memory readings")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.duration <= 0 or args.think < 0 or args.replicas < 1:
        parser.error(
            "--sessions and --replicas must be at least 1, --duration positive, --think not negative"
        )
    try:
        result = run_load_test(
            args.sessions,
            args.duration,
            args.url,
            args.pid,
            args.think,
            replicas=args.replicas,
            kill_replica_at=args.kill_replica_at,
            database_url=args.database,
        )
    except (SetupError, ValueError) as error:
        print(f"load test: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_report(result)
    ok = result["errors"] == 0 and result["queue_overlaps"] == 0 and result["runs_lost"] == 0
    return 0 if ok else 1


def print_report(report: dict) -> None:
    print(
        f"{report['sessions']} sessions on {report['replicas']} replica(s) for {report['duration_s']} s: "
        f"{report['interactions']} interactions"
    )
    print(f"errors: {report['errors']}")
    for sample in report["error_samples"]:
        print(f"  {sample.splitlines()[0]}")
    print(f"latency p50 {report['p50_ms']} ms, p95 {report['p95_ms']} ms")
    for kind, row in report["by_interaction"].items():
        print(f"  {kind:18s} n={row['count']:5d}  p50 {row['p50_ms']:8.1f} ms  p95 {row['p95_ms']:8.1f} ms")
    print(
        f"queue overlaps on the practice server: {report['queue_overlaps']} "
        f"({report['practice_requests']} requests logged)"
    )
    print(f"runs saved (confirmed by the page): {report['runs_saved']}, lost: {report['runs_lost']}")
    if report["killed_replica_at_s"] is not None:
        print(
            f"replica 1 killed at {report['killed_replica_at_s']} s: {report['disconnects']} interactions cut, "
            f"{report['reconnects']} reconnects, {report['reconnect_runs_missing']} confirmed runs missing after"
        )
    print(
        f"server memory: {report['server_rss_mib_start']} MiB at start, {report['server_rss_mib_end']} MiB at end"
    )
    print(
        f"server CPU time: {report['server_cpu_s']} s over {report['duration_s']} s of wall time "
        f"({report['server_cpu_ms_per_interaction']} ms per interaction); load-test client "
        f"{report['load_test_client_cpu_s']} s; machine busy {report['machine_cpu_busy_s']} s "
        f"on {report['machine_cores']} cores"
    )


if __name__ == "__main__":
    raise SystemExit(main())
