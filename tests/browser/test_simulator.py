"""Simulator page in a real browser: every section renders, charts draw, the URL follows the widgets."""

import pytest

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app

SECTIONS = ["basics", "landscape", "presets", "beyond", "cost"]


def open_simulator(page, base_url: str, query: str = "") -> None:
    page.goto(f"{base_url}/speedup-simulator{query}")
    wait_for_app(page)


@pytest.mark.parametrize("section", SECTIONS)
def test_section_renders(page, streamlit_server, section):
    open_simulator(page, streamlit_server, f"?section={section}")
    assert_no_exception(page)
    charts = page.locator("[data-testid='stVegaLiteChart']")
    charts.first.wait_for(timeout=30_000)
    assert charts.count() >= 1
    assert f"section={section}" in page.url
    path = screenshot(page, f"simulator-{section}")
    assert path.stat().st_size > 20_000


def test_preset_button_fills_sliders_and_url(page, streamlit_server):
    open_simulator(page, streamlit_server, "?section=presets")
    page.get_by_role("button", name="Use this setup").first.click()
    page.get_by_text("Speedup (published, measured)").wait_for(timeout=30_000)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']")
    assert_no_exception(page)
    page.wait_for_function("() => window.location.search.includes('preset=')", timeout=10_000)
    assert "gamma=7" in page.url
    screenshot(page, "simulator-presets-loaded")


def test_bad_link_warns_in_the_browser(page, streamlit_server):
    open_simulator(page, streamlit_server, "?alpha=7&gamma=x")
    assert_no_exception(page)
    page.get_by_text("Ignored alpha=7 from the link", exact=False).first.wait_for(timeout=10_000)
    page.wait_for_function("() => window.location.search.includes('alpha=0.8')", timeout=10_000)


def test_share_box_shows_the_link(page, streamlit_server):
    open_simulator(page, streamlit_server, "?section=landscape&alpha=0.7&gamma=6&cost=0.1")
    page.get_by_text("Share this setup").click()
    code = page.locator("[data-testid='stCode']").last
    code.wait_for(timeout=10_000)
    link = code.inner_text()
    assert (
        "/speedup-simulator?" in link
        and "alpha=0.7" in link
        and "gamma=6" in link
        and "section=landscape" in link
    )
    code.scroll_into_view_if_needed()
    screenshot(page, "simulator-share")
