"""Adaptive speculation in a real browser: default run, the high-load quick start and the load sweep."""

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app

CHART = "[data-testid='stVegaLiteChart']"
METRIC = "[data-testid='stMetric']"


def full_screenshot(page, name: str) -> None:
    path = screenshot(page, name)
    assert path.stat().st_size > 50_000


def test_adaptive_page_renders_runs_and_switches_to_high_load(page, streamlit_server):
    page.goto(f"{streamlit_server}/adaptive-speculation")
    wait_for_app(page)
    # The first run compiles the stream kernel (once per server): wait for its results, then for the end.
    page.locator(METRIC).nth(3).wait_for(timeout=90_000)
    wait_for_app(page)
    assert_no_exception(page)
    assert page.locator(METRIC).count() == 4
    # Four time-series charts (acceptance, gamma, on/off, goodput) load lazily: wait for the fourth.
    page.locator(CHART).nth(3).wait_for(timeout=60_000)
    assert page.locator(CHART).count() == 4
    full_screenshot(page, "adaptive-low-load")

    page.get_by_role("button", name="High load: 512 requests, short contexts").click()
    page.wait_for_timeout(500)
    wait_for_app(page)
    assert_no_exception(page)
    page.get_by_text("no static γ beats plain decoding").wait_for()
    full_screenshot(page, "adaptive-high-load")

    page.get_by_role("button", name="Run the load sweep").click()
    page.wait_for_timeout(500)
    wait_for_app(page)
    assert_no_exception(page)
    page.get_by_text("The dashed black line is plain decoding").wait_for(timeout=90_000)
    page.locator(CHART).nth(4).wait_for(timeout=60_000)
    full_screenshot(page, "adaptive-load-sweep")
