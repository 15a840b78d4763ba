"""``speclab class export``: the pooled class results as tables or JSON; an unreachable database is one
line on stderr and exit code 2."""

from __future__ import annotations

import json

from core.cli.main import main
from core.store import learners
from core.store.class_store import ClassStore
from core.store.database import transaction
from core.store.saved_work import WorkItem, save_work


def _filled(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'class.sqlite3'}"
    store = ClassStore(url)
    key = learners.token_hash(learners.new_token())
    quiz_rows = [{"question_id": "q1", "topic": "theory", "correct": True}]
    with transaction(store.engine(), write=True) as connection:
        learners.set_display_name(connection, key, "Grace")
        save_work(connection, key, WorkItem("quiz", "a1", {}, "quiz", quiz_rows=quiz_rows))
    store.dispose()
    return url


def test_export_json_prints_the_class_tables(tmp_path, capsys):
    url = _filled(tmp_path)
    assert main(["class", "export", "--database", url, "--json"]) == 0
    export = json.loads(capsys.readouterr().out)
    assert export["schema"] == "speclab.class_export"
    assert export["quiz"] == [
        {"topic": "theory", "answers": 1, "right": 1, "right (%)": 100.0, "learners": 1}
    ]


def test_export_tables_are_readable(tmp_path, capsys):
    assert main(["class", "export", "--database", _filled(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Quiz answers per topic" in out and "theory" in out and "(nothing yet)" in out


def test_an_unreachable_database_is_one_line_and_exit_2(capsys):
    code = main(["class", "export", "--database", "postgresql://u:pw@127.0.0.1:9/class", "--json"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "unavailable" in err and "pw" not in err


def test_a_malformed_url_is_exit_2(capsys):
    assert main(["class", "export", "--database", "nonsense"]) == 2
    assert "not a database URL" in capsys.readouterr().err
