"""The instructor page: locked outside a hosted class and without a password; with the password it shows
the class's pooled results, prompt board, quiz scores and queue, with downloads. Never a learner's key."""

from __future__ import annotations

import pytest

from core.store import learners
from core.store.class_store import ClassStore
from core.store.database import transaction
from core.store.saved_work import WorkItem, save_work

PAGE = "pages/instructor.py"
HOSTED = {"sglang": {"allowed_base_urls": ["http://gpu.example:30000"]}}


def _texts(at, kind: str) -> str:
    return " ".join(str(element.value) for element in getattr(at, kind))


def _open_button(at):
    return next(button for button in at.button if button.label == "Open")


def test_workshop_mode_explains_it_is_for_a_hosted_class(app_test):
    at = app_test(PAGE)
    assert not at.exception
    assert "belongs to a hosted classroom" in _texts(at, "info")


def test_without_a_password_the_page_says_how_to_set_one(app_test):
    at = app_test(PAGE, secrets=HOSTED)
    assert not at.exception
    warning = _texts(at, "warning")
    assert "No instructor password is set" in warning and "[instructor]" in warning
    assert not [t for t in at.text_input if t.key == "instructor_password"]  # no login box to guess at


@pytest.fixture
def seeded_class():
    """Two learners' work in the app's own store (the tests' SPECLAB_DATA_DIR)."""
    store = ClassStore()
    keys = [learners.token_hash(learners.new_token()) for _ in range(2)]
    row = {
        "server_url": "http://gpu.example:30000",
        "model": "llama",
        "speculative": True,
        "simulated": False,
        "concurrency": 4,
        "category": "instructor-test-category",
        "requests_ok": 8,
        "accept_length": 3.25,
        "ttft_ms": 40.0,
        "tpot_ms": 5.0,
        "output_tok_s": 800.0,
    }
    quiz_rows = [{"question_id": "q1", "topic": "instructor-test-topic", "correct": True}]
    with transaction(store.engine(), write=True) as connection:
        learners.set_display_name(connection, keys[0], "Ada")
        save_work(connection, keys[0], WorkItem("run", "run-a", {}, "run", run_rows=[row]))
        save_work(connection, keys[1], WorkItem("quiz", "quiz-b", {}, "quiz", quiz_rows=quiz_rows))
    store.dispose()
    return keys


def test_the_password_opens_the_class_view(app_test, seeded_class):
    secrets = {**HOSTED, "instructor": {"password": "correct horse"}}
    at = app_test(PAGE, secrets=secrets)
    at.text_input(key="instructor_password").input("wrong")
    _open_button(at).click().run()
    assert "not the instructor password" in _texts(at, "error")
    assert not at.subheader  # still locked
    at.text_input(key="instructor_password").input("correct horse")
    _open_button(at).click().run()
    assert not at.exception
    headers = [h.value for h in at.subheader]
    assert headers[:4] == [
        "1. Results per server and category",
        "2. Own prompts ranked by accept length (Exercise 2)",
        "3. Quiz: share right per topic",
        "4. The queue now",
    ]
    tables = [df.value for df in at.dataframe]
    results = next(t for t in tables if "accept length" in t.columns and "category" in t.columns)
    mine = results[results["category"] == "instructor-test-category"].iloc[0]
    assert mine["accept length"] == pytest.approx(3.25) and mine["learners"] == 1
    quiz = next(t for t in tables if "topic" in t.columns)
    assert "instructor-test-topic" in set(quiz["topic"])
    everything = " ".join(t.to_csv() for t in tables)
    for key in seeded_class:
        assert key not in everything
    keys = {b.key for b in at.get("download_button")}
    assert {"instructor_json", "instructor_csv_results", "instructor_csv_quiz"} <= keys
