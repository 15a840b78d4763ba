"""A learner's saved work: one JSON payload per item, plus flat rows the instructor's view pools.

An item is a benchmark run, a sweep, an own prompt, a quiz attempt or the wizard's answers
(:data:`KINDS`). Saving an item with a key already saved replaces it (a quiz attempt is saved again
after every answer), together with its rows, in one transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from core.store.learners import ensure_learner, find_learner
from core.store.schema import prompt_results, quiz_answers, run_results, saved_items

__all__ = ["KINDS", "MAX_PAYLOAD_BYTES", "StoredItem", "WorkItem", "delete_work", "load_work", "save_work"]

KINDS = ("run", "sweep", "prompt", "quiz", "wizard")
#: Largest payload saved (bytes of JSON); a 500-request run is well under 1 MB.
MAX_PAYLOAD_BYTES = 5 * 1024 * 1024

_RUN_COLUMNS = {c.name for c in run_results.columns} - {"id", "learner_id", "item_key", "created_at"}
_PROMPT_COLUMNS = {c.name for c in prompt_results.columns} - {"id", "learner_id", "item_key", "created_at"}
_QUIZ_COLUMNS = {"question_id", "topic", "correct"}


@dataclass(frozen=True)
class WorkItem:
    """Something to save. ``description`` names it in messages ("run #3", "quiz answers").

    ``run_rows``: one dict per (run, category) with the columns of ``run_results``; ``prompt_rows``: at most
    one dict with the columns of ``prompt_results``; ``quiz_rows``: dicts with question_id, topic, correct.
    """

    kind: str
    item_key: str
    payload: Mapping
    description: str
    run_rows: Sequence[Mapping] = field(default=())
    prompt_rows: Sequence[Mapping] = field(default=())
    quiz_rows: Sequence[Mapping] = field(default=())

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind of work {self.kind!r}; one of {', '.join(KINDS)}")
        if not self.item_key or len(self.item_key) > 64:
            raise ValueError("item_key must be 1 to 64 characters")
        for rows, allowed in (
            (self.run_rows, _RUN_COLUMNS),
            (self.prompt_rows, _PROMPT_COLUMNS),
            (self.quiz_rows, _QUIZ_COLUMNS),
        ):
            for row in rows:
                if set(row) != allowed:
                    raise ValueError(f"row columns {sorted(row)} differ from {sorted(allowed)}")


@dataclass(frozen=True)
class StoredItem:
    """An item read back: its payload as saved, and when (Unix seconds)."""

    kind: str
    item_key: str
    payload: dict
    created_at: float


def save_work(connection: Connection, learner_key: str, item: WorkItem, now: float | None = None) -> None:
    """Save ``item`` for the learner (created if new), replacing an item with the same kind and key."""
    now = time.time() if now is None else now
    text = json.dumps(item.payload, separators=(",", ":"), allow_nan=False)
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"{item.description} is larger than {MAX_PAYLOAD_BYTES // 2**20} MB; not saved")
    learner_id = ensure_learner(connection, learner_key, now)
    connection.execute(
        delete(saved_items).where(
            saved_items.c.learner_id == learner_id,
            saved_items.c.kind == item.kind,
            saved_items.c.item_key == item.item_key,
        )
    )
    connection.execute(
        insert(saved_items).values(
            learner_id=learner_id, kind=item.kind, item_key=item.item_key, payload=text, created_at=now
        )
    )
    common = {"learner_id": learner_id, "created_at": now}
    for table, rows, key_column in (
        (run_results, item.run_rows, "item_key"),
        (prompt_results, item.prompt_rows, "item_key"),
        (quiz_answers, item.quiz_rows, "attempt_key"),
    ):
        if not rows:
            continue
        key = table.c[key_column]
        connection.execute(delete(table).where(table.c.learner_id == learner_id, key == item.item_key))
        connection.execute(insert(table), [{**row, **common, key_column: item.item_key} for row in rows])


def load_work(connection: Connection, learner_key: str, kind: str | None = None) -> list[StoredItem] | None:
    """The learner's saved items in the order they were (last) saved (optionally one kind only); None when
    the store knows no such learner."""
    found = find_learner(connection, learner_key)
    if found is None:
        return None
    query = select(saved_items).where(saved_items.c.learner_id == found[0]).order_by(saved_items.c.id)
    if kind is not None:
        query = query.where(saved_items.c.kind == kind)
    return [
        StoredItem(row.kind, row.item_key, json.loads(row.payload), row.created_at)
        for row in connection.execute(query)
    ]


def delete_work(connection: Connection, learner_key: str, kind: str, item_key: str) -> None:
    """Delete one saved item and its rows (nothing happens when it is not there)."""
    found = find_learner(connection, learner_key)
    if found is None:
        return
    learner_id = found[0]
    connection.execute(
        delete(saved_items).where(
            saved_items.c.learner_id == learner_id,
            saved_items.c.kind == kind,
            saved_items.c.item_key == item_key,
        )
    )
    for table, key_column in (
        (run_results, "item_key"),
        (prompt_results, "item_key"),
        (quiz_answers, "attempt_key"),
    ):
        connection.execute(
            delete(table).where(table.c.learner_id == learner_id, table.c[key_column] == item_key)
        )
