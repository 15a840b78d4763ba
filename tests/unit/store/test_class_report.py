"""The instructor's pooled tables, computed from rows with known values."""

from __future__ import annotations

import json

import pytest

from core.store import learners
from core.store.class_report import class_export, prompt_board, quiz_table, results_table
from core.store.database import transaction
from core.store.saved_work import WorkItem, save_work
from core.store.shared_queue import SharedQueue


def _row(server, speculative, tpot, accept=None, category="code", concurrency=4):
    return {
        "server_url": server,
        "model": "llama",
        "speculative": speculative,
        "simulated": False,
        "concurrency": concurrency,
        "category": category,
        "requests_ok": 8,
        "accept_length": accept,
        "ttft_ms": 50.0,
        "tpot_ms": tpot,
        "output_tok_s": 1000.0 / tpot,
    }


def _prompt(text, accept):
    return {
        "server_url": "http://spec:30000",
        "prompt": text,
        "category": "own",
        "accept_length": accept,
        "completion_tokens": 64,
        "simulated": False,
    }


@pytest.fixture
def class_db(store):
    keys = [learners.token_hash(learners.new_token()) for _ in range(3)]
    with transaction(store.engine(), write=True) as c:
        learners.set_display_name(c, keys[0], "Ada")
        save_work(
            c, keys[0], WorkItem("run", "b1", {}, "run", run_rows=[_row("http://base:30000", False, 10.0)])
        )
        save_work(
            c, keys[1], WorkItem("run", "b2", {}, "run", run_rows=[_row("http://base:30000", False, 12.0)])
        )
        save_work(
            c, keys[0], WorkItem("run", "s1", {}, "run", run_rows=[_row("http://spec:30000", True, 4.0, 3.0)])
        )
        save_work(
            c, keys[2], WorkItem("run", "s2", {}, "run", run_rows=[_row("http://spec:30000", True, 6.0, 2.0)])
        )
        save_work(c, keys[0], WorkItem("prompt", "p1", {}, "prompt", prompt_rows=[_prompt("def f():", 3.5)]))
        save_work(c, keys[1], WorkItem("prompt", "p2", {}, "prompt", prompt_rows=[_prompt("A poem", 1.4)]))
        quiz = [
            {"question_id": "q1", "topic": "theory", "correct": True},
            {"question_id": "q2", "topic": "theory", "correct": False},
            {"question_id": "q3", "topic": "serving", "correct": True},
        ]
        save_work(c, keys[1], WorkItem("quiz", "a1", {}, "quiz", quiz_rows=quiz))
        save_work(c, keys[2], WorkItem("quiz", "a2", {}, "quiz", quiz_rows=quiz[:1]))
    return store, keys


def test_results_pool_per_server_and_category_with_speedup(class_db):
    store, _keys = class_db
    with transaction(store.engine()) as c:
        table = results_table(c)
    base = table[table["server"] == "http://base:30000"].iloc[0]
    spec = table[table["server"] == "http://spec:30000"].iloc[0]
    assert (base["runs"], base["learners"], base["TPOT mean (ms)"]) == (2, 2, 11.0)
    assert spec["accept length"] == pytest.approx(2.5)
    assert spec["speedup (1/TPOT)"] == pytest.approx(11.0 / 5.0)  # class baseline TPOT / speculative TPOT
    assert base["speedup (1/TPOT)"] is None or base.isna()["speedup (1/TPOT)"]


def test_prompt_board_ranks_by_accept_length_and_hides_ids(class_db):
    store, keys = class_db
    with transaction(store.engine()) as c:
        board = prompt_board(c)
    assert list(board["prompt"]) == ["def f():", "A poem"]
    assert board["learner"].iloc[0] == "Ada"
    assert board["learner"].iloc[1].startswith("learner ")


def test_quiz_scores_per_topic(class_db):
    store, _keys = class_db
    with transaction(store.engine()) as c:
        table = quiz_table(c).set_index("topic")
    assert table.loc["theory", "answers"] == 3 and table.loc["theory", "right"] == 2
    assert table.loc["theory", "learners"] == 2
    assert table.loc["serving", "right (%)"] == pytest.approx(100.0)


def test_export_is_json_and_never_contains_keys(class_db):
    store, keys = class_db
    queue = SharedQueue(store)
    queue.join("http://spec:30000", "someone")
    with transaction(store.engine()) as c:
        export = class_export(c, queue.overview())
    text = json.dumps(export, allow_nan=False)
    assert export["queue"][0]["waiting"] == 1
    assert len(export["results"]) == 2 and len(export["prompt_board"]) == 2
    for key in keys:
        assert key not in text


def test_empty_class_gives_empty_tables(store):
    with transaction(store.engine()) as c:
        export = class_export(c)
    assert export["results"] == [] and export["quiz"] == [] and export["prompt_board"] == []
