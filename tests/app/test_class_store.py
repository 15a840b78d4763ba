"""The class store in the app's frame: a resume link in the URL, work restored from it on the Live
benchmark and Decision pages, bad links, deleting, and a store that is down (banner, nothing lost)."""

from __future__ import annotations

import time

import pytest

from core.lessons import quiz
from core.lessons.saved_answers import quiz_item, wizard_item
from core.serving import class_work
from core.serving.result_shelf import ResultShelf
from core.store import learners
from core.store.class_store import ClassStore
from core.store.database import transaction
from core.store.saved_work import load_work, save_work
from pages._components import class_store
from tests.unit.serving.test_live_session import pair_of_runs

DECISION = "pages/decision_quiz.py"
LIVE = "pages/live_benchmark.py"


def _texts(at, kind: str) -> str:
    return " ".join(str(element.value) for element in getattr(at, kind))


@pytest.fixture
def saved_learner():
    """A learner with a run, a half-done quiz attempt and wizard inputs saved; yields (token, run, attempt)."""
    token = learners.new_token()
    key = learners.token_hash(token)
    bank = quiz.load_bank()
    attempt = quiz.draw_attempt(42, bank.questions, 3)
    first = bank.question(attempt.question_ids[0])
    attempt.record(first.id, "1", quiz.grade(first, 0 if first.kind == "choice" else "1"))
    run = ResultShelf().keep_run(pair_of_runs()[1])
    store = ClassStore()
    with transaction(store.engine(), write=True) as connection:
        save_work(connection, key, class_work.run_item(run))
        save_work(connection, key, quiz_item(attempt, bank))
        save_work(connection, key, wizard_item({"decision_output": 777}, {"decision_output": 300}))
    store.dispose()
    return token, run, attempt


def test_a_fresh_visit_gets_a_resume_token_in_the_url(app_test):
    at = app_test()
    assert not at.exception
    token = at.query_params["learner"]
    token = token[0] if isinstance(token, list) else token
    assert learners.check_token(token) == token
    assert not _texts(at, "error") and "Welcome back" not in _texts(at, "success")


def test_the_resume_link_brings_back_quiz_wizard_and_runs(app_test, saved_learner):
    token, run, attempt = saved_learner
    at = app_test(query_params={"learner": token})  # the home page: the notice shows once, first
    assert not at.exception
    assert "Welcome back: restored 1 run, 1 quiz attempt, 1 set of wizard inputs" in _texts(at, "success")
    at.switch_page(DECISION).run()
    assert at.session_state["quiz_attempt"] == attempt
    assert at.number_input(key="decision_output").value == 777
    at.switch_page(LIVE).run()
    assert not at.exception
    assert [r.id for r in at.session_state["live_runs"]] == [run.id]


def test_a_malformed_link_says_so_and_starts_fresh(app_test):
    at = app_test(query_params={"learner": "abc"})
    assert not at.exception
    assert "This resume link is not valid" in _texts(at, "error")
    assert at.query_params["learner"] != "abc"


def test_an_unknown_link_says_nothing_is_saved_under_it(app_test):
    at = app_test(query_params={"learner": learners.new_token()})
    assert "Nothing is saved under this resume link" in _texts(at, "info")


def test_delete_my_saved_work(app_test, saved_learner):
    token, _run, _attempt = saved_learner
    at = app_test(LIVE, query_params={"learner": token})
    assert at.session_state["live_runs"]
    at.checkbox(key="store_delete_confirm").check().run()
    next(b for b in at.button if b.label == "Delete my saved work").click().run()
    assert not at.exception
    assert "Deleted everything saved" in _texts(at, "success")
    assert "live_runs" not in at.session_state or not at.session_state["live_runs"]
    store = ClassStore()
    with transaction(store.engine()) as connection:
        assert load_work(connection, learners.token_hash(token)) is None
    store.dispose()


@pytest.fixture
def store_down(monkeypatch):
    """The app's class store points at a PostgreSQL port that refuses connections."""
    monkeypatch.setenv("SPECLAB_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/class")
    class_store.class_store.clear()
    class_store.writer.clear()
    yield
    monkeypatch.delenv("SPECLAB_DATABASE_URL")
    class_store.class_store.clear()
    class_store.writer.clear()


def test_a_store_that_is_down_keeps_the_session_working_and_says_what_is_unsaved(app_test, store_down):
    at = app_test(query_params={"learner": learners.new_token()})
    assert not at.exception
    assert "could not be loaded yet" in _texts(at, "warning")
    at.switch_page(DECISION).run()
    at.number_input(key="decision_output").set_value(500).run()  # the wizard saves its inputs
    assert not at.exception
    for _ in range(50):
        time.sleep(0.1)
        at.run()
        if "Not saved yet: wizard answers" in _texts(at, "warning"):
            break
    assert "Not saved yet: wizard answers" in _texts(at, "warning")
    assert at.number_input(key="decision_output").value == 500  # the page keeps working
