"""Real-browser fixtures: ``streamlit run`` on a free port, driven by Playwright through Debian's chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.streamlit_app import running_app
from tests.conftest import OUTPUT_DIR

CHROMIUM = Path(os.environ.get("SPECLAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
SCREENSHOT_DIR = OUTPUT_DIR / "screenshots"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    browser_items = [item for item in items if Path(str(item.fspath)).is_relative_to(here)]
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
        if not CHROMIUM.exists():
            item.add_marker(
                pytest.mark.skip(
                    reason=f"browser test skipped: {CHROMIUM} not found "
                    "(install Debian's chromium; scripts/test.sh does so when run as root)"
                )
            )


def _first_session(base_url: str) -> None:
    """Run the home page once before any test, as a deployment's health probe would.

    Streamlit serves the very first session of a process with its legacy pages/-folder router (the
    switch to st.navigation happens during that run), so a deep link opened first shows a spurious
    "Page not found" dialog. Every later session is routed by app.py's st.navigation.
    """
    from benchmarks.streamlit_ws import StreamlitSession

    session = StreamlitSession(base_url, timeout_s=120)
    try:
        session.open("")
    finally:
        session.close()


@pytest.fixture(scope="session")
def streamlit_server():
    """Base URL of ``streamlit run app.py`` started for this test session."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    with running_app(log_path=OUTPUT_DIR / "streamlit-server.log") as (base_url, _pid):
        _first_session(base_url)
        yield base_url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright hook: launch Debian's chromium, never a downloaded browser."""
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


def wait_for_app(page, timeout_ms: int = 90_000) -> None:
    """Wait until Streamlit has rendered the page and its script has finished running."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout_ms)
    page.wait_for_selector("h1", timeout=timeout_ms)
    # The shared frame from app.py (sidebar legend) proves the navigation ran, not a bare page script.
    page.get_by_text("How to read the numbers").wait_for(timeout=timeout_ms)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)
    page.wait_for_timeout(300)  # let charts finish drawing


def assert_no_exception(page) -> None:
    errors = page.locator("[data-testid='stException']")
    assert errors.count() == 0, errors.first.inner_text()


def screenshot(page, name: str, max_height: int = 9000) -> Path:
    """Save a screenshot of the whole page under test-output/screenshots/NAME.png.

    Streamlit scrolls inside its own main block, so a plain full-page shot stops at the viewport: the
    viewport grows to the content's height for the shot and is restored afterwards.
    """
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    viewport = page.viewport_size or {"width": 1400, "height": 1000}
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], section, div, body')]"
        ".map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": viewport["width"], "height": min(int(height) + 100, max_height)})
    page.wait_for_timeout(800)  # charts redraw at the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(viewport)
    return path
