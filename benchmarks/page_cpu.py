"""Server CPU per interaction, page by page: what one learner's click costs the ``streamlit run`` process.

Starts one app process (hosted mode, a practice server allow-listed, a throwaway SQLite store), then one
websocket session (``streamlit_ws.py``) plays each page's typical interactions: open it, move its main
sliders, answer the quiz, connect and run a 3-request benchmark, ... For every interaction it reads the
app process's CPU time (user + system, ``/proc/<pid>/stat``, all its threads) before and after, so the
figure is what the server spent on that rerun (plus anything its background threads did meanwhile: the
store's writer, the warm-up compiler; one warm-up pass over every page comes first and is not counted).

Baseline in the same run: opening the home page (text and links only), the app's fixed cost per rerun;
each page's row prints its ratio to it.

    python benchmarks/page_cpu.py [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.load_test import cpu_seconds  # noqa: E402
from benchmarks.streamlit_app import running_app  # noqa: E402
from benchmarks.streamlit_ws import RunResult, StreamlitSession  # noqa: E402
from core.serving.practice_server import PracticeConfig, PracticeServer  # noqa: E402

Step = tuple[str, Callable[[StreamlitSession, int], RunResult]]


def _slider(label: str) -> Callable[[StreamlitSession, int], RunResult]:
    """Move the slider labelled like ``label`` to a value that depends on the repeat (so caches miss)."""

    def move(session: StreamlitSession, repeat: int) -> RunResult:
        return session.set_slider_fraction(label, (0.2 + 0.13 * repeat) % 1.0)

    return move


def _quiz_answer(session: StreamlitSession, repeat: int) -> RunResult:
    for step in ("Next question", "See your result", "New random attempt"):
        if any(w.label.startswith("Your answer") for w in session.widgets):
            break
        if any(w.kind == "button" and w.label == step for w in session.widgets):
            session.click(step)
    answer = next(w for w in session.widgets if w.label.startswith("Your answer"))
    if answer.kind == "radio":
        return session.choose_radio_widget(answer, repeat % len(answer.proto.options))
    return session.set_text(answer.label, str(1 + repeat % 6))


#: Each page's typical interactions, in order: (name, action). "open" is the sidebar click.
PAGES: dict[str, list[Step]] = {
    "home": [],
    "how-it-works": [
        ("slider gamma", _slider("Speculation length γ (drafts per round)")),
        ("next step", lambda s, _r: s.click("Next step")),
        ("slider alpha", _slider("Acceptance rate α")),
    ],
    "speedup-simulator": [
        ("slider alpha", _slider("Acceptance rate α")),
        ("slider gamma", _slider("Speculation length γ")),
        ("slider cost", _slider("Cost ratio c")),
    ],
    "live-benchmark": [
        ("connect", lambda s, _r: s.click("Connect")),
        ("requests", lambda s, r: s.set_number("Requests", 3)),
        ("run benchmark", lambda s, _r: s.click("Run benchmark")),
    ],
    "adaptive-speculation": [
        ("slider batch", _slider("Concurrent requests (batch size, the load level)")),
        ("slider context", _slider("Context per request (tokens)")),
    ],
    "decision-quiz": [
        ("output length", lambda s, r: s.set_number("Typical output length (tokens)", 200 + 50 * r)),
        ("quiz answer", _quiz_answer),
        ("quiz check", lambda s, _r: s.click("Check answer")),
    ],
    "class-instructor": [],
}


def _page_url(page: str) -> str:
    return "" if page == "home" else page


def play(session: StreamlitSession, pid: int, page: str, repeat: int, samples: dict | None) -> None:
    """Open ``page`` and play its steps once; with ``samples``, add each step's CPU seconds to it."""
    steps: list[Step] = [("open", lambda s, _r: s.open(_page_url(page))), *PAGES[page]]
    for name, action in steps:
        before = cpu_seconds(pid)
        result = action(session, repeat)
        after = cpu_seconds(pid)
        if result.exceptions:
            raise SystemExit(f"{page} / {name}: the page raised {result.exceptions[0]}")
        if samples is not None and before is not None and after is not None:
            samples.setdefault(page, {}).setdefault(name, []).append(after - before)


def measure(repeats: int) -> dict:
    """Run the benchmark; returns {page: {interaction: mean CPU ms}, ...} plus the totals per page."""
    with contextlib.ExitStack() as stack:
        practice = PracticeServer(PracticeConfig(speculative=True, time_scale=0.05, seed=1))
        practice_url = practice.start()
        stack.callback(practice.stop)
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="speclab-page-cpu-"))
        env = {"SPECLAB_ALLOWED_BASE_URLS": practice_url, "SPECLAB_DATA_DIR": data_dir}
        url, pid = stack.enter_context(running_app(env=env))
        session = StreamlitSession(url)
        stack.callback(session.close)
        for page in PAGES:  # warm-up: compile kernels, fill caches, load modules
            play(session, pid, page, 0, None)
        samples: dict = {}
        for repeat in range(1, repeats + 1):
            for page in PAGES:
                play(session, pid, page, repeat, samples)
    return summarize(samples)


def summarize(samples: dict) -> dict:
    """Mean CPU ms per interaction, per page and overall, with each page's ratio to opening home."""
    report: dict = {"pages": {}}
    baseline = 1000 * statistics.mean(samples["home"]["open"])
    for page, steps in samples.items():
        per_step = {name: round(1000 * statistics.mean(values), 1) for name, values in steps.items()}
        every = [v for values in steps.values() for v in values]
        mean_ms = 1000 * statistics.mean(every)
        report["pages"][page] = {
            "cpu_ms_per_interaction": round(mean_ms, 1),
            "vs_home_open": round(mean_ms / baseline, 2) if baseline > 0 else None,
            "by_interaction": per_step,
        }
    report["baseline_home_open_cpu_ms"] = round(baseline, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="measured passes over every page (default 5)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    report = measure(args.repeats)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"baseline: opening home costs {report['baseline_home_open_cpu_ms']} ms of server CPU")
    for page, row in report["pages"].items():
        steps = ", ".join(f"{name} {ms}" for name, ms in row["by_interaction"].items())
        print(
            f"{page:22s} {row['cpu_ms_per_interaction']:7.1f} ms/interaction (x{row['vs_home_open']})  {steps}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
