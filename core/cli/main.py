"""The ``speclab`` command line: ``speclab --help`` lists the subcommands.

Exit codes shared by every subcommand: 0 success, 1 partial failure (e.g. some requests failed),
2 bad arguments or an unreachable server.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from core import __version__
from core.cli import commands


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line and exits with code 2 (argparse's own convention)."""

    def error(self, message: str) -> None:  # pragma: no cover - exercised through main()
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="speclab",
        description="Speculative Decoding Lab: simulate, benchmark and configure speculative decoding.",
    )
    parser.add_argument("--version", action="version", version=f"speclab {__version__}")
    subparsers = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", parser_class=_Parser
    )
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    try:
        return int(func(args))
    except KeyboardInterrupt:
        print("speclab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
