"""Citations check: every published number a text states must be a value of an entry it cites.

The registry is ``core/data/published.toml`` (:mod:`core.references.published`): each entry holds numbers
with their source. A displayed text (a quiz explanation, a wizard reason, a page note) cites entries by
id (``sources`` / ``cites`` fields in the data files, ``Reason.cites`` in the wizard). Numbers the lab
computed itself are declared as calls of the closed forms (``computed = ["walltime_speedup(alpha=0.8,
gamma=8, cost_ratio=0.05)"]``), which :func:`evaluate` re-runs.

Which numbers are checked (:func:`checked_numbers`): every decimal (``1.38``, ``0.93x``), and whole numbers
with a unit that marks a measured quantity (``2 GB``, ``90%``, ``3x``). Not checked: other whole numbers
(batch sizes, gamma, ``3/1/4``), versions (``0.5.12``, ``v0.4.4``), names (``Llama-3.1-8B``, ``EAGLE-3``),
arXiv ids and issue numbers. A number matches a value when the value rounds to it at the decimals shown
(a percentage may also be the value times 100).
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.references.published import Reference, load_references
from core.simulation import closed_form

__all__ = ["Number", "checked_numbers", "reference_values", "evaluate", "matches", "problems"]

_NUMBER = re.compile(r"\d+(?:\.\d+)*")
_UNIT_AFTER = re.compile(r"(?:\s?(GB|%)|(x)\b)")
_RANGE_TO_UNIT = re.compile(r"-\d+(?:\.\d+)?(?:\s?(GB|%)|(x)\b)")
_LABEL_BEFORE = re.compile(r"(Theorem|Corollary|[Ss]ection|Table|Appendix|Equation|Definition|§)\s?$")

_FUNCTIONS = {
    "expected_tokens_per_pass": closed_form.expected_tokens_per_pass,
    "walltime_speedup": closed_form.walltime_speedup,
    "speedup_lower_bound": closed_form.speedup_lower_bound,
    "extra_compute_factor": closed_form.extra_compute_factor,
    "alpha_from_accept_length": closed_form.alpha_from_accept_length,
}
_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


@dataclass(frozen=True)
class Number:
    """One checked number: its ``text`` as shown, ``value``, ``decimals`` shown and whether it is a %."""

    text: str
    value: float
    decimals: int
    percent: bool


def _skipped(text: str, start: int, end: int) -> bool:
    token = text[start:end]
    before = text[max(0, start - 12) : start]
    after = text[end : end + 1]
    if token.count(".") > 1 or re.fullmatch(r"\d{4}\.\d{4,5}", token):
        return True  # a version (0.5.12) or an arXiv id (2503.01840)
    if before[-1:].isalpha() or before[-1:] in ("_", "#", "v", "/") or re.search(r"[A-Za-z]-$", before):
        return True  # part of a name (Llama-3.1, EAGLE-3, top1), an issue (#123) or a fraction (3/1/4)
    if _LABEL_BEFORE.search(before):
        return True  # a theorem, table or section number
    return after.isalpha() and after != "x" or after == "/"  # a size (8B, 128k) or 3/1/4


def checked_numbers(text: str) -> list[Number]:
    """The numbers of ``text`` that must come from a source or a declared computation (module doc)."""
    found = []
    for match in _NUMBER.finditer(text):
        start, end = match.span()
        if _skipped(text, start, end):
            continue
        token = match.group()
        tail = text[end : end + 12]
        unit = _UNIT_AFTER.match(tail) or _RANGE_TO_UNIT.match(tail)
        if "." not in token and unit is None:
            continue
        if unit is not None and unit.group(2) == "x" and re.match(r"x [A-Z]", tail):
            continue  # a device count (4x H100), not a speedup
        decimals = len(token.split(".")[1]) if "." in token else 0
        found.append(Number(token, float(token), decimals, bool(unit and unit.group(1) == "%")))
    return found


def _flatten(value) -> Iterable[float]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _flatten(item)
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _flatten(item)
    else:
        yield float(value)


def reference_values(ids: Iterable[str], references: Mapping[str, Reference] | None = None) -> list[float]:
    """Every number of the cited entries; ``KeyError`` names an unknown id."""
    table = load_references() if references is None else references
    values: list[float] = []
    for ref_id in ids:
        if ref_id not in table:
            raise KeyError(f"unknown citation {ref_id!r}")
        values.extend(_flatten(dict(table[ref_id].metrics)))
    return values


def _eval(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_eval(node.left), _eval(node.right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        if node.args:
            raise ValueError("computed calls take keyword arguments only")
        kwargs = {kw.arg: _eval(kw.value) for kw in node.keywords}
        if "gamma" in kwargs:
            kwargs["gamma"] = int(kwargs["gamma"])
        return float(_FUNCTIONS[node.func.id](**kwargs))
    raise ValueError(f"not an allowed computation: {ast.dump(node)[:80]}")


def evaluate(call: str) -> float:
    """Re-run a declared lab computation such as ``walltime_speedup(alpha=0.8, gamma=8, cost_ratio=0.05)``
    (closed forms and + - * / only); ``ValueError`` for anything else."""
    return _eval(ast.parse(call, mode="eval").body)


def matches(number: Number, value: float) -> bool:
    """Whether ``value`` shown at ``number.decimals`` decimals reads as ``number`` (or x100 for a %)."""
    half = 0.5 * 10.0 ** (-number.decimals) + 1e-9
    candidates = (value, value * 100.0) if number.percent else (value,)
    return any(math.isfinite(v) and abs(v - number.value) <= half for v in candidates)


def problems(
    where: str,
    text: str,
    cites: Iterable[str] = (),
    computed: Iterable[str] = (),
    extra_values: Iterable[float] = (),
    references: Mapping[str, Reference] | None = None,
) -> list[str]:
    """What is wrong with one text's numbers: an unknown citation, or a checked number that no cited
    entry, declared computation or ``extra_values`` (numbers the caller computed, e.g. the learner's
    inputs) holds. An empty list means every number is accounted for."""
    found: list[str] = []
    try:
        values = reference_values(cites, references)
    except KeyError as error:
        return [f"{where}: {error.args[0]}"]
    for call in computed:
        try:
            values.append(evaluate(call))
        except (ValueError, TypeError, SyntaxError) as error:
            found.append(f"{where}: computed {call!r} does not run: {error}")
    values.extend(float(v) for v in extra_values)
    for call in computed:  # the inputs of a computation may be shown with it
        values.extend(float(v) for v in re.findall(r"=\s*(\d+(?:\.\d+)?)", call))
    for number in checked_numbers(text):
        if not any(matches(number, v) for v in values):
            hint = "cite an entry holding it" if not list(cites) else f"not a value of {', '.join(cites)}"
            found.append(f"{where}: {number.text!r} ({hint}, or declare it computed)")
    return found
