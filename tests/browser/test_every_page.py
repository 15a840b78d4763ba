"""Open every page in a real browser, check for Streamlit exception boxes and save a screenshot of each."""

import re

import pytest

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.conftest import APP_PATH

# The url_path of every st.Page registered in app.py; the default page (home) lives at "/".
URL_PATHS = ["", *re.findall(r'url_path="([^"]+)"', APP_PATH.read_text())]


def test_every_registered_page_has_a_url():
    assert len(URL_PATHS) == APP_PATH.read_text().count("st.Page(")


@pytest.mark.parametrize("url_path", URL_PATHS)
def test_page_renders_in_browser(page, streamlit_server, url_path):
    page.goto(f"{streamlit_server}/{url_path}")
    wait_for_app(page)
    assert_no_exception(page)
    path = screenshot(page, f"page-{url_path or 'home'}")
    assert path.stat().st_size > 10_000
