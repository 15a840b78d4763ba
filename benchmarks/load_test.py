"""Classroom load test: many concurrent sessions against one ``streamlit run`` process.

Each simulated student (a websocket session, see ``streamlit_ws.py``) loops for the test's duration:
moves simulator sliders, answers a quiz question, and runs a small benchmark against a practice server
(the app runs in hosted mode with only that server allow-listed, as in a classroom). Reports errors
(exception boxes, timeouts, protocol failures; goal 0), p50/p95 interaction latency (time from the
widget change to the end of the rerun, as a student would wait for it) and the server's memory at start
and end.

    python benchmarks/load_test.py --sessions 30 --duration 120             # students click non-stop
    python benchmarks/load_test.py --sessions 30 --duration 120 --think 5   # a pause of 5 s on average
    python benchmarks/load_test.py --url http://host:8501 --pid 1234   # an already running server
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import threading
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from benchmarks.streamlit_app import running_app  # noqa: E402
from benchmarks.streamlit_ws import StreamlitSession  # noqa: E402
from core.serving.practice_server import PracticeConfig, PracticeServer  # noqa: E402


@dataclass
class Tally:
    """What all sessions saw; guarded by a lock because session threads add to it."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, result) -> None:
        """Count one interaction's latency and exceptions."""
        with self.lock:
            self.latencies[kind].append(result.seconds)
            self.errors.extend(f"{kind}: {e}" for e in result.exceptions)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


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


def student(base_url: str, deadline: float, tally: Tally, seed: int, think_s: float = 0.0) -> None:
    """One student's loop of interactions until the deadline."""
    rng = random.Random(seed)
    try:
        session = StreamlitSession(base_url, think_s=think_s, seed=seed)
    except Exception as error:
        tally.error(f"connect: {error}")
        return
    try:
        tally.record("open-home", session.open(""))
        while time.monotonic() < deadline:
            tally.record("open-simulator", session.open("speedup-simulator"))
            for _ in range(3):
                tally.record(
                    "simulator-slider",
                    session.set_slider("Acceptance rate", round(rng.uniform(0.3, 0.95), 2)),
                )
            if time.monotonic() >= deadline:
                break
            scenario_quiz(session, rng, tally)
            if time.monotonic() >= deadline:
                break
            scenario_benchmark(session, tally)
    except Exception as error:
        tally.error(f"session {seed}: {type(error).__name__}: {error}\n{traceback.format_exc(limit=3)}")
    finally:
        session.close()


def scenario_quiz(session: StreamlitSession, rng: random.Random, tally: Tally) -> None:
    """Answer the quiz's current question: type a number, or pick one of the multiple-choice options."""
    tally.record("open-quiz", session.open("decision-quiz"))
    # Progress survives page switches: move past the last feedback, or start over after the final score.
    for step in ("Next question", "See your result", "New random attempt"):
        if any(w.label.startswith("Your answer") for w in session.widgets):
            break
        if any(w.kind == "button" and w.label == step for w in session.widgets):
            tally.record("quiz-navigate", session.click(step))
    answer = next((w for w in session.widgets if w.label.startswith("Your answer")), None)
    if answer is None:
        tally.error("quiz: no question to answer on the quiz page")
        return
    if answer.kind == "radio":
        tally.record(
            "quiz-answer", session.choose_radio_widget(answer, rng.randrange(len(answer.proto.options)))
        )
    else:
        tally.record("quiz-answer", session.set_text(answer.label, str(rng.randint(1, 6))))
    tally.record("quiz-check", session.click("Check answer"))


def scenario_benchmark(session: StreamlitSession, tally: Tally) -> None:
    """Connect to the allow-listed practice server and run a three-request benchmark through the queue."""
    tally.record("open-live", session.open("live-benchmark"))
    tally.record("live-connect", session.click("Connect"))
    tally.record("live-settings", session.set_number("Requests", 3))
    result = session.click("Run benchmark")
    tally.record("live-run", result)
    if not any(" req @ c" in text for text in result.texts):
        tally.error("live: the benchmark run left no result on the page")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_load_test(
    sessions: int, duration_s: float, url: str | None = None, pid: int | None = None, think_s: float = 0.0
) -> dict:
    """Drive ``sessions`` concurrent students for ``duration_s`` seconds; returns the report as a dict."""
    with contextlib.ExitStack() as stack:
        practice = PracticeServer(PracticeConfig(speculative=True, time_scale=0.05, seed=1))
        practice_url = practice.start()
        stack.callback(practice.stop)
        if url is None:
            # A classroom: hosted mode, with only the practice server allow-listed.
            url, pid = stack.enter_context(running_app(env={"SPECLAB_ALLOWED_BASE_URLS": practice_url}))
        # One warm-up session so compile time is not counted as classroom latency.
        warm = StreamlitSession(url)
        warm.open("speedup-simulator")
        warm.close()
        memory_start = rss_mib(pid) if pid else None
        cpu_start = cpu_seconds(pid) if pid else None
        tally = Tally()
        deadline = time.monotonic() + duration_s
        threads = [
            threading.Thread(target=student, args=(url, deadline, tally, i, think_s), daemon=True)
            for i in range(sessions)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
            time.sleep(0.05)  # students arrive over a moment, not in the same millisecond
        for thread in threads:
            thread.join(timeout=duration_s + 300)
        elapsed = time.monotonic() - started
        memory_end = rss_mib(pid) if pid else None
        cpu_end = cpu_seconds(pid) if pid else None
    all_latencies = [x for values in tally.latencies.values() for x in values]
    return {
        "sessions": sessions,
        "think_s": think_s,
        "duration_s": round(elapsed, 1),
        "interactions": len(all_latencies),
        "errors": len(tally.errors),
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
        "server_cpu_s": None if cpu_start is None or cpu_end is None else round(cpu_end - cpu_start, 1),
        "server_rss_mib_start": None if memory_start is None else round(memory_start, 1),
        "server_rss_mib_end": None if memory_end is None else round(memory_end, 1),
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
    parser.add_argument("--url", help="an already running app (default: start one)")
    parser.add_argument("--pid", type=int, help="that app's process id, for memory readings")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run_load_test(args.sessions, args.duration, args.url, args.pid, args.think)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{report['sessions']} sessions for {report['duration_s']} s: {report['interactions']} interactions"
        )
        print(f"errors: {report['errors']}")
        for sample in report["error_samples"]:
            print(f"  {sample.splitlines()[0]}")
        print(f"latency p50 {report['latency_ms_p50']} ms, p95 {report['latency_ms_p95']} ms")
        for kind, row in report["by_interaction"].items():
            print(
                f"  {kind:18s} n={row['count']:5d}  p50 {row['p50_ms']:8.1f} ms  p95 {row['p95_ms']:8.1f} ms"
            )
        print(
            f"server memory: {report['server_rss_mib_start']} MiB at start, {report['server_rss_mib_end']} MiB at end"
        )
        print(f"server CPU time: {report['server_cpu_s']} s over {report['duration_s']} s of wall time")
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
