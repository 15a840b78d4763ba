"""Every page registered in the navigation runs without an exception (AppTest)."""

import re

import pytest

from tests.conftest import APP_PATH, page_files


def test_every_page_file_is_in_the_navigation():
    registered = set(re.findall(r'st\.Page\(\s*"([^"]+)"', APP_PATH.read_text()))
    missing = [page for page in page_files() if page not in registered]
    assert not missing, f"pages not registered in app.py: {missing}"
    assert len(page_files()) >= 6


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
