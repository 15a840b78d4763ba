"""Migrations: upgrade to head is idempotent and safe when several processes start at once."""

from __future__ import annotations

import multiprocessing

from sqlalchemy import inspect

from core.store.class_store import ClassStore
from core.store.database import make_engine
from core.store.migrate import current_revision, head_revision, upgrade_to_head

TABLES = {"learners", "saved_items", "run_results", "prompt_results", "quiz_answers", "queue_tickets"}


def test_upgrade_creates_the_schema_and_is_idempotent(database_url):
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    assert upgrade_to_head(engine) == head_revision()
    assert upgrade_to_head(engine) == head_revision()
    assert current_revision(engine) == head_revision()
    assert TABLES | {"rate_events", "locks", "alembic_version"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def _open_store(url: str, results) -> None:
    try:
        ClassStore(url).engine()
        results.put("ok")
    except Exception as error:  # the test prints what went wrong in which process
        results.put(f"{type(error).__name__}: {error}")


def test_several_processes_migrating_at_once_all_succeed(database_url):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_open_store, args=(database_url, results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    outcomes = [results.get(timeout=5) for _ in workers]
    assert outcomes == ["ok"] * 4
    engine = make_engine(database_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()
