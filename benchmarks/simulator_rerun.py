"""How fast does the Simulator page rerun? Goal: a warm rerun of the default view under 300 ms.

Runs the whole app (app.py + pages/simulator.py) in Streamlit's AppTest, the same script run a browser
triggers, minus the network and drawing. For each section it times:

* cold: the first run in a fresh process state for that section (Numba kernels and caches warm up once
  per process, so only the first section pays for compiling or loading them);
* warm: rerunning with nothing changed (every ``st.cache_data`` hit), best and median of ``--repeats``;
* moved: basics only, a rerun after moving the alpha slider to a value not seen before (one new Monte
  Carlo run of the default rounds, the rest cached).

AppTest builds a new ScriptCache on every run, so it recompiles every script each rerun; a server compiles
a script once and reuses the bytecode. By default this benchmark shares one ScriptCache across runs, as
the server does (``--recompile`` keeps AppTest's behaviour). Times are wall-clock and CPU (process CPU
time, less sensitive to other programs on a shared machine).

Baseline measured in the same run: the home page's warm rerun (a page with text and links only), so the
printed ratio says how much the Simulator costs over the app's fixed per-rerun overhead on this machine.

Usage: ``python benchmarks/simulator_rerun.py [--repeats 15] [--sections basics,landscape]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit.testing.v1.app_test as app_test_module  # noqa: E402
import streamlit.testing.v1.local_script_runner as local_runner_module  # noqa: E402
from streamlit.runtime.scriptrunner.script_cache import ScriptCache  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(ROOT / "app.py")
SECTIONS = ("basics", "landscape", "presets", "beyond", "cost")
GOAL_MS = 300.0


def share_script_cache() -> None:
    """Make AppTest reuse one ScriptCache (compiled bytecode) across runs, like a running server."""
    shared = ScriptCache()
    app_test_module.ScriptCache = lambda: shared
    local_runner_module.ScriptCache = lambda: shared


def _timed_run(at: AppTest) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one script run."""
    start, cpu = time.perf_counter(), time.process_time()
    at.run()
    elapsed, cpu_elapsed = time.perf_counter() - start, time.process_time() - cpu
    if at.exception:
        raise SystemExit(f"the page raised: {at.exception[0].value}")
    return elapsed, cpu_elapsed


def open_page(page: str | None, query: dict[str, str]) -> tuple[AppTest, tuple[float, float]]:
    at = AppTest.from_file(APP, default_timeout=300)
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    if page is None:
        return at, (0.0, 0.0)
    at.switch_page(page)
    return at, _timed_run(at)


def warm_times(at: AppTest, repeats: int) -> tuple[list[float], list[float]]:
    runs = [_timed_run(at) for _ in range(repeats)]
    return [w for w, _ in runs], [c for _, c in runs]


def ms(values: list[float]) -> str:
    return f"{min(values) * 1e3:>6.0f} {statistics.median(values) * 1e3:>6.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="warm reruns per section (default 15)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--recompile", action="store_true", help="keep AppTest's recompile on every run")
    args = parser.parse_args(argv)
    sections = [s for s in args.sections.split(",") if s]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown or args.repeats < 1:
        print(f"simulator_rerun: unknown sections {unknown} or repeats < 1", file=sys.stderr)
        return 2

    if not args.recompile:
        share_script_cache()
    home, _ = open_page(None, {})
    home_wall, home_cpu = warm_times(home, args.repeats)
    base = min(home_cpu)
    print(
        f"{'page / section':<16} {'cold s':>6}  {'wall best/median ms':>20}  {'CPU best/median ms':>19}  x home CPU  goal"
    )
    print(f"{'home (baseline)':<16} {'':>6}  {ms(home_wall):>20}  {ms(home_cpu):>19}  {1.0:>10.1f}")
    for section in sections:
        at, (cold, _) = open_page("pages/simulator.py", {"section": section})
        wall, cpu = warm_times(at, args.repeats)
        verdict = "ok" if min(wall) * 1e3 < GOAL_MS else f"over {GOAL_MS:.0f} ms"
        print(
            f"{section:<16} {cold:>6.2f}  {ms(wall):>20}  {ms(cpu):>19}  {min(cpu) / base:>10.1f}  {verdict}"
        )
        if section == "basics":
            moved = []
            for i in range(args.repeats):
                at.slider(key="sim_alpha").set_value(round(0.30 + 0.01 * (i % 60), 2))
                moved.append(_timed_run(at))
            wall, cpu = [w for w, _ in moved], [c for _, c in moved]
            print(
                f"{'  alpha moved':<16} {'':>6}  {ms(wall):>20}  {ms(cpu):>19}  {min(cpu) / base:>10.1f}  "
                "(a new alpha each rerun: new Monte Carlo and charts)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
