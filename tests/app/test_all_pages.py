"""Every page registered in the navigation runs without an exception (AppTest)."""

import re

import pytest

from core.foundation import site_map
from tests.conftest import APP_PATH, page_files


def test_every_page_file_is_in_the_navigation():
    registered = set(re.findall(r'_page\(\s*"([^"]+)"', APP_PATH.read_text()))
    assert registered == set(site_map.URL_PATHS), "app.py and core.foundation.site_map list different pages"
    missing = [page for page in page_files() if page not in registered]
    assert not missing, f"pages not registered in app.py: {missing}"
    assert len(page_files()) >= 6


def test_url_paths_never_match_page_file_names():
    """Streamlit's legacy router (first session of a process) would run a matching page file alone."""
    paths = [p for p in site_map.URL_PATHS.values() if p]
    assert len(set(paths)) == len(paths)
    assert not set(paths) & site_map.legacy_router_names()


@pytest.mark.parametrize("page", page_files())
def test_page_runs_without_exception(app_test, page):
    at = app_test(page)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"{page} shows no title"


def test_home_links_to_every_part(app_test):
    at = app_test()
    assert not at.exception
    assert at.title[0].value == "Speculative Decoding Lab"
    # page_link elements are not exposed by AppTest; the links' labels live in the delta tree's markdown.
    text = " ".join(str(node.proto) for node in at.get("page_link"))
    for part in ("How it works", "Simulator", "Live benchmark", "Decision", "Adaptive"):
        assert part in text, f"home page does not link to {part}"
