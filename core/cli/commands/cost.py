"""``speclab cost``: the cost model's plain and speculative throughput per batch size.

    speclab cost --hardware H --target T --draft D (--alpha A | --accept-length L)
                 [--steps S --topk K --draft-tokens N] --batch 1,2,4 --context C [--profile P] [--json]
    speclab cost --reproduce eagle3-table3 [--json]

Prints, per batch size, ``batch``, ``baseline_tok_s``, ``speculative_tok_s`` and ``speedup``. The default
profile is the ideal roofline; ``--profile h100-sglang-0.4.4`` uses the calibrated one.
``--reproduce`` prints the calibrated model next to the published numbers with every input it used.
Bad arguments: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from core.references import cost_calibration
from core.simulation import cost_model
from core.simulation.engine_profile import IDEAL, get_profile, load_profiles


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "cost",
        help="cost model: plain vs speculative tokens/s by batch size (or --reproduce a published table)",
        description=(
            "SIMULATED throughput of plain and speculative decoding from the cost model. The ideal "
            "roofline is a best case; calibrated profiles were fitted to published measurements "
            "(see --reproduce)."
        ),
    )
    presets = cost_model.load_presets()
    parser.add_argument("--hardware", help=f"hardware preset: {', '.join(presets.hardware)}")
    parser.add_argument("--target", help=f"target model preset: {', '.join(presets.targets)}")
    parser.add_argument("--draft", help=f"draft preset: {', '.join(presets.drafts)}")
    parser.add_argument("--alpha", type=float, help="i.i.d. acceptance per draft token, 0..1")
    parser.add_argument("--accept-length", type=float, help="tokens per verify pass, bonus included")
    parser.add_argument("--steps", type=int, default=3, help="draft steps (default 3)")
    parser.add_argument("--topk", type=int, default=1, help="candidates per draft step (default 1: a chain)")
    parser.add_argument("--draft-tokens", type=int, help="tokens verified per pass (default: the whole tree)")
    parser.add_argument("--batch", help="comma-separated batch sizes, e.g. 1,2,4,8")
    parser.add_argument("--context", type=int, help="tokens of context per sequence")
    parser.add_argument("--profile", default=IDEAL, help=f"engine profile: {', '.join(load_profiles())}")
    parser.add_argument("--reproduce", choices=cost_calibration.REPRODUCTIONS, help="a published table")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _batches(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--batch must be comma-separated whole numbers, got {text!r}") from None
    if not values:
        raise ValueError("--batch needs at least one batch size")
    return values


def _sweep(args: argparse.Namespace) -> cost_model.BatchSweep:
    missing = [f"--{name}" for name in ("hardware", "target", "draft", "batch", "context")
               if getattr(args, name) is None]  # fmt: skip
    if missing:
        raise ValueError(f"give {', '.join(missing)} (or --reproduce)")
    if (args.alpha is None) == (args.accept_length is None):
        raise ValueError("give exactly one of --alpha and --accept-length")
    profile = get_profile(args.profile)
    if profile.hardware and profile.hardware != args.hardware:
        raise ValueError(
            f"profile {profile.id} was calibrated on {profile.hardware}, not {args.hardware}; "
            f"use --profile {IDEAL} (the ideal roofline) for other hardware"
        )
    return cost_model.speedup_vs_batch(
        args.hardware, args.target, args.draft, args.alpha, args.steps, _batches(args.batch), args.context,
        profile=args.profile, topk=args.topk, draft_tokens=args.draft_tokens, accept_length=args.accept_length,
    )  # fmt: skip


def _rows(sweep: cost_model.BatchSweep) -> list[dict]:
    return [
        {"batch": row["batch_size"], "baseline_tok_s": row["baseline_tok_s"],
         "speculative_tok_s": row["speculative_tok_s"], "speedup": row["speedup"]}
        for row in sweep.rows()
    ]  # fmt: skip


def _print_sweep(sweep: cost_model.BatchSweep, as_json: bool) -> None:
    rows = _rows(sweep)
    if as_json:
        header = {"hardware": sweep.hardware_id, "target": sweep.target_id, "draft": sweep.draft_id,
                  "profile": sweep.profile_id, "accept_length": sweep.expected_tokens_per_pass,
                  "steps": sweep.gamma, "topk": sweep.topk, "draft_tokens": sweep.draft_tokens,
                  "context": sweep.context_len, "kind": "SIMULATED"}  # fmt: skip
        print(json.dumps({**header, "points": rows}, indent=2))
        return
    print(f"SIMULATED ({sweep.profile_id}): {sweep.target_id} on {sweep.hardware_id}, draft {sweep.draft_id}, "
          f"accept length {sweep.expected_tokens_per_pass:.3f}, steps/topk/draft tokens "
          f"{sweep.gamma}/{sweep.topk}/{sweep.draft_tokens}, context {sweep.context_len}")  # fmt: skip
    print(f"{'batch':>6} {'baseline_tok_s':>15} {'speculative_tok_s':>18} {'speedup':>8}")
    for row in rows:
        print(f"{row['batch']:>6} {row['baseline_tok_s']:>15.1f} {row['speculative_tok_s']:>18.1f} "
              f"{row['speedup']:>8.3f}")  # fmt: skip


def _print_reproduction(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['reproduction']}: model ({result['profile']}) vs published ({result['source']})")
    for method in result["methods"]:
        inputs = ", ".join(f"{k} {v}" for k, v in method["inputs"].items())
        print(f"{method['method']} [{method['quantity']}] ({inputs})")
        for point in method["points"]:
            print(f"  batch {point['batch']:>3}: model {point['model']:9.3f}  published "
                  f"{point['published']:9.3f}  error {point['error']:+.1%}")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    try:
        if args.reproduce is not None:
            _print_reproduction(cost_calibration.reproduce(args.reproduce), args.json)
        else:
            _print_sweep(_sweep(args), args.json)
    except ValueError as error:
        print(f"speclab cost: {error}", file=sys.stderr)
        return 2
    return 0
