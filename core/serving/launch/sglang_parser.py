"""Check a launch argv with SGLang's own parser, when sglang is importable here.

SGLang builds its command line with ``ServerArgs.add_cli_args(parser)`` (``sglang/srt/server_args.py``)
and parses it with argparse; :func:`check_with_sglang_parser` does the same, catching argparse's error
instead of exiting. It only parses: the start-up checks that need the model config or a GPU
(``ServerArgs.__post_init__``) are not run.

Run as a module (``python -m core.serving.launch.sglang_parser``) it reads a JSON list of argv lists on
stdin and writes one result per list on stdout: the tests use it to reach an interpreter that has sglang.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.metadata
import importlib.util
import io
import json
import sys

from core.serving.launch.flag_table import FlagCheck

__all__ = ["check_with_sglang_parser", "installed_sglang_version", "sglang_importable"]


class _ParseError(Exception):
    pass


class _RaisingParser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting."""

    def error(self, message):
        raise _ParseError(message)


def sglang_importable() -> bool:
    """Whether the ``sglang`` package can be imported in this interpreter."""
    return importlib.util.find_spec("sglang") is not None


def installed_sglang_version() -> str | None:
    """The installed sglang release, or ``None`` when it is not installed."""
    try:
        return importlib.metadata.version("sglang")
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.cache
def _build_parser() -> argparse.ArgumentParser:
    """SGLang's parser, built once per process (the import takes seconds)."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        from sglang.srt.server_args import ServerArgs  # heavy (torch); imported only when asked

        parser = _RaisingParser(prog="sglang serve")
        ServerArgs.add_cli_args(parser)
    return parser


def check_with_sglang_parser(args: list[str]) -> FlagCheck | None:
    """Parse server ``args`` (argv after the entry point) with the installed SGLang's parser; ``None``
    when sglang is not importable. ``parsed`` is the whole namespace (defaults included)."""
    if not sglang_importable():
        return None
    version = installed_sglang_version()
    checked_by = f"SGLang {version}'s own parser (ServerArgs.add_cli_args + parse_args)"
    try:
        parser = _build_parser()
    except Exception as error:  # a broken install must not crash the CLI or the page
        return FlagCheck(False, checked_by, [f"could not build SGLang's parser: {error}"])
    try:
        with contextlib.redirect_stderr(io.StringIO()) as captured:
            namespace = parser.parse_args([str(a) for a in args])
    except (_ParseError, SystemExit) as error:
        message = str(error) or captured.getvalue().strip().splitlines()[-1:]
        return FlagCheck(False, checked_by, [str(message)])
    return FlagCheck(True, checked_by, [], [], vars(namespace))


def _json_safe(value):
    return value if isinstance(value, str | int | float | bool | type(None) | list) else str(value)


def main() -> int:
    """stdin: JSON list of argv lists; stdout: JSON list of {ok, problems, parsed, checked_by}."""
    results = []
    for args in json.load(sys.stdin):
        check = check_with_sglang_parser(args)
        if check is None:
            print("sglang is not importable in this interpreter", file=sys.stderr)
            return 2
        parsed = {k: _json_safe(v) for k, v in check.parsed.items()}
        results.append({"ok": check.ok, "problems": check.problems, "parsed": parsed, "by": check.checked_by})
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
