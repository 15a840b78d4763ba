"""``speclab train-models``: train the tiny tokenizer, target and drafts from a seed (extra ``train``).

The shipped weights in ``core/data/tiny_models/`` come from ``speclab train-models --seed 0``; ``--quick``
trains a miniature version in seconds (for tests), never over the shipped files unless ``--out`` says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_OUT = Path("core/data/tiny_models")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train-models",
        help="train the tiny models (tokenizer, target, STANDALONE draft, EAGLE head) from a seed",
        description=(
            "Assemble the corpus from Python's own standard library and help texts, train a byte-level BPE "
            "tokenizer and the models with PyTorch on the CPU, and write float16 weights and a manifest. "
            "Needs the optional extra: pip install 'speclab[train]'."
        ),
    )
    parser.add_argument("--quick", action="store_true", help="miniature models in seconds (for tests)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"output folder (default {DEFAULT_OUT}; with --quick a folder is required)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.tiny_models.training import TrainingExtraMissing, train_all

    if args.quick and args.out is None:
        print(
            "speclab train-models: --quick needs --out DIR (the shipped weights are the full ones)",
            file=sys.stderr,
        )
        return 2
    out = args.out or DEFAULT_OUT
    try:
        train_all(quick=args.quick, seed=args.seed, out=out, log=lambda m: print(m, file=sys.stderr))
    except TrainingExtraMissing as exc:
        print(f"speclab train-models: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"speclab train-models: cannot write to {out}: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}/manifest.json")
    return 0
