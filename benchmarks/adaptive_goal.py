"""The adaptive-speculation goal in numbers, plus the speed of the stream simulator.

Run: ``.venv/bin/python benchmarks/adaptive_goal.py [--seeds 5]``

Prints, for Llama-3.1-8B with an EAGLE-3 draft on the roofline cost model (every figure SIMULATED with the
illustrative workloads of core/data/workloads.toml):

1. Low load (1 request at a time): the adaptive controller against the best static gamma chosen in
   hindsight and the per-type oracle, on the mixed and the shifting workload, mean and spread over seeds.
2. Medium load (32 concurrent requests): the same, where one gamma must serve a mix of requests.
3. High load (512 concurrent requests, 128-token contexts): every static gamma, the HF heuristic and the
   adaptive controller, with the share of steps it kept speculation on.
4. A load sweep: speedup of static gamma 4, the HF heuristic, the adaptive controller and the oracle.
5. Why the goodput objective is per request: the batch-tokens objective on the same medium-load streams.
6. Speed: a full comparison (13 controllers) after warm-up, and the Numba kernel against the plain-Python
   reference simulator on the same stream, as a ratio measured in this run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.simulation import adaptive_stream as sm  # noqa: E402
from core.simulation import controllers as ctl  # noqa: E402

HW, TARGET, DRAFT = "h100-sxm", "llama-3.1-8b", "eagle3-llama-3.1-8b"
ADAPTIVE = "adaptive (EMA, classifier prior)"
NO_CLASSIFIER = "adaptive (EMA, no classifier)"
ORACLE = "per-type oracle"
HF = ctl.HFHeuristic().name


def mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


def goal_at_load(workload: str, batch: int, context: int, requests: int, seeds: range) -> None:
    table = sm.step_time_table(HW, TARGET, DRAFT, batch, context)
    ratios: dict[str, list[float]] = {k: [] for k in ("best", "oracle", "noclass", "hf")}
    speedups: dict[str, list[float]] = {k: [] for k in ("adaptive", "best", "oracle", "hf")}
    best_gammas = []
    for seed in seeds:
        stream = sm.make_stream(workload, requests, seed, DRAFT)
        result = sm.compare(stream, table, batch, seed)
        s = result.summary().set_index("controller")
        best = result.best_static
        a = s.loc[ADAPTIVE, "goodput_tok_s"]
        ratios["best"].append(a / best.goodput_tok_s)
        ratios["oracle"].append(a / s.loc[ORACLE, "goodput_tok_s"])
        ratios["noclass"].append(s.loc[NO_CLASSIFIER, "goodput_tok_s"] / best.goodput_tok_s)
        ratios["hf"].append(s.loc[HF, "goodput_tok_s"] / best.goodput_tok_s)
        speedups["adaptive"].append(s.loc[ADAPTIVE, "speedup_vs_no_spec"])
        speedups["best"].append(best.goodput_tok_s / result.baseline.goodput_tok_s)
        speedups["oracle"].append(s.loc[ORACLE, "speedup_vs_no_spec"])
        speedups["hf"].append(s.loc[HF, "speedup_vs_no_spec"])
        best_gammas.append(round(best.mean_gamma))
    print(
        f"  {workload:9s} batch {batch:3d}: speedup vs no speculation: adaptive {mean_sd(speedups['adaptive'])}, "
        f"best static (γ {sorted(set(best_gammas))}) {mean_sd(speedups['best'])}, "
        f"oracle {mean_sd(speedups['oracle'])}, HF {mean_sd(speedups['hf'])}"
    )
    print(
        f"  {'':9s} {'':9s}  adaptive / best static {mean_sd(ratios['best'])}, adaptive / oracle "
        f"{mean_sd(ratios['oracle'])}, no-classifier / best static {mean_sd(ratios['noclass'])}, "
        f"HF / best static {mean_sd(ratios['hf'])}"
    )


def high_load(seed: int) -> None:
    batch, context = 512, 128
    stream = sm.make_stream("mixed", 5000, seed, DRAFT)
    result = sm.compare(stream, sm.step_time_table(HW, TARGET, DRAFT, batch, context), batch, seed)
    s = result.summary().set_index("controller")
    statics = ", ".join(
        f"γ{g} {s.loc[ctl.StaticGamma(g).name, 'speedup_vs_no_spec']:.3f}" for g in range(1, 9)
    )
    print(f"  static: {statics}")
    for name in (HF, ADAPTIVE, ORACLE):
        row = s.loc[name]
        print(
            f"  {name}: speedup {row.speedup_vs_no_spec:.3f}, speculation on {row.spec_on_share:.1%} of steps, "
            f"wasted drafts per token {row.wasted_per_token:.3f}"
        )
    print(f"  best static in hindsight: {result.best_static.controller}")


def load_sweep(seed: int, context: int) -> None:
    names = ("static γ=4", HF, ADAPTIVE, ORACLE)
    controllers = [
        ctl.StaticGamma(0),
        ctl.StaticGamma(4),
        ctl.HFHeuristic(),
        ctl.GoodputEstimator(),
        ctl.PerTypeOracle(),
    ]
    print(f"  {'batch':>5s}  " + "  ".join(f"{n:>32s}" for n in names) + "  adaptive spec on")
    for batch in (1, 8, 32, 64, 128, 256, 512):
        stream = sm.make_stream("mixed", max(1000, 4 * batch), seed, DRAFT)
        result = sm.compare(
            stream,
            sm.step_time_table(HW, TARGET, DRAFT, batch, context),
            batch,
            seed,
            controllers=controllers,
        )
        s = result.summary().set_index("controller")
        cells = "  ".join(f"{s.loc[n, 'speedup_vs_no_spec']:>32.3f}" for n in names)
        print(f"  {batch:>5d}  {cells}  {s.loc[ADAPTIVE, 'spec_on_share']:>16.1%}")


def objective_ablation(seeds: range) -> None:
    batch, context = 32, 1024
    table = sm.step_time_table(HW, TARGET, DRAFT, batch, context)
    for workload in ("mixed", "shifting"):
        rows = {"request": [], "batch": [], "oracle request": [], "oracle batch": []}
        for seed in seeds:
            stream = sm.make_stream(workload, 3000, seed, DRAFT)
            controllers = [ctl.StaticGamma(g) for g in range(ctl.MAX_GAMMA + 1)] + [
                ctl.GoodputEstimator(objective="request", name="request"),
                ctl.GoodputEstimator(objective="batch", name="batch"),
                ctl.PerTypeOracle(objective="request", name="oracle request"),
                ctl.PerTypeOracle(objective="batch", name="oracle batch"),
            ]
            result = sm.compare(stream, table, batch, seed, controllers=controllers)
            best = result.best_static.goodput_tok_s
            for name in rows:
                rows[name].append(result.run(name).goodput_tok_s / best)
        print(
            f"  {workload:9s}: goodput / best static: estimator per-request {mean_sd(rows['request'])}, "
            f"estimator batch-tokens {mean_sd(rows['batch'])}; oracle per-request "
            f"{mean_sd(rows['oracle request'])}, oracle batch-tokens {mean_sd(rows['oracle batch'])}"
        )


def speed() -> None:
    sm.warm_up()
    stream = sm.make_stream("shifting", 1000, 0, DRAFT)
    table = sm.step_time_table(HW, TARGET, DRAFT, 1, 1024)
    start = time.perf_counter()
    sm.compare(stream, table, 1, 0)
    full = time.perf_counter() - start
    print(f"  page default (1000 requests, batch 1, 13 controllers): {full:.3f} s after warm-up")
    # Per decode step: the reference on a short stream (it is slow), the kernel on the full one.
    small = sm.make_stream("shifting", 100, 0, DRAFT)
    estimator = ctl.GoodputEstimator()
    start = time.perf_counter()
    ref = sm.simulate_reference(small, estimator, table, 1, 0)
    per_step_ref = (time.perf_counter() - start) / ref["steps"]
    assert sm.simulate(small, estimator, table, 1, 0).tokens == ref["tokens"]  # same simulation
    repeats = 5
    start = time.perf_counter()
    for _ in range(repeats):
        fast = sm.simulate(stream, estimator, table, 1, 0)
    per_step_fast = (time.perf_counter() - start) / repeats / fast.steps
    print(
        f"  adaptive controller per decode step (batch 1): Python reference {per_step_ref * 1e6:.1f} µs "
        f"({ref['steps']:,} steps), Numba kernel {per_step_fast * 1e6:.2f} µs ({fast.steps:,} steps, "
        f"including building the time series), ratio {per_step_ref / per_step_fast:.0f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per setting (default 5)")
    args = parser.parse_args()
    if args.seeds < 1:
        print("adaptive_goal: --seeds must be at least 1", file=sys.stderr)
        return 2
    seeds = range(args.seeds)
    print(
        f"All figures SIMULATED: {TARGET} + {DRAFT} on {HW}, roofline cost model, illustrative workloads.\n"
    )
    print("1. Low load: 1 request at a time, 1000 requests, context 1024")
    for workload in ("mixed", "shifting"):
        goal_at_load(workload, 1, 1024, 1000, seeds)
    print("\n2. Medium load: 32 concurrent requests, 3000 requests, context 1024")
    for workload in ("mixed", "shifting"):
        goal_at_load(workload, 32, 1024, 3000, seeds)
    print("\n3. High load: 512 concurrent requests, 5000 requests, context 128 (mixed workload, seed 0)")
    high_load(0)
    print("\n4. Load sweep (mixed workload, context 128, seed 0): speedup vs no speculation")
    load_sweep(0, 128)
    print("\n5. Goodput objective at 32 concurrent requests: per-request (geometric mean) vs batch tokens/s")
    objective_ablation(seeds)
    print("\n6. Speed")
    speed()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
