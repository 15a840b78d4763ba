"""Check a launch argv against the flag table extracted from an SGLang release wheel.

``core/data/sglang_flags.json`` is written by ``scripts/extract_sglang_flags.py`` (never by hand). The
check follows argparse's own rules for SGLang's parser: an exact option name wins; otherwise a prefix of
exactly one option is accepted as an abbreviation and a prefix of several is "ambiguous"; switches take
no value; int / float options must parse; choices are enforced where the table could resolve them.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources

from core.serving.launch.releases import normalise_release

__all__ = ["FlagCheck", "FlagOption", "check_against_flag_table", "flag_table"]


@dataclass(frozen=True)
class FlagOption:
    """One server option of a release: its names, destination, kind (``switch``, ``int``, ``float``,
    ``str``, ``list``), choices (``None`` = any value, or unresolved) and where it is defined."""

    names: tuple[str, ...]
    dest: str
    kind: str
    choices: tuple | None
    choices_resolved: bool
    source: str


@dataclass(frozen=True)
class FlagCheck:
    """What a check said: ``ok``, the problems (argparse's wording where it has one), notes, the parsed
    values by destination, and ``checked_by`` (which parser or table answered)."""

    ok: bool
    checked_by: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    parsed: dict = field(default_factory=dict)


@functools.cache
def _tables() -> dict:
    text = resources.files("core").joinpath("data/sglang_flags.json").read_text(encoding="utf-8")
    return json.loads(text)["releases"]


@functools.cache
def flag_table(release: str | None = None) -> dict[str, FlagOption]:
    """Every option name (aliases included) of ``release`` mapped to its :class:`FlagOption`."""
    options = _tables()[normalise_release(release)]["options"]
    table: dict[str, FlagOption] = {}
    for raw in options:
        choices = None if raw["choices"] is None else tuple(raw["choices"])
        option = FlagOption(
            tuple(raw["names"]), raw["dest"], raw["kind"], choices, raw["choices_resolved"], raw["source"]
        )
        for name in option.names:
            table.setdefault(name, option)
    return table


def _lookup(name: str, table: dict[str, FlagOption]) -> tuple[FlagOption | None, str | None]:
    """The option ``name`` selects and a problem, like argparse's ``_parse_optional``."""
    if name in table:
        return table[name], None
    matches = sorted(n for n in table if n.startswith(name))
    if len(matches) == 1:
        return table[matches[0]], f"abbreviation: {name} is taken as {matches[0]} (spell it out)"
    if matches:
        return None, f"ambiguous option: {name} could match {', '.join(matches)}"
    return None, f"unrecognized arguments: {name}"


def _convert(option: FlagOption, name: str, value: str):
    """``(value, problem)``: the value converted to the option's type, or why argparse refuses it."""
    try:
        converted = {"int": int, "float": float}.get(option.kind, str)(value)
    except ValueError:
        return None, f"argument {name}: invalid {option.kind} value: {value!r}"
    if (
        option.choices is not None
        and converted not in option.choices
        and str(converted) not in option.choices
    ):
        shown = ", ".join(repr(c) for c in option.choices[:12])
        return None, f"argument {name}: invalid choice: {value!r} (choose from {shown})"
    return converted, None


def check_against_flag_table(args: list[str], release: str | None = None) -> FlagCheck:
    """Check server ``args`` (the argv after the entry point) against ``release``'s flag table."""
    name_of_release = normalise_release(release)
    table = flag_table(name_of_release)
    problems, notes, parsed = [], [], {}
    unresolved = set()
    i = 0
    while i < len(args):
        token = str(args[i])
        i += 1
        if not token.startswith("--"):
            problems.append(f"unrecognized arguments: {token}")
            continue
        name, _, inline = token.partition("=")
        option, problem = _lookup(name, table)
        if problem:
            (notes if option is not None else problems).append(problem)
        if option is None:
            while i < len(args) and not str(args[i]).startswith("--"):
                i += 1  # its values: argparse stops at the first error anyway
            continue
        if option.kind == "switch":
            parsed[option.dest] = True
            continue
        values = [inline] if inline else []
        while i < len(args) and not str(args[i]).startswith("--") and (not values or option.kind == "list"):
            values.append(str(args[i]))
            i += 1
        if not values:
            problems.append(f"argument {name}: expected one argument")
            continue
        converted = [_convert(option, name, v) for v in values]
        problems += [p for _, p in converted if p]
        parsed[option.dest] = [v for v, _ in converted] if option.kind == "list" else converted[0][0]
        if not option.choices_resolved:
            unresolved.add(name)
    if unresolved:
        notes.append(
            f"the table could not resolve the choices of {', '.join(sorted(unresolved))}: not checked"
        )
    checked_by = f"the flag table of SGLang {name_of_release} (extracted from its wheel)"
    return FlagCheck(not problems, checked_by, problems, notes, parsed)
