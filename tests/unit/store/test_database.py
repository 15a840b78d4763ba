"""Choosing and opening the database: defaults, bad URLs, SQLite settings, passwords kept out of messages."""

from __future__ import annotations

import pytest

from core.store.class_store import ClassStore
from core.store.database import (
    StoreUnavailable,
    database_url,
    describe_url,
    make_engine,
    transaction,
)


def test_default_is_sqlite_in_the_data_folder(tmp_path):
    url = database_url(environ={"SPECLAB_DATA_DIR": str(tmp_path / "data")})
    assert url == f"sqlite:///{tmp_path / 'data' / 'speclab.sqlite3'}"
    assert (tmp_path / "data").is_dir()
    assert database_url(environ={"SPECLAB_DATABASE_URL": "postgresql://h/db"}) == "postgresql://h/db"
    assert (
        database_url("sqlite:///x.db", environ={"SPECLAB_DATABASE_URL": "postgresql://h/db"})
        == "sqlite:///x.db"
    )


@pytest.mark.parametrize(
    ("url", "message"), [("not a url", "not a database URL"), ("mysql://h/db", "not mysql")]
)
def test_bad_urls_are_clear_errors(url, message):
    with pytest.raises(StoreUnavailable, match=message):
        make_engine(url)


def test_passwords_never_appear_in_messages():
    assert "secret" not in describe_url("postgresql://user:secret@db:5432/class")
    store = ClassStore("postgresql+psycopg://user:secret@127.0.0.1:9/class", retry_s=60)
    with pytest.raises(StoreUnavailable) as error:
        store.engine()
    assert "secret" not in str(error.value) and "127.0.0.1" in str(error.value)
    with pytest.raises(StoreUnavailable):  # a second call inside retry_s fails at once, same message
        store.engine()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with transaction(engine) as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 3000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
