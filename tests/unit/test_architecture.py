"""The architecture map in docs/developing.md is true: layers, allowed imports, no cycles, short functions.

The table of allowed imports is read from the document itself, so the map and this test cannot drift
apart: a new package needs a row there, and an import across the rules fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOC = ROOT / "docs" / "developing.md"
CORE = ROOT / "core"
MAX_FUNCTION_LINES = 60

# Functions still longer than one screen, each to be split into named steps; the list only shrinks.
TOO_LONG_FOR_NOW: set[str] = set()


def allowed_imports(doc_text: str) -> dict[str, set[str] | None]:
    """Map each ``core.<package>`` row of the document's table to the packages it may import.

    ``None`` means "every core package" (the CLI).
    """
    rules: dict[str, set[str] | None] = {}
    for line in doc_text.splitlines():
        match = re.match(r"^\|\s*`(core\.[a-z_]+)`\s*\|[^|]*\|([^|]*)\|\s*$", line)
        if not match:
            continue
        package, deps = match.group(1), match.group(2)
        if "every" in deps:
            rules[package] = None
        else:
            rules[package] = set(re.findall(r"`(core\.[a-z_]+)`", deps))
    return rules


def imported_modules(source: str, module: str) -> list[tuple[str, int]]:
    """Every module a source imports (anywhere in it, functions included), with its line number."""
    found = []
    package_parts = module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package_parts[: len(package_parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.append((target, node.lineno))
            # ``from core import simulation`` imports the subpackage core.simulation.
            found += [(f"{target}.{alias.name}", node.lineno) for alias in node.names]
    return found


def top_package(module: str) -> str | None:
    """``core.serving.sglang_client`` -> ``core.serving``; ``core`` and its own modules -> None."""
    parts = module.split(".")
    if parts[0] != "core" or len(parts) < 2 or not (CORE / parts[1] / "__init__.py").exists():
        return None
    return ".".join(parts[:2])


def existing_core_packages() -> set[str]:
    return {f"core.{p.parent.name}" for p in CORE.glob("*/__init__.py")}


def import_violations(module: str, source: str, rules: dict[str, set[str] | None]) -> list[str]:
    """The imports of one core module that break the rules, as readable lines."""
    packages = existing_core_packages() | set(rules)
    own = ".".join(module.split(".")[:2]) if module.count(".") >= 1 else None
    own = own if own in packages else None
    allowed = rules.get(own, set()) if own else {"core.foundation", "core.cli"}
    problems = []
    for target, line in imported_modules(source, module):
        root = target.split(".")[0]
        if root in {"streamlit", "pages", "app"}:
            problems.append(f"{module}:{line} imports {target} (core never imports the UI)")
            continue
        dep = ".".join(target.split(".")[:2]) if target.startswith("core.") else None
        if dep is None or dep not in packages or dep == own:
            continue  # core itself (__version__), a name inside a module, or a sibling module
        if allowed is not None and dep not in allowed:
            problems.append(f"{module}:{line} imports {target}, but {own or 'core'} may not import {dep}")
    return problems


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def core_modules() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_document_has_a_row_for_every_core_package():
    rules = allowed_imports(DOC.read_text(encoding="utf-8"))
    assert rules, "docs/developing.md lost its table of allowed imports"
    missing = existing_core_packages() - set(rules) - {"core.data"}
    assert not missing, f"packages without a row in docs/developing.md: {sorted(missing)}"
    gone = set(rules) - existing_core_packages()
    assert not gone, f"rows in docs/developing.md for packages that do not exist: {sorted(gone)}"


def test_the_allowed_imports_form_layers_without_cycles():
    rules = allowed_imports(DOC.read_text(encoding="utf-8"))
    graph = {pkg: deps if deps is not None else set(rules) - {pkg} for pkg, deps in rules.items()}
    assert_acyclic(graph)


def assert_acyclic(graph: dict[str, set[str]]) -> None:
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == "done":
            return
        if state.get(node) == "open":
            raise AssertionError("import cycle: " + " -> ".join([*path, node]))
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            visit(dep, [*path, node])
        state[node] = "done"

    for node in sorted(graph):
        visit(node, [])


def test_core_modules_import_only_what_the_map_allows():
    rules = allowed_imports(DOC.read_text(encoding="utf-8"))
    problems = []
    for path in core_modules():
        problems += import_violations(module_name(path), path.read_text(encoding="utf-8"), rules)
    assert not problems, "\n".join(problems)


def test_no_import_cycle_between_core_modules_at_import_time():
    graph: dict[str, set[str]] = {}
    names = {module_name(p) for p in core_modules()}
    for path in core_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        deps = set()
        for node in tree.body:  # only top-level imports run at import time
            if isinstance(node, ast.ImportFrom | ast.Import):
                for target, _ in imported_modules(ast.unparse(node), module_name(path)):
                    # A package's __init__ always runs before its modules: not a cycle.
                    ancestor = module_name(path).startswith(f"{target}.")
                    if target in names and target != module_name(path) and not ancestor:
                        deps.add(target)
        graph[module_name(path)] = deps - {"core"}
    assert_acyclic(graph)


def test_pages_and_app_stay_on_top():
    problems = []
    for path in sorted((ROOT / "pages").rglob("*.py")) + [ROOT / "app.py"]:
        for target, line in imported_modules(path.read_text(encoding="utf-8"), module_name(path)):
            where = f"{path.relative_to(ROOT)}:{line}"
            if target.startswith("core.cli"):
                problems.append(f"{where} imports {target} (pages call core, not the CLI)")
            if target.startswith("pages.") and not target.split(".")[1].startswith("_"):
                problems.append(f"{where} imports the page {target} (pages share code through pages/_*)")
            if path.name == "app.py" and top_package(target) not in (None, "core.foundation"):
                problems.append(f"{where} imports {target} (app.py is navigation and frame only)")
    assert not problems, "\n".join(problems)


def long_functions(source: str) -> list[tuple[str, int, int]]:
    """(name, first line, length) of every function longer than the limit that is not a Numba kernel."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            kernel = any("jit" in ast.unparse(d) for d in node.decorator_list)
            if length > MAX_FUNCTION_LINES and not kernel:
                found.append((node.name, node.lineno, length))
    return found


