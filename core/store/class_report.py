"""What the class measured, pooled for the instructor: the same tables for the page and ``speclab class export``.

* :func:`results_table`: per server, category and concurrency, the mean accept length (tokens per verify
  pass, bonus token included), TTFT and TPOT (ms), output throughput (tok/s), how many runs and learners,
  and for speculative servers the per-request speedup against the class's plain-decoding runs of the same
  model, category and concurrency (baseline TPOT / speculative TPOT; empty without such runs).
* :func:`prompt_board`: the learners' own prompts ranked by measured accept length (Exercise 2).
* :func:`quiz_table`: quiz answers per topic, share right.
* :func:`class_export`: all of it (and the queue now) as one JSON-ready dict.

Learners appear as their display name or "learner <number>", never by key or token. Figures are means of
what learners measured; rows measured on a practice server are flagged ``simulated``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from core.store.learners import label
from core.store.schema import learners, prompt_results, quiz_answers, run_results
from core.store.shared_queue import QueueEntry

__all__ = [
    "RESULT_COLUMNS",
    "class_export",
    "prompt_board",
    "queue_table",
    "quiz_table",
    "read_class_export",
    "results_table",
]

RESULT_COLUMNS = [
    "server",
    "model",
    "speculative",
    "simulated",
    "category",
    "concurrency",
    "runs",
    "learners",
    "accept length",
    "TTFT mean (ms)",
    "TPOT mean (ms)",
    "output tok/s",
    "speedup (1/TPOT)",
]


def _frame(connection: Connection, query) -> pd.DataFrame:
    result = connection.execute(query)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _learner_labels(connection: Connection) -> dict[int, str]:
    rows = connection.execute(select(learners.c.id, learners.c.display_name)).all()
    return {row.id: label(row.id, row.display_name) for row in rows}


def results_table(connection: Connection) -> pd.DataFrame:
    """The pooled results, one row per (server, model, category, concurrency); columns :data:`RESULT_COLUMNS`."""
    raw = _frame(connection, select(run_results))
    if raw.empty:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    keys = ["server_url", "model", "speculative", "simulated", "category", "concurrency"]
    pooled = (
        raw.groupby(keys, dropna=False)
        .agg(
            runs=("item_key", "nunique"),
            learners=("learner_id", "nunique"),
            accept_length=("accept_length", "mean"),
            ttft=("ttft_ms", "mean"),
            tpot=("tpot_ms", "mean"),
            throughput=("output_tok_s", "mean"),
        )
        .reset_index()
    )
    baseline = (
        pooled[~pooled["speculative"].astype(bool)]
        .groupby(["model", "category", "concurrency"])["tpot"]
        .mean()
    )

    def speedup(row) -> float | None:
        base = baseline.get((row["model"], row["category"], row["concurrency"]))
        if (
            not row["speculative"]
            or base is None
            or not row["tpot"]
            or math.isnan(base)
            or math.isnan(row["tpot"])
        ):
            return None
        return float(base / row["tpot"])

    pooled["speedup"] = pooled.apply(speedup, axis=1)
    pooled = pooled.rename(
        columns={
            "server_url": "server",
            "accept_length": "accept length",
            "ttft": "TTFT mean (ms)",
            "tpot": "TPOT mean (ms)",
            "throughput": "output tok/s",
            "speedup": "speedup (1/TPOT)",
        }
    )
    pooled["speculative"] = pooled["speculative"].astype(bool)
    pooled["simulated"] = pooled["simulated"].astype(bool)
    return pooled[RESULT_COLUMNS].sort_values(["server", "category", "concurrency"]).reset_index(drop=True)


def prompt_board(connection: Connection, limit: int = 100) -> pd.DataFrame:
    """Own prompts with a measured accept length, highest first (rank 1 = most predictable)."""
    columns = [
        "rank",
        "learner",
        "prompt",
        "category",
        "accept length",
        "output tokens",
        "server",
        "simulated",
    ]
    raw = _frame(connection, select(prompt_results).where(prompt_results.c.accept_length.is_not(None)))
    if raw.empty:
        return pd.DataFrame(columns=columns)
    names = _learner_labels(connection)
    raw = raw.sort_values(["accept_length", "created_at"], ascending=[False, True]).head(limit)
    board = pd.DataFrame(
        {
            "rank": range(1, len(raw) + 1),
            "learner": [names.get(i, "learner ?") for i in raw["learner_id"]],
            "prompt": raw["prompt"].str.slice(0, 300),
            "category": raw["category"],
            "accept length": raw["accept_length"].astype(float),
            "output tokens": raw["completion_tokens"].astype(int),
            "server": raw["server_url"],
            "simulated": raw["simulated"].astype(bool),
        }
    )
    return board.reset_index(drop=True)


def quiz_table(connection: Connection) -> pd.DataFrame:
    """Per topic: answers given, right, share right (%), learners who answered."""
    columns = ["topic", "answers", "right", "right (%)", "learners"]
    raw = _frame(connection, select(quiz_answers))
    if raw.empty:
        return pd.DataFrame(columns=columns)
    raw["correct"] = raw["correct"].astype(bool)
    table = (
        raw.groupby("topic")
        .agg(answers=("correct", "size"), right=("correct", "sum"), learners=("learner_id", "nunique"))
        .reset_index()
    )
    table["right (%)"] = 100.0 * table["right"] / table["answers"]
    return table[columns].sort_values("topic").reset_index(drop=True)


def queue_table(entries: Sequence[QueueEntry]) -> pd.DataFrame:
    """The queue now: per server, runs running and waiting, longest wait (s)."""
    rows = [
        {
            "server": e.server_url,
            "running": e.running,
            "waiting": e.waiting,
            "longest wait (s)": e.longest_wait_s,
        }
        for e in entries
    ]
    return pd.DataFrame(rows, columns=["server", "running", "waiting", "longest wait (s)"])


def _records(frame: pd.DataFrame) -> list[dict]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in clean.to_dict("records")
    ]


def class_export(connection: Connection, queue_entries: Sequence[QueueEntry] = ()) -> dict:
    """Everything the instructor's view shows, as JSON-ready lists of rows."""
    return {
        "schema": "speclab.class_export",
        "schema_version": 1,
        "results": _records(results_table(connection)),
        "prompt_board": _records(prompt_board(connection)),
        "quiz": _records(quiz_table(connection)),
        "queue": _records(queue_table(queue_entries)),
    }


def read_class_export(store) -> dict:
    """:func:`class_export` of a :class:`~core.store.class_store.ClassStore`, the queue included.

    Raises :class:`~core.store.database.StoreUnavailable` when the database cannot be read.
    """
    from core.store.database import transaction
    from core.store.shared_queue import SharedQueue

    entries = SharedQueue(store).overview()
    with transaction(store.engine()) as connection:
        return class_export(connection, entries)
