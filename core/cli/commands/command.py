"""``speclab command``: print the SGLang launch command for speculative (or baseline) serving.

The command alone goes to stdout (so ``$(speclab command ...)`` or a copy-paste works); notes and
warnings go to stderr. ``--sglang-version`` picks the SGLang release the command is written for;
``--check`` runs it through SGLang's own parser when sglang is importable, else through the flag table
extracted from that release's wheel, and exits 1 when the check fails. A setting SGLang would reject
and that cannot be fixed, or an unknown release: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from core.serving.launch import (
    ALGORITHMS,
    DEFAULT_RELEASE,
    LaunchRuleError,
    LaunchSpec,
    build_launch_command,
    check_launch_command,
    known_releases,
)


def _add_speculation_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--algorithm",
        default=None,
        help=f"speculative algorithm: {', '.join(ALGORITHMS)} (case-insensitive; older releases accept "
        "fewer); omit for baseline",
    )
    parser.add_argument("--baseline", action="store_true", help="plain decoding, no speculation")
    parser.add_argument(
        "--draft-model", default=None, help="draft model path (default: known pair for MODEL)"
    )
    parser.add_argument(
        "--architecture",
        default=None,
        help="the model config's architectures[0] (e.g. LlamaForCausalLM); default: guessed from the name",
    )
    parser.add_argument("--steps", type=int, default=None, help="--speculative-num-steps")
    parser.add_argument(
        "--topk", type=int, default=None, help="--speculative-eagle-topk (NGRAM: its max BFS breadth)"
    )
    parser.add_argument("--draft-tokens", type=int, default=None, help="--speculative-num-draft-tokens")
    parser.add_argument(
        "--ngram-max-bfs-breadth", type=int, default=None, help="NGRAM's topk (SGLang default 10)"
    )
    parser.add_argument("--ngram-min-bfs-breadth", type=int, default=None, help="NGRAM min BFS breadth")
    parser.add_argument("--ngram-match-type", default=None, help="NGRAM trie search: BFS or PROB")
    parser.add_argument("--ngram-max-trie-depth", type=int, default=None, help="NGRAM longest stored n-gram")
    parser.add_argument("--ngram-capacity", type=int, default=None, help="NGRAM most stored n-grams")
    parser.add_argument("--token-map", default=None, help="--speculative-token-map (FR-Spec hot vocabulary)")
    parser.add_argument(
        "--attention-mode", default=None, help="--speculative-attention-mode: prefill, decode"
    )
    parser.add_argument(
        "--draft-attention-backend", default=None, help="--speculative-draft-attention-backend"
    )
    parser.add_argument(
        "--simulate-accept-length",
        type=float,
        default=None,
        help="set SGLANG_SIMULATE_ACC_LEN: the real server fakes this accept length (workshop demo)",
    )


def _add_server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=30000, help="server port (default 30000)")
    parser.add_argument("--host", default=None, help="address to listen on (SGLang default 127.0.0.1)")
    parser.add_argument("--mem-fraction", type=float, default=None, help="--mem-fraction-static (0..1)")
    parser.add_argument("--tp", type=int, default=1, help="tensor parallel size (GPUs)")
    parser.add_argument(
        "--pp", type=int, default=1, help="pipeline parallel size (with speculation: EAGLE only, from 0.5.21)"
    )
    parser.add_argument(
        "--cuda-graph-max-bs",
        type=int,
        default=None,
        help="largest CUDA-graph batch (emitted as the release's flag: --cuda-graph-max-bs up to 0.5.12, "
        "--cuda-graph-max-bs-decode from 0.5.17)",
    )
    parser.add_argument("--max-running-requests", type=int, default=None, help="most concurrent requests")
    parser.add_argument("--page-size", type=int, default=None, help="tokens per KV-cache page")
    parser.add_argument("--dtype", default=None, help="weight dtype, e.g. auto, float16, bfloat16")
    parser.add_argument("--trust-remote-code", action="store_true", help="allow model code from the hub")
    parser.add_argument(
        "--incremental-streaming",
        action="store_true",
        help="stream deltas from /generate (the release's flag)",
    )


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "command",
        help="print the SGLang launch command for speculative (or baseline) serving",
        description=(
            "Print `sglang serve ...` (or `python -m sglang.launch_server ...` for releases before 0.5.12) "
            "for MODEL, applying the chosen SGLang release's rules (draft model for known targets, each "
            "algorithm's own knob rules, flag names of that release). The command goes to stdout, "
            "explanations to stderr."
        ),
    )
    parser.add_argument("--model", required=True, help="target model: Hugging Face id or local folder")
    parser.add_argument(
        "--sglang-version",
        default=DEFAULT_RELEASE,
        help=f"SGLang release to write the command for: {', '.join(known_releases())} (default {DEFAULT_RELEASE})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="check the command with SGLang's own parser (when sglang is importable) or the release's "
        "extracted flag table; exit 1 when it fails",
    )
    _add_speculation_arguments(parser)
    _add_server_arguments(parser)
    parser.add_argument("--argv", action="store_true", help="print the argv list as JSON instead of the text")
    parser.set_defaults(func=run)


def _spec(args: argparse.Namespace) -> LaunchSpec:
    return LaunchSpec(
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
        sglang_version=args.sglang_version,
        architecture=args.architecture,
        ngram_max_bfs_breadth=args.ngram_max_bfs_breadth,
        ngram_min_bfs_breadth=args.ngram_min_bfs_breadth,
        ngram_match_type=args.ngram_match_type,
        ngram_max_trie_depth=args.ngram_max_trie_depth,
        ngram_capacity=args.ngram_capacity,
        token_map=args.token_map,
        attention_mode=args.attention_mode,
        draft_attention_backend=args.draft_attention_backend,
        page_size=args.page_size,
        dtype=args.dtype,
        incremental_streaming=args.incremental_streaming,
    )


def _report_check(command) -> int:
    check = check_launch_command(command)
    for note in check.notes:
        print(f"check: note: {note}", file=sys.stderr)
    if check.ok:
        print(f"check: ok: {check.checked_by} accepts the command", file=sys.stderr)
        return 0
    for problem in check.problems:
        print(f"check: error: {check.checked_by}: {problem}", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    if args.baseline and args.algorithm:
        print(
            "speclab command: error: --baseline and --algorithm contradict each other; pick one",
            file=sys.stderr,
        )
        return 2
    try:
        command = build_launch_command(_spec(args))
    except LaunchRuleError as error:
        print(f"speclab command: error: {error}", file=sys.stderr)
        return 2
    if args.argv:
        print(json.dumps({"env": command.env, "argv": command.argv, "release": command.release}))
    else:
        print(command.text)
    for warning in command.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for note in command.notes:
        print(f"note: {note}", file=sys.stderr)
    return _report_check(command) if args.check else 0