def test_no_function_is_longer_than_a_screen():
    problems = []
    for path in [*core_modules(), *sorted((ROOT / "pages").rglob("*.py")), ROOT / "app.py"]:
        rel = path.relative_to(ROOT).as_posix()
        for name, line, length in long_functions(path.read_text(encoding="utf-8")):
            if f"{rel}::{name}" not in TOO_LONG_FOR_NOW:
                problems.append(f"{rel}:{line} {name}() is {length} lines (limit {MAX_FUNCTION_LINES})")
    assert not problems, "\n".join(problems)


def test_the_exemption_list_names_only_functions_that_are_still_long():
    still_long = set()
    for path in [*core_modules(), *sorted((ROOT / "pages").rglob("*.py")), ROOT / "app.py"]:
        rel = path.relative_to(ROOT).as_posix()
        still_long |= {f"{rel}::{name}" for name, _, _ in long_functions(path.read_text(encoding="utf-8"))}
    assert still_long >= TOO_LONG_FOR_NOW, f"no longer long, remove: {sorted(TOO_LONG_FOR_NOW - still_long)}"


# The checks themselves catch what they should (so the tests above can fail).
RULES = {"core.foundation": set(), "core.simulation": {"core.foundation"}, "core.cli": None}


@pytest.mark.parametrize(
    "module, source, expected",
    [
        ("core.foundation.x", "from core.simulation import montecarlo\n", "may not import core.simulation"),
        ("core.simulation.x", "def f():\n    from core.cli import main\n", "may not import core.cli"),
        ("core.simulation.x", "import streamlit as st\n", "never imports the UI"),
        ("core.simulation.x", "from core import cli\n", "may not import core.cli"),
    ],
)
def test_import_check_catches_violations(module, source, expected, monkeypatch):
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "existing_core_packages", lambda: set(RULES))
    problems = import_violations(module, source, RULES)
    assert problems and expected in problems[0]


def test_import_check_accepts_allowed_imports():
    assert import_violations("core.simulation.x", "from core.foundation import frozen\n", RULES) == []
    assert import_violations("core.cli.x", "from core.simulation import tree\n", RULES) == []


def test_cycle_check_and_length_check_catch_what_they_should():
    with pytest.raises(AssertionError, match="cycle"):
        assert_acyclic({"a": {"b"}, "b": {"a"}})
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(f"def f():\n{body}\n")[0][0] == "f"
    assert long_functions(f"@njit(cache=True)\ndef k():\n{body}\n") == []


def test_the_map_is_parsed_from_the_document():
    rules = allowed_imports(DOC.read_text(encoding="utf-8"))
    assert rules["core.foundation"] == set()
    assert rules["core.cli"] is None
    assert "core.simulation" in rules["core.serving"]
