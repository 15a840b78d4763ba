"""A learner's session: new, resumed, malformed and unknown links; saving through the writer; deletion;
a database that is down or locked (nothing lost, clear messages)."""

from __future__ import annotations

import sqlite3
import time

import pytest

from core.store import learners
from core.store.class_store import ClassStore
from core.store.learner_session import start_session
from core.store.saved_work import WorkItem
from core.store.writer import BackgroundWriter


def _wait(predicate, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_new_session_saves_and_a_second_visit_restores(store):
    writer = BackgroundWriter(store)
    session = start_session(store, None)
    assert session.notice is None
    job = session.save(writer, WorkItem("run", "r1", {"n": 1}, "run #1"))
    session.save(writer, WorkItem("quiz", "q1", {"n": 2}, "quiz attempt"))
    assert writer.flush() and job.state == "saved"
    resumed = start_session(store, session.token)  # refresh, new tab, or app restart
    assert resumed.notice.level == "success" and "1 run" in resumed.notice.text
    assert [i.payload for i in resumed.take("run")] == [{"n": 1}]
    assert resumed.take("run") == []  # handed out once
    assert [i.item_key for i in resumed.take("quiz")] == ["q1"]


def test_malformed_and_unknown_links_get_clear_notices(store):
    bad = start_session(store, "not-a-token")
    assert bad.notice.level == "error" and "not valid" in bad.notice.text
    assert bad.token != "not-a-token"
    stranger = learners.new_token()
    unknown = start_session(store, stranger)
    assert unknown.notice.level == "info" and "Nothing is saved under this resume link" in unknown.notice.text
    assert unknown.token == stranger


def test_delete_all_removes_the_work_and_changes_the_link(store):
    writer = BackgroundWriter(store)
    session = start_session(store, None)
    session.save(writer, WorkItem("run", "r1", {}, "run #1"))
    assert writer.flush()
    old = session.token
    notice = session.delete_all(store)
    assert notice.level == "success" and session.token != old
    assert start_session(store, old).notice.level == "info"  # nothing left under the old link


def test_unreachable_postgresql_keeps_work_in_the_session_and_says_so(tmp_path):
    down = ClassStore("postgresql+psycopg://nobody@127.0.0.1:9/speclab", retry_s=0.05)
    session = start_session(down, learners.new_token())
    assert session.notice.level == "warning" and "could not be loaded yet" in session.notice.text
    assert session.restore_pending
    writer = BackgroundWriter(down, first_retry_s=0.05, max_retry_s=0.1)
    session.save(writer, WorkItem("run", "r1", {"n": 1}, "run #1"))
    assert _wait(lambda: session.unsaved_message() is not None)
    message = session.unsaved_message()
    assert "Not saved yet: run #1" in message and "unavailable" in message
    assert [job.description for job in session.pending.unsaved()] == ["run #1"]


def test_locked_sqlite_retries_until_saved(sqlite_store):
    path = sqlite_store.url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(path, timeout=0, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the database
    writer = BackgroundWriter(sqlite_store, first_retry_s=0.2, max_retry_s=0.5)
    session = start_session(sqlite_store, None)
    job = session.save(writer, WorkItem("run", "r1", {"n": 1}, "run #1"))
    assert _wait(lambda: job.state == "retrying", timeout_s=20)
    assert "locked" in session.unsaved_message()
    blocker.execute("ROLLBACK")
    blocker.close()
    assert _wait(lambda: job.state == "saved", timeout_s=20)
    session.refresh(sqlite_store, writer)
    assert session.unsaved_message() is None and session.pending.unsaved() == []
    assert start_session(sqlite_store, session.token).take("run")[0].payload == {"n": 1}


def test_a_full_writer_queue_refuses_and_the_session_resubmits(sqlite_store):
    writer = BackgroundWriter(sqlite_store, capacity=1)
    session = start_session(sqlite_store, None)
    jobs = [session.save(writer, WorkItem("run", f"r{i}", {"i": i}, f"run #{i}")) for i in range(30)]
    for _ in range(200):
        session.refresh(sqlite_store, writer)
        if all(job.state == "saved" for job in jobs):
            break
        time.sleep(0.02)
    assert all(job.state == "saved" for job in jobs)
    assert len(start_session(sqlite_store, session.token).take("run")) == 30


@pytest.mark.parametrize("payload", [{"x": float("nan")}])
def test_data_that_cannot_be_saved_is_refused_with_the_reason(sqlite_store, payload):
    writer = BackgroundWriter(sqlite_store)
    session = start_session(sqlite_store, None)
    job = session.save(writer, WorkItem("run", "r1", payload, "run #1"))
    assert writer.flush() and job.state == "refused"
    assert "Not saved: run #1" in session.unsaved_message()


def test_the_writer_survives_many_retries_and_unexpected_errors(sqlite_store):
    writer = BackgroundWriter(sqlite_store, first_retry_s=0.0001, max_retry_s=0.0001)
    calls = []

    def flaky(connection):
        calls.append(1)
        if len(calls) < 1500:
            raise RuntimeError("not yet")

    from core.store.writer import SaveJob

    job = SaveJob("flaky item", flaky)
    writer.submit(job)
    assert _wait(lambda: job.state == "saved", timeout_s=30)
    assert job.attempts >= 1500  # far past where 2 ** attempts would overflow a float
    follow_up = SaveJob("next item", lambda connection: None)
    writer.submit(follow_up)
    assert _wait(lambda: follow_up.state == "saved")


def test_the_saved_summary_counts_what_the_writer_saved_by_kind(sqlite_store):
    writer = BackgroundWriter(sqlite_store)
    session = start_session(sqlite_store, None)
    assert session.saved_summary() is None
    for i in range(2):
        session.save(writer, WorkItem("run", f"r{i}", {"i": i}, f"run #{i}"))
    session.save(writer, WorkItem("quiz", "attempt-1", {"q": 1}, "quiz answers"))
    assert writer.flush()
    session.refresh(sqlite_store, writer)  # the rerun after the saves: what the page confirms
    assert session.saved_summary() == "1 quiz attempt, 2 runs"
    session.delete_all(sqlite_store)
    assert session.saved_summary() is None
