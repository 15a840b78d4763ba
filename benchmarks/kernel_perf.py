"""Benchmark: the Monte Carlo kernels against baselines measured in the same run.

Run ``python benchmarks/kernel_perf.py [--rounds N]``. Prints the i.i.d. kernel's rate against the raw
numpy uniform rate, the best vectorised numpy version and pure Python (the same figures as
``speclab perf``), the project's goals for those ratios, and the rates of the tree and rejection kernels
for reference. Nothing here is a test: ratios depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.simulation import perf, rejection, tree  # noqa: E402

GOALS = {"kernel_over_raw": 0.5, "kernel_over_numpy": 1.5, "kernel_over_python": 50.0}


def _rate(work, count: int, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return count / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    report = perf.measure(rounds=args.rounds, repeats=args.repeats)
    print(f"i.i.d. kernel, alpha {report.alpha}, gamma {report.gamma}, best of {report.repeats}:")
    for name in ("kernel_rounds_per_s", "numpy_rounds_per_s", "python_rounds_per_s", "raw_rng_per_s"):
        print(f"  {name:22s} {getattr(report, name) / 1e6:10.1f} M/s")
    print(f"  (numpy method: {report.numpy_method})")
    for name, goal in GOALS.items():
        value = getattr(report, name)
        print(f"  {name:22s} {value:8.2f}x   goal >= {goal}x   {'ok' if value >= goal else 'BELOW GOAL'}")

    tree.warm_up()
    rejection.warm_up()
    spec = tree.TreeSpec(depth=5, topk=4, rank_acceptance=(0.6, 0.15, 0.08, 0.05), num_draft_tokens=16)
    rounds = max(args.rounds // 10, 1000)
    print(
        f"tree walk kernel (depth 5, topk 4, 16 tokens): {_rate(lambda: tree.simulate_tree(spec, rounds), rounds) / 1e6:.1f} M passes/s"
    )
    p = rejection.zipf_distribution(32_000)
    q = rejection.draft_from_target(p, temperature=1.5, skew=0.2)
    rate = _rate(lambda: rejection.run_rejection_sampling(p, q, rounds), rounds)
    print(f"rejection-sampling kernel (32k vocabulary): {rate / 1e6:.1f} M samples/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
