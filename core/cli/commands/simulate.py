"""``speclab simulate``: Monte Carlo of verify passes next to the closed form.

``--alpha A --gamma G`` simulates i.i.d. acceptance; ``--acceptances 0.79,0.74,...`` simulates acceptance
that depends on the draft position instead (gamma = number of values). ``--json`` prints one JSON object.
Bad values: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from core.simulation import montecarlo

DEFAULT_ROUNDS = 1_000_000


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate speculative decoding's verify passes (Monte Carlo vs closed form)",
        description=(
            "Simulate ROUNDS target verify passes. Each pass proposes GAMMA draft tokens, accepts a prefix "
            "of them and adds one target token. Prints the SIMULATED tokens per pass and walltime speedup "
            "(verify pass = 1 target forward, each draft forward = COST_RATIO of it) next to the EXACT "
            "closed form (Leviathan et al. 2023)."
        ),
    )
    parser.add_argument("--alpha", type=float, default=None, help="acceptance rate per draft token, 0..1")
    parser.add_argument("--gamma", type=int, default=None, help="draft tokens per verify pass, 0..64")
    parser.add_argument(
        "--acceptances",
        default=None,
        help="comma-separated per-position acceptances (instead of --alpha/--gamma), e.g. 0.79,0.74,0.72",
    )
    parser.add_argument(
        "--cost-ratio", type=float, default=0.0, help="draft forward time / target forward time (default 0)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"verify passes to simulate, 1..{montecarlo.MAX_ROUNDS:,} (default {DEFAULT_ROUNDS:,})",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _parse_acceptances(text: str) -> list[float]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        return [float(part) for part in parts]
    except ValueError:
        raise ValueError(f"--acceptances must be comma-separated numbers, got {text!r}") from None


def _simulate(args: argparse.Namespace) -> dict:
    if args.acceptances is not None:
        if args.alpha is not None or args.gamma is not None:
            raise ValueError("give either --acceptances or --alpha/--gamma, not both")
        result = montecarlo.simulate_depth(
            _parse_acceptances(args.acceptances), args.rounds, seed=args.seed, cost_ratio=args.cost_ratio
        )
        data = result.to_dict()
        data["model"] = "depth"
        # The same keys as the i.i.d. report, so scripts can read either.
        data["tokens_per_round_closed_form"] = data["tokens_per_round_exact"]
        data["speedup_closed_form"] = data["speedup_exact"]
        return data
    if args.alpha is None or args.gamma is None:
        raise ValueError("give --alpha and --gamma (or --acceptances)")
    result = montecarlo.simulate_iid(
        args.alpha, args.gamma, args.rounds, seed=args.seed, cost_ratio=args.cost_ratio
    )
    data = result.to_dict()
    data["model"] = "iid"
    return data


def _report(data: dict) -> str:
    if data["model"] == "iid":
        setting = f"i.i.d. acceptance alpha = {data['alpha']:g}, gamma = {data['gamma']} draft tokens"
    else:
        values = ", ".join(f"{a:g}" for a in data["acceptances"])
        setting = f"per-position acceptance [{values}], gamma = {data['gamma']} draft tokens"
    histogram = data["accepted_histogram"]
    rounds = data["rounds"]
    shares = "  ".join(f"{k}:{count / rounds:.3f}" for k, count in enumerate(histogram))
    return "\n".join(
        [
            f"{setting}, cost ratio c = {data['cost_ratio']:g}, {rounds:,} rounds, seed {data['seed']}",
            f"tokens per verify pass  simulated {data['tokens_per_round']:.4f} "
            f"± {data['tokens_per_round_stderr']:.4f} (1 s.e.)   closed form {data['tokens_per_round_closed_form']:.4f}",
            f"walltime speedup        simulated {data['speedup']:.4f} "
            f"± {data['speedup_stderr']:.4f} (1 s.e.)   closed form {data['speedup_closed_form']:.4f}",
            f"share of passes by accepted drafts (simulated)  {shares}",
            "speedup assumes a verify pass costs one target forward (batch 1, memory bound).",
        ]
    )


def run(args: argparse.Namespace) -> int:
    try:
        data = _simulate(args)
    except ValueError as error:
        print(f"speclab simulate: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(data) if args.json else _report(data))
    return 0
