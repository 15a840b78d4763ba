"""Fixtures shared by every test level."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP_PATH = ROOT / "app.py"
PAGES_DIR = ROOT / "pages"
OUTPUT_DIR = ROOT / "test-output"

# The class store of every app the tests start (AppTest and the browser tests' servers) lives in a
# throwaway folder, never in the repository's data/.
os.environ.setdefault("SPECLAB_DATA_DIR", tempfile.mkdtemp(prefix="speclab-test-data-"))

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# AppTest's default 3 s is shorter than a cold Numba compile.
APPTEST_TIMEOUT_S = 120


def strings_in(value):
    """Every string inside nested dicts, lists and tuples (the texts of a loaded data file)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict | list | tuple):
        for item in value.values() if isinstance(value, dict) else value:
            yield from strings_in(item)


def page_files() -> list[str]:
    """Every page script in pages/ (helpers start with an underscore), as paths relative to the root."""
    return sorted(f"pages/{p.name}" for p in PAGES_DIR.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture
def app_test():
    """Factory for an AppTest of the whole app opened on one page: ``app_test("pages/simulator.py")``."""
    from streamlit.testing.v1 import AppTest

    def make(page: str | None = None, *, query_params: dict | None = None, secrets: dict | None = None):
        at = AppTest.from_file(str(APP_PATH), default_timeout=APPTEST_TIMEOUT_S)
        for key, value in (secrets or {}).items():
            at.secrets[key] = value
        for key, value in (query_params or {}).items():
            at.query_params[key] = value
        at.run()
        if page is not None:
            at.switch_page(page)
            at.run()
        return at

    return make


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR
