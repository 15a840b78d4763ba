"""Extract SGLang's server flag table from release wheels into core/data/sglang_flags.json.

Reads each wheel as a zip (nothing is installed or imported) and walks the source with ``ast``:

* old style (every release up to 0.5.17): ``parser.add_argument("--flag", ..., type=, choices=, action=,
  nargs=)`` calls in ``sglang/srt/server_args.py``;
* new style (0.5.17 on): fields of the ``msgspec.Struct`` namespaces in ``sglang/srt/arg_groups/fields/``
  and ``server_args.py`` annotated ``A[T, "help"]`` or ``A[T, Arg(...)]``; SGLang turns each into
  ``--field-name`` (or ``Arg(cli_name=...)``) plus ``Arg(aliases=...)``, skips ``Arg(no_cli=True)``, makes
  a ``bool`` a switch and a ``Literal[...]`` a choice (``sglang/srt/arg_groups/arg_utils.py``,
  ``add_cli_args_from_dataclass``).

``choices`` given by a name (``choices=ATTENTION_BACKEND_CHOICES``) are resolved through module-level
list/tuple/set literals anywhere in the wheel; a choice list the script cannot resolve is stored as
``null`` with ``"choices_resolved": false``, so the checker knows it cannot check the value.

Usage::

    pip download sglang==0.5.23 --no-deps -d /tmp/wheels   # and the other releases
    python scripts/extract_sglang_flags.py /tmp/wheels/sglang-*.whl

Flags are never typed by hand: rerun the script for a new release.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "core" / "data" / "sglang_flags.json"
FIELD_DIRS = ("sglang/srt/arg_groups/fields/",)
SERVER_ARGS = "sglang/srt/server_args.py"
SWITCH_ACTIONS = {"store_true", "store_false", "store_const", "count", "BooleanOptionalAction"}


def _version_of(wheel: Path) -> str:
    match = re.match(r"sglang-([0-9][^-]*)-", wheel.name)
    if not match:
        raise SystemExit(f"extract_sglang_flags: cannot read the release from {wheel.name!r}")
    return match.group(1)


def _constants(sources: dict[str, ast.Module]) -> dict[str, list]:
    """Module-level ``NAME = [literals]`` (and class-level ``ALL = [...]`` as ``Class.ALL``) in the wheel."""
    found: dict[str, list] = {}

    def record(name: str, value: ast.AST) -> None:
        try:
            literal = ast.literal_eval(value)
        except ValueError:
            return
        if isinstance(literal, list | tuple | set | frozenset):
            found.setdefault(name, sorted(literal, key=str))

    for tree in sources.values():
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign) and node.value is not None:
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    record(target.id, node.value)
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.Assign) and isinstance(item.targets[0], ast.Name):
                        record(f"{node.name}.{item.targets[0].id}", item.value)
    return found


def _resolve_choices(node: ast.AST | None, constants: dict[str, list]) -> tuple[list | None, bool]:
    """``(choices, resolved)`` for a ``choices=`` value: a literal, a known constant, or unknown."""
    if node is None:
        return None, True
    try:
        return sorted(ast.literal_eval(node), key=str), True
    except ValueError:
        pass
    name = ast.unparse(node)
    if name in constants:
        return constants[name], True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # ["auto"] + NAMES
        left, ok_left = _resolve_choices(node.left, constants)
        right, ok_right = _resolve_choices(node.right, constants)
        if ok_left and ok_right and left is not None and right is not None:
            return sorted({*left, *right}, key=str), True
    return None, False


def _kind(type_name: str | None, action: str | None, nargs: str | None) -> str:
    """What the option takes: ``switch`` (no value), ``list`` (one or more), or one value of a type."""
    if action in SWITCH_ACTIONS or (action and action.startswith("DeprecatedStoreTrue")):
        return "switch"
    if nargs in ("+", "*"):
        return "list"
    return {"int": "int", "float": "float"}.get(type_name or "", "str")


def _entry(names, dest, kind, choices, resolved, source):
    return {
        "names": names,
        "dest": dest,
        "kind": kind,
        "choices": choices,
        "choices_resolved": resolved,
        "source": source,
    }


def _add_argument_calls(tree: ast.Module, path: str, constants) -> list[dict]:
    """Every ``*.add_argument("--x", ...)`` call with literal option strings."""
    entries = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_argument"
        ):
            continue
        names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        names = [n for n in names if n.startswith("-")]
        if not names:
            continue
        kwargs = {k.arg: k.value for k in node.keywords if k.arg}
        action = ast.unparse(kwargs["action"]).strip("'\"") if "action" in kwargs else None
        type_name = ast.unparse(kwargs["type"]) if "type" in kwargs else None
        nargs = ast.unparse(kwargs["nargs"]).strip("'\"") if "nargs" in kwargs else None
        if action and action.startswith("Deprecated") and "nargs" in kwargs and nargs == "0":
            action = "store_true"
        choices, resolved = _resolve_choices(kwargs.get("choices"), constants)
        dest = (
            ast.literal_eval(kwargs["dest"]) if "dest" in kwargs else names[0].lstrip("-").replace("-", "_")
        )
        kind = _kind(type_name, action, nargs)
        entries.append(_entry(names, dest, kind, choices, resolved, f"{path}:{node.lineno}"))
    return entries


def _split_annotation(annotation: ast.AST) -> tuple[ast.AST, ast.AST | None] | None:
    """``(type, meta)`` of ``A[T, meta]`` / ``Annotated[T, meta]``; ``None`` for any other annotation."""
    if not (isinstance(annotation, ast.Subscript) and ast.unparse(annotation.value) in ("A", "Annotated")):
        return None
    parts = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
    return parts[0], (parts[1] if len(parts) > 1 else None)


def _unwrap_optional(tp: ast.AST) -> ast.AST:
    text = ast.unparse(tp)
    if isinstance(tp, ast.Subscript) and ast.unparse(tp.value) == "Optional":
        return tp.slice
    if isinstance(tp, ast.BinOp) and text.endswith("| None"):
        return tp.left
    return tp


def _literal_values(literal: ast.Subscript) -> tuple | None:
    try:
        values = ast.literal_eval(literal.slice)
    except ValueError:
        return None
    return values if isinstance(values, tuple) else (values,)


def _field_entry(stmt: ast.AnnAssign, path: str, constants) -> dict | None:
    """The CLI option SGLang makes of one annotated namespace field, or ``None`` when it makes none."""
    split = _split_annotation(stmt.annotation)
    if split is None or not isinstance(stmt.target, ast.Name):
        return None
    tp, meta = split
    arg = {}
    if isinstance(meta, ast.Call) and ast.unparse(meta.func) == "Arg":
        arg = {k.arg: k.value for k in meta.keywords if k.arg}
    elif not (isinstance(meta, ast.Constant) and isinstance(meta.value, str)):
        return None  # no Arg and no help string: SGLang registers it by hand (or not at all)
    if "no_cli" in arg and ast.literal_eval(arg["no_cli"]) is True:
        return None
    field = stmt.target.id
    cli_name = ast.literal_eval(arg["cli_name"]) if "cli_name" in arg else "--" + field.replace("_", "-")
    aliases = ast.literal_eval(arg["aliases"]) if "aliases" in arg else []
    inner = _unwrap_optional(tp)
    choices, resolved = _resolve_choices(arg.get("choices"), constants)
    literal = isinstance(inner, ast.Subscript) and ast.unparse(inner.value) == "Literal"
    if literal and choices is None and resolved:
        values = _literal_values(inner)
        choices, resolved = (sorted(values, key=str), True) if values is not None else (None, False)
    type_text = ast.unparse(inner)
    action = ast.unparse(arg["action"]) if "action" in arg else None
    nargs = ast.literal_eval(arg["nargs"]) if "nargs" in arg else None
    names = [cli_name, *aliases]
    if action is not None and "BooleanOptionalAction" in action:  # argparse adds --no-<flag>
        names += ["--no-" + name[2:] for name in names]
    if action is not None:
        kind = "switch" if any(k in action for k in ("StoreTrue", "store_true", "BooleanOptional")) else "str"
    elif nargs in ("+", "*"):
        kind = "list"
    elif "type_parser" in arg:
        kind = "str"  # a custom parser (e.g. human_readable_int takes "32k"): any value, checked by SGLang
    elif literal:
        values = _literal_values(inner) or ("",)
        kind = {int: "int", float: "float"}.get(type(values[0]), "str")
    elif type_text.startswith(("List[", "list[")) and "type_parser" not in arg:
        kind = "list"
    elif type_text == "bool":
        kind = "switch"
    else:
        kind = {"int": "int", "float": "float"}.get(type_text, "str")
    return _entry(names, field, kind, choices, resolved, f"{path}:{stmt.lineno}")


def _namespace_fields(tree: ast.Module, path: str, constants) -> list[dict]:
    entries = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign):
                    entry = _field_entry(stmt, path, constants)
                    if entry is not None:
                        entries.append(entry)
    return entries


def _parse_sources(wheel: Path) -> dict[str, ast.Module]:
    """Every parseable ``sglang/srt/**.py`` of the wheel (a file Python 3.11 cannot parse is skipped)."""
    sources = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith("sglang/srt/") and name.endswith(".py"):
                try:
                    sources[name] = ast.parse(archive.read(name).decode("utf-8-sig"), filename=name)
                except (SyntaxError, UnicodeDecodeError):
                    continue
    return sources


def extract(wheel: Path) -> dict:
    """The flag table of one wheel: ``{"release", "wheel", "options": [...]}``, options sorted by name."""
    sources = _parse_sources(wheel)
    constants = _constants(sources)
    entries = _add_argument_calls(sources[SERVER_ARGS], SERVER_ARGS, constants)
    for path, tree in sorted(sources.items()):
        if path == SERVER_ARGS or path.startswith(FIELD_DIRS):
            entries += _namespace_fields(tree, path, constants)
    seen: dict[str, dict] = {}
    for entry in entries:
        seen.setdefault(entry["names"][0], entry)
    return {
        "release": _version_of(wheel),
        "wheel": wheel.name,
        "options": sorted(seen.values(), key=lambda e: e["names"][0]),
    }


def _to_json(tables: list[dict]) -> str:
    """One option per line, so a new release reads as a readable diff."""
    about = (
        "SGLang server flags per release, extracted from the release wheels by "
        "scripts/extract_sglang_flags.py (never edited by hand)."
    )
    lines = ["{", f' "about": {json.dumps(about)},', ' "releases": {']
    for i, table in enumerate(tables):
        lines.append(
            f' {json.dumps(table["release"])}: {{"wheel": {json.dumps(table["wheel"])}, "options": ['
        )
        options = [f"  {json.dumps(option, separators=(',', ':'))}" for option in table["options"]]
        lines.append(",\n".join(options))
        lines.append(" ]}" + ("," if i + 1 < len(tables) else ""))
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


def _release_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheels", nargs="+", type=Path, help="sglang-*.whl files (pip download --no-deps)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"JSON to write (default {OUT})")
    args = parser.parse_args(argv)
    missing = [str(w) for w in args.wheels if not w.is_file()]
    if missing:
        print(f"extract_sglang_flags: error: no such wheel: {', '.join(missing)}", file=sys.stderr)
        return 2
    tables = sorted((extract(w) for w in args.wheels), key=lambda t: _release_key(t["release"]))
    args.out.write_text(_to_json(tables), encoding="utf-8")
    for table in tables:
        print(f"{table['release']}: {len(table['options'])} options", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
