"""Check a built launch command: with SGLang's own parser when sglang is importable, else with the flag
table extracted from the targeted release's wheel."""

from __future__ import annotations

from core.serving.launch.command import LaunchCommand
from core.serving.launch.flag_table import FlagCheck, check_against_flag_table
from core.serving.launch.sglang_parser import check_with_sglang_parser, installed_sglang_version

__all__ = ["check_launch_command"]


def check_launch_command(command: LaunchCommand, use_sglang: bool = True) -> FlagCheck:
    """What SGLang's parser says about ``command`` (``use_sglang`` and sglang importable), otherwise what
    the flag table of ``command.release`` says; the notes say which answered and why."""
    if use_sglang:
        real = check_with_sglang_parser(command.server_args)
        if real is not None:
            installed = installed_sglang_version()
            if installed != command.release:
                real.notes.append(
                    f"the installed sglang is {installed}, the command targets {command.release}: rebuild it "
                    f"with --sglang-version {installed} to match this machine"
                )
            return real
    table = check_against_flag_table(command.server_args, command.release)
    if use_sglang:
        table.notes.insert(
            0,
            "sglang is not importable here (install the `server` extra on the GPU machine for its own "
            "parser), so the command was checked against the flag table extracted from the "
            f"{command.release} wheel",
        )
    return table
