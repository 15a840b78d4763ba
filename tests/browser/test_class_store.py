"""The class store in a real browser: work survives a refresh and opens in a new tab from the resume
link; the instructor page of a hosted class opens with its password. Screenshots of both."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from benchmarks.streamlit_app import running_app
from tests.browser.conftest import _first_session, assert_no_exception, screenshot, wait_for_app
from tests.conftest import OUTPUT_DIR

BATCH = "Concurrent requests (batch size)"


def _idle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["learner"][0]


def test_refresh_and_resume_link_bring_the_work_back(page, streamlit_server):
    page.goto(f"{streamlit_server}/decision-quiz")
    wait_for_app(page)
    page.wait_for_url(re.compile(r"learner="), timeout=30_000)
    token = _token(page.url)
    batch = page.get_by_role("spinbutton", name=BATCH)
    batch.fill("48")
    batch.press("Enter")
    _idle(page)
    page.wait_for_timeout(1500)  # the background writer saves within milliseconds; leave it room

    page.reload()
    wait_for_app(page)
    assert_no_exception(page)
    expect(page.get_by_text("Welcome back: restored 1 set of wizard inputs")).to_be_visible()
    expect(page.get_by_role("spinbutton", name=BATCH)).to_have_value("48")
    assert _token(page.url) == token
    screenshot(page, "class-store-after-refresh")

    other_tab = page.context.new_page()
    other_tab.goto(f"{streamlit_server}/decision-quiz?learner={token}")
    wait_for_app(other_tab)
    expect(other_tab.get_by_role("spinbutton", name=BATCH)).to_have_value("48")
    other_tab.get_by_text("Your saved work").click()
    _idle(other_tab)
    expect(other_tab.get_by_text(f"?learner={token}")).to_be_visible()
    screenshot(other_tab, "class-store-resume-link-new-tab")
    other_tab.close()


def test_a_bad_resume_link_gets_a_clear_message(page, streamlit_server):
    page.goto(f"{streamlit_server}/decision-quiz?learner=cut-off")
    wait_for_app(page)
    expect(page.get_by_text("This resume link is not valid")).to_be_visible()
    assert _token(page.url) != "cut-off"


def _seed_class(url: str) -> None:
    """Two learners' measurements and quiz answers, so the instructor's charts have something to show.
    Illustrative rows written by the test, not measurements."""
    from core.store import learners
    from core.store.class_store import ClassStore
    from core.store.database import transaction
    from core.store.saved_work import WorkItem, save_work

    (Path(url.removeprefix("sqlite:///")).parent).mkdir(parents=True, exist_ok=True)
    store = ClassStore(url)
    keys = [learners.token_hash(learners.new_token()) for _ in range(2)]

    def row(server, speculative, category, tpot, accept):
        return {
            "server_url": server,
            "model": "Llama-3.1-8B-Instruct",
            "speculative": speculative,
            "simulated": False,
            "concurrency": 4,
            "category": category,
            "requests_ok": 8,
            "accept_length": accept,
            "ttft_ms": 45.0,
            "tpot_ms": tpot,
            "output_tok_s": 4000.0 / tpot,
        }

    with transaction(store.engine(), write=True) as c:
        learners.set_display_name(c, keys[0], "Ada")
        for i, key in enumerate(keys):
            rows = [
                row("http://base:30000", False, "code", 10.0 + i, None),
                row("http://base:30000", False, "creative", 10.0 + i, None),
                row("http://spec:30000", True, "code", 4.0 + i, 3.4 - i * 0.2),
                row("http://spec:30000", True, "creative", 7.0 + i, 1.9 - i * 0.1),
            ]
            save_work(c, key, WorkItem("run", f"r{i}", {}, "run", run_rows=rows))
            prompt = {
                "server_url": "http://spec:30000",
                "prompt": f"def add_{i}(a, b):",
                "category": "own",
                "accept_length": 3.0 + i * 0.4,
                "completion_tokens": 64,
                "simulated": False,
            }
            save_work(c, key, WorkItem("prompt", f"p{i}", {}, "prompt", prompt_rows=[prompt]))
            answers = [
                {"question_id": "q1", "topic": "theory", "correct": i == 0},
                {"question_id": "q2", "topic": "serving", "correct": True},
            ]
            save_work(c, key, WorkItem("quiz", f"a{i}", {}, "quiz", quiz_rows=answers))
    store.dispose()


@pytest.fixture(scope="module")
def hosted_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hosted")
    secrets = folder / "secrets.toml"
    secrets.write_text('[instructor]\npassword = "browser test pass"\n')
    env = {
        "SPECLAB_ALLOWED_BASE_URLS": "http://127.0.0.1:9",
        "SPECLAB_DATA_DIR": str(folder / "data"),
        "STREAMLIT_SECRETS_FILES": str(secrets),
    }
    _seed_class(f"sqlite:///{folder / 'data' / 'speclab.sqlite3'}")
    with running_app(env=env, log_path=OUTPUT_DIR / "streamlit-hosted.log") as (base_url, _pid):
        _first_session(base_url)
        yield base_url


def test_instructor_page_opens_with_the_password(page, hosted_server):
    page.goto(f"{hosted_server}/class-instructor")
    wait_for_app(page)
    box = page.get_by_label("Instructor password")
    box.fill("wrong")
    page.get_by_role("button", name="Open").click()
    _idle(page)
    expect(page.get_by_text("That is not the instructor password.")).to_be_visible()
    page.get_by_label("Instructor password").fill("browser test pass")
    page.get_by_role("button", name="Open").click()
    _idle(page)
    assert_no_exception(page)
    expect(page.get_by_text("1. Results per server and category")).to_be_visible()
    expect(page.get_by_text("4. The queue now")).to_be_visible()
    screenshot(page, "instructor-page")
