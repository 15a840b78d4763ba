"""``speclab command``: print the SGLang launch command for speculative (or baseline) serving.

The command alone goes to stdout (so ``$(speclab command ...)`` or a copy-paste works); notes and
warnings go to stderr. A setting SGLang would reject and that cannot be fixed: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import sys

from core.serving.launch_command import ALGORITHMS, LaunchRuleError, LaunchSpec, build_launch_command


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "command",
        help="print the SGLang launch command for speculative (or baseline) serving",
        description=(
            "Print `python -m sglang.launch_server ...` for MODEL, applying SGLang's rules (draft model for "
            "known targets, all-or-none speculation knobs, topk 1 => draft tokens = steps + 1, ...). The "
            "command goes to stdout, explanations to stderr."
        ),
    )
    parser.add_argument("--model", required=True, help="target model: Hugging Face id or local folder")
    parser.add_argument(
        "--algorithm",
        default=None,
        help=f"speculative algorithm: {', '.join(ALGORITHMS)} (case-insensitive); omit for baseline",
    )
    parser.add_argument("--baseline", action="store_true", help="plain decoding, no speculation")
    parser.add_argument(
        "--draft-model", default=None, help="draft model path (default: known pair for MODEL)"
    )
    parser.add_argument("--steps", type=int, default=None, help="--speculative-num-steps (all three or none)")
    parser.add_argument("--topk", type=int, default=None, help="--speculative-eagle-topk")
    parser.add_argument("--draft-tokens", type=int, default=None, help="--speculative-num-draft-tokens")
    parser.add_argument("--port", type=int, default=30000, help="server port (default 30000)")
    parser.add_argument("--host", default=None, help="address to listen on (SGLang default 127.0.0.1)")
    parser.add_argument("--mem-fraction", type=float, default=None, help="--mem-fraction-static (0..1)")
    parser.add_argument("--tp", type=int, default=1, help="tensor parallel size (GPUs)")
    parser.add_argument(
        "--pp", type=int, default=1, help="pipeline parallel size (incompatible with speculation)"
    )
    parser.add_argument("--cuda-graph-max-bs", type=int, default=None, help="largest CUDA-graph batch")
    parser.add_argument("--max-running-requests", type=int, default=None, help="most concurrent requests")
    parser.add_argument("--trust-remote-code", action="store_true", help="allow model code from the hub")
    parser.add_argument(
        "--simulate-accept-length",
        type=float,
        default=None,
        help="set SGLANG_SIMULATE_ACC_LEN: the real server fakes this accept length (workshop demo)",
    )
    parser.add_argument("--argv", action="store_true", help="print the argv list as JSON instead of the text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.baseline and args.algorithm:
        print(
            "speclab command: error: --baseline and --algorithm contradict each other; pick one",
            file=sys.stderr,
        )
        return 2
    spec = LaunchSpec(
        model=args.model,
        algorithm=args.algorithm,
        draft_model=args.draft_model,
        num_steps=args.steps,
        eagle_topk=args.topk,
        num_draft_tokens=args.draft_tokens,
        port=args.port,
        host=args.host,
        mem_fraction_static=args.mem_fraction,
        tp_size=args.tp,
        pp_size=args.pp,
        cuda_graph_max_bs=args.cuda_graph_max_bs,
        max_running_requests=args.max_running_requests,
        trust_remote_code=args.trust_remote_code,
        baseline=args.baseline,
        simulate_accept_length=args.simulate_accept_length,
    )
    try:
        command = build_launch_command(spec)
    except LaunchRuleError as error:
        print(f"speclab command: error: {error}", file=sys.stderr)
        return 2
    if args.argv:
        import json

        print(json.dumps({"env": command.env, "argv": command.argv}))
    else:
        print(command.text)
    for warning in command.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for note in command.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
