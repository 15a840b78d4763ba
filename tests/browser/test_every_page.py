"""Open every page in a real browser, check for Streamlit exception boxes and save a screenshot of each."""

import pytest

from core.foundation import site_map
from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app

# The url path of every page (core.foundation.site_map, used by app.py); the default page (home) lives at "/".
URL_PATHS = list(site_map.URL_PATHS.values())


@pytest.mark.parametrize("url_path", URL_PATHS)
def test_page_renders_in_browser(page, streamlit_server, url_path):
    page.goto(f"{streamlit_server}/{url_path}")
    wait_for_app(page)
    assert_no_exception(page)
    assert page.get_by_text("Page not found").count() == 0
    path = screenshot(page, f"page-{url_path or 'home'}")
    assert path.stat().st_size > 10_000
