"""``speclab practice-server``: run the GPU-free practice server (SGLang's HTTP API in front of an engine).

``--engine synthetic`` (the default) makes SIMULATED tokens and timing; other engines are listed by
``--help``. Serves until Ctrl-C, then exits 0. Bad arguments, an unknown preset or engine, or a port in
use: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import errno
import signal
import sys
import threading

from core.serving.practice_server import FAULT_MODES, PracticeConfig, PracticeServer
from core.serving.practice_server.config import SPEC_META_VERSIONS
from core.serving.practice_server.engine import engine_names

DEFAULT_PORT = 30000  # SGLang's default, so the app's default server URL finds it


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "practice-server",
        help="run a practice SGLang server (no GPU) for workshops and client tests",
        description=(
            "Serve SGLang's HTTP API (/generate, /v1/chat/completions, /server_info, ...) with FastAPI and "
            "uvicorn, as SGLang does, in front of an engine. The synthetic engine is SIMULATED: timing "
            "from the cost model, accepted drafts from a Monte Carlo. Nothing measured against it is a "
            "real GPU measurement."
        ),
        epilog="Engines: "
        + "; ".join(f"{k}: {v}" for k, v in engine_names().items())
        + ". Fault modes: "
        + "; ".join(f"{k}: {v}" for k, v in FAULT_MODES.items()),
    )
    _add_server_arguments(parser)
    _add_speculation_arguments(parser)
    _add_synthetic_arguments(parser)
    _add_protocol_arguments(parser)
    parser.set_defaults(func=run)


def _add_server_arguments(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free port)"
    )
    parser.add_argument(
        "--engine",
        default="synthetic",
        help=f"what makes the tokens: {', '.join(engine_names())} (default synthetic)",
    )
    parser.add_argument(
        "--max-running-requests", type=int, default=None, help="batch cap (default 48 speculative, else 256)"
    )
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")


def _add_speculation_arguments(parser) -> None:
    parser.add_argument("--speculative", action="store_true", help="serve with speculative decoding")
    parser.add_argument(
        "--algorithm", default="EAGLE3", help="speculative algorithm to report (default EAGLE3)"
    )
    parser.add_argument("--draft-model", default=None, help="draft model path to report in /server_info")
    parser.add_argument(
        "--steps", type=int, default=None, help="--speculative-num-steps (SGLang's rules apply)"
    )
    parser.add_argument("--topk", type=int, default=None, help="--speculative-eagle-topk")
    parser.add_argument("--draft-tokens", type=int, default=None, help="--speculative-num-draft-tokens")
    parser.add_argument(
        "--timing",
        choices=("cpu", "gpu-model"),
        default="cpu",
        help="tiny engine: cpu = real wall clock (measured, default); gpu-model = cost-model pacing (simulated)",
    )


def _add_synthetic_arguments(parser) -> None:
    parser.add_argument("--hardware", default="h100-sxm", help="cost-model hardware preset id")
    parser.add_argument("--target", default="llama-3.1-8b", help="cost-model target model preset id")
    parser.add_argument("--draft", default="eagle3-llama-3.1-8b", help="cost-model draft model preset id")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="wall seconds per simulated second (default 1.0)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for the simulated text and acceptance")
    parser.add_argument("--fixed-ttft", type=float, default=None, help="exact time to first token, seconds")
    parser.add_argument("--fixed-itl", type=float, default=None, help="exact gap per output token, seconds")
    parser.add_argument(
        "--tokens-per-event", type=int, default=None, help="tokens per stream event (fixed timing)"
    )


def _add_protocol_arguments(parser) -> None:
    parser.add_argument(
        "--fault", choices=sorted(FAULT_MODES), default=None, help="break the protocol on purpose"
    )
    parser.add_argument(
        "--incremental-output",
        action="store_true",
        help="stream deltas instead of cumulative text (SGLang's --incremental-streaming-output; --stream-output in 0.5.5 and 0.5.9)",
    )
    parser.add_argument(
        "--spec-meta-version",
        choices=SPEC_META_VERSIONS,
        default=SPEC_META_VERSIONS[-1],
        help="SGLang release whose spec_* meta_info fields to send (default the newest)",
    )
    parser.add_argument(
        "--spec-tokens-details",
        action="store_true",
        help="honour return_spec_tokens_details on the OpenAI routes (SGLang 0.5.21+)",
    )


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    config = PracticeConfig(
        engine=args.engine,
        speculative=args.speculative,
        algorithm=args.algorithm,
        draft_model=args.draft_model,
        num_steps=args.steps,
        eagle_topk=args.topk,
        num_draft_tokens=args.draft_tokens,
        hardware=args.hardware,
        target=args.target,
        draft=args.draft,
        time_scale=args.time_scale,
        max_running_requests=args.max_running_requests,
        fault=args.fault,
        api_key=args.api_key,
        incremental_output=args.incremental_output,
        seed=args.seed,
        port=args.port,
        host=args.host,
        fixed_ttft_s=args.fixed_ttft,
        fixed_itl_s=args.fixed_itl,
        tokens_per_event=args.tokens_per_event,
        spec_meta_version=args.spec_meta_version,
        spec_tokens_details=args.spec_tokens_details,
        timing=args.timing,
    )
    try:
        server = PracticeServer(config)
        url = server.start()
    except ValueError as error:
        print(f"speclab practice-server: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            message = f"port {args.port} on {args.host} is already in use; pick another with --port (0 = any free port)"
        elif error.errno in (errno.EACCES, errno.EPERM):
            message = f"not allowed to bind {args.host}:{args.port}; use a port above 1023"
        else:
            message = f"cannot bind {args.host}:{args.port}: {error.strerror or error}"
        print(f"speclab practice-server: error: {message}", file=sys.stderr)
        return 2
    print(f"Practice server listening on {url}", file=sys.stderr)
    fault = f", fault mode {config.fault}" if config.fault else ""
    print(f"{server.engine.info.description}{fault}. Ctrl-C stops.", file=sys.stderr)
    for note in server.notes:
        print(f"note: {note}", file=sys.stderr)
    sys.stderr.flush()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop_on_sigterm)  # `kill PID` stops it as cleanly as Ctrl-C
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("Practice server stopped.", file=sys.stderr)
    return 0
