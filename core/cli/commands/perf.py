"""``speclab perf``: measure the Monte Carlo kernel against numpy, pure Python and the raw RNG rate.

Rates are MEASURED on this machine, in this run; only the ratios are comparable across machines.
"""

from __future__ import annotations

import argparse
import json
import sys

from core.simulation import perf

DEFAULT_ROUNDS = 20_000_000


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "perf",
        help="measure Monte Carlo speed: Numba kernel vs vectorised numpy vs pure Python vs raw RNG",
        description=(
            "Time the i.i.d. Monte Carlo kernel, the fastest vectorised numpy version, a pure Python loop "
            "and numpy's raw uniform rate in one run (best of several repeats, kernels compiled first)."
        ),
    )
    parser.add_argument(
        "--rounds", type=int, default=DEFAULT_ROUNDS, help=f"rounds per timing (default {DEFAULT_ROUNDS:,})"
    )
    parser.add_argument(
        "--python-rounds", type=int, default=None, help="rounds for pure Python (default rounds / 100)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timings per method, best kept (default 5)")
    parser.add_argument("--alpha", type=float, default=0.8, help="acceptance rate (default 0.8)")
    parser.add_argument("--gamma", type=int, default=5, help="draft tokens per round (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _report(data: dict) -> str:
    def rate(value: float) -> str:
        return f"{value / 1e6:10.1f} M/s"

    return "\n".join(
        [
            f"Monte Carlo speed, alpha {data['alpha']:g}, gamma {data['gamma']}, "
            f"{data['rounds']:,} rounds (python {data['python_rounds']:,}), best of {data['repeats']} (measured)",
            f"  Numba kernel          {rate(data['kernel_rounds_per_s'])} rounds",
            f"  numpy vectorised      {rate(data['numpy_rounds_per_s'])} rounds  ({data['numpy_method']})",
            f"  pure Python           {rate(data['python_rounds_per_s'])} rounds",
            f"  numpy raw uniforms    {rate(data['raw_rng_per_s'])} uniforms",
            f"  kernel / raw RNG      {data['kernel_over_raw']:8.2f}x",
            f"  kernel / numpy        {data['kernel_over_numpy']:8.2f}x",
            f"  kernel / python       {data['kernel_over_python']:8.1f}x",
        ]
    )


def run(args: argparse.Namespace) -> int:
    try:
        report = perf.measure(
            rounds=args.rounds,
            alpha=args.alpha,
            gamma=args.gamma,
            repeats=args.repeats,
            python_rounds=args.python_rounds,
        )
    except ValueError as error:
        print(f"speclab perf: error: {error}", file=sys.stderr)
        return 2
    data = report.to_dict()
    print(json.dumps(data) if args.json else _report(data))
    return 0
