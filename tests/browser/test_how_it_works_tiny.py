"""How it works in a real browser: the step-through on the tiny models (screenshot how-it-works-tiny)."""

from tests.browser.conftest import assert_no_exception, screenshot
from tests.browser.test_how_it_works import _open, _settle


def test_step_through_on_the_tiny_models(page, streamlit_server):
    _open(page, streamlit_server)
    page.get_by_role("heading", name="The same, on real models").scroll_into_view_if_needed()
    page.get_by_role("button", name="Run on the tiny models").click()
    _settle(page)
    page.get_by_text("Pass 1: the draft proposed").wait_for(timeout=60_000)
    page.get_by_text("target's top candidates (p)").first.wait_for(state="attached", timeout=10_000)
    assert_no_exception(page)
    page.get_by_role("heading", name="The same, on real models").scroll_into_view_if_needed()
    screenshot(page, "how-it-works-tiny", max_height=16_000)
