"""The How it works page in a real browser: picture, step-through clicks, timeline and screenshots."""

import re

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app

URL = "/how-it-works"


def _metric(page, label: str) -> str:
    block = page.locator("[data-testid='stMetric']").filter(has_text=label).first
    return block.locator("[data-testid='stMetricValue']").inner_text().strip()


def _settle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)
    page.wait_for_timeout(300)


def _open(page, server: str) -> None:
    page.goto(server + URL)
    wait_for_app(page)
    assert page.get_by_text("Page not found").count() == 0
    page.get_by_role("heading", name="How speculative decoding works").wait_for()


def _whole_page(page, name: str):
    _settle(page)
    return screenshot(page, name, max_height=16_000)


def test_page_renders_with_picture_and_charts(page, streamlit_server):
    _open(page, streamlit_server)
    assert_no_exception(page)
    picture = page.locator("[data-testid='stImage'] img").first
    picture.wait_for()
    assert page.evaluate("img => img.naturalWidth", picture.element_handle()) > 0
    # The timeline and the identity histogram are drawn (Vega renders into canvas or svg).
    page.locator("[data-testid='stVegaLiteChart']").nth(1).wait_for()
    assert page.locator("[data-testid='stVegaLiteChart']").count() >= 2
    assert _metric(page, "Target passes") == "0"
    path = _whole_page(page, "how-it-works-full")
    assert path.stat().st_size > 50_000


def test_click_through_a_round(page, streamlit_server):
    _open(page, streamlit_server)
    gamma = int(page.get_by_test_id("stSliderThumbValue").first.inner_text())
    for click in range(1, gamma + 1):
        page.get_by_role("button", name="Next step").click()
        _settle(page)
        assert _metric(page, "Draft passes") == str(click)
    page.get_by_role("button", name="Next step").click()
    _settle(page)
    assert _metric(page, "Target passes") == "1"
    page.get_by_text("ONE target pass").wait_for()
    screenshot(page, "how-it-works-verify-step")
    page.get_by_role("button", name="Next round").click()  # finishes the current round
    _settle(page)
    assert_no_exception(page)
    tokens = int(_metric(page, "New tokens"))
    assert 1 <= tokens <= gamma + 1
    page.get_by_text(re.compile(r"Round total: \d+ tokens? for one target pass")).wait_for()
    page.get_by_role("button", name="Next round").click()  # a whole second round
    _settle(page)
    assert _metric(page, "Target passes") == "2"
    assert _metric(page, "Draft passes") == str(2 * gamma)
    page.get_by_role("button", name="Next step").scroll_into_view_if_needed()
    _whole_page(page, "how-it-works-after-rounds")


def test_timeline_slowdown_scenario(page, streamlit_server):
    _open(page, streamlit_server)
    box = page.locator("[data-testid='stSelectbox']").filter(has_text="scenario")
    field = box.get_by_role("combobox")  # a searchable combobox: typing filters the options
    field.click()
    field.fill("Weak")
    page.get_by_role("option", name=re.compile("Weak, costly draft")).click()
    _settle(page)
    assert_no_exception(page)
    speedup = float(_metric(page, "Speedup (simulated)").rstrip("x"))
    assert speedup < 1
    page.get_by_text("Speculation loses here").wait_for()
    header = page.get_by_role("heading", name="3. Where the time goes")
    header.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    screenshot(page, "how-it-works-slow-timeline")
