"""Learners and their saved work: tokens, save/replace/load, display names, deletion."""

from __future__ import annotations

import pytest

from core.store import learners
from core.store.database import transaction
from core.store.saved_work import WorkItem, load_work, save_work

RUN_ROW = {
    "server_url": "http://gpu:30000",
    "model": "llama",
    "speculative": True,
    "simulated": False,
    "concurrency": 4,
    "category": "code",
    "requests_ok": 8,
    "accept_length": 3.1,
    "ttft_ms": 40.0,
    "tpot_ms": 5.0,
    "output_tok_s": 800.0,
}


def test_tokens_are_long_random_and_checked():
    first, second = learners.new_token(), learners.new_token()
    assert first != second and len(first) == 43
    assert learners.check_token(f"  {first} ") == first
    for bad in ("", "abc", first[:-1], first + "x", first[:-1] + "!"):
        with pytest.raises(learners.BadResumeLink):
            learners.check_token(bad)
    assert learners.token_hash(first) != first and len(learners.token_hash(first)) == 64


def test_save_replace_and_load(store):
    key = learners.token_hash(learners.new_token())
    with transaction(store.engine()) as connection:
        assert load_work(connection, key) is None  # unknown learner
    first = WorkItem("run", "r1", {"a": 1}, "run #1", run_rows=[RUN_ROW])
    with transaction(store.engine(), write=True) as connection:
        save_work(connection, key, first)
        save_work(connection, key, WorkItem("quiz", "q1", {"answers": 1}, "quiz"))
        save_work(connection, key, WorkItem("quiz", "q1", {"answers": 2}, "quiz"))  # replaces
    with transaction(store.engine()) as connection:
        items = load_work(connection, key)
        assert [(i.kind, i.item_key, i.payload) for i in items] == [
            ("run", "r1", {"a": 1}),
            ("quiz", "q1", {"answers": 2}),
        ]
        assert [i.kind for i in load_work(connection, key, "run")] == ["run"]


def test_work_items_are_validated():
    with pytest.raises(ValueError, match="unknown kind"):
        WorkItem("secret", "k", {}, "x")
    with pytest.raises(ValueError, match="row columns"):
        WorkItem("run", "k", {}, "x", run_rows=[{"server_url": "u"}])
    with pytest.raises(ValueError, match="item_key"):
        WorkItem("run", "", {}, "x")


def test_display_name_label_and_delete(store):
    token = learners.new_token()
    key = learners.token_hash(token)
    with transaction(store.engine(), write=True) as connection:
        stored = learners.set_display_name(connection, key, "  Ada \n  Lovelace " + "x" * 60)
        learner_id, name = learners.find_learner(connection, key)
        save_work(connection, key, WorkItem("run", "r1", {}, "run", run_rows=[RUN_ROW]))
    assert stored == name and name.startswith("Ada Lovelace") and len(name) == 40
    assert learners.label(learner_id, None) == f"learner {learner_id}"
    assert learners.label(learner_id, name) == name
    with transaction(store.engine(), write=True) as connection:
        assert learners.delete_learner(connection, key)
        assert not learners.delete_learner(connection, key)
        assert learners.find_learner(connection, key) is None
        from sqlalchemy import func, select

        from core.store.schema import run_results, saved_items

        for table in (run_results, saved_items):
            assert connection.execute(select(func.count()).select_from(table)).scalar_one() == 0
