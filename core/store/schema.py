"""The class store's tables (SQLAlchemy Core). Changing them needs a new migration in ``migrations/versions``.

Times are Unix seconds (float) from the writing process's clock. Learners are rows keyed by the SHA-256 of
their secret resume token, so the database never holds a resume link; ``id`` numbers the anonymous
labels ("learner 7") the instructor sees.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "learners",
    "locks",
    "metadata",
    "prompt_results",
    "queue_tickets",
    "quiz_answers",
    "rate_events",
    "run_results",
    "saved_items",
]

metadata = MetaData()


def _learner_fk() -> Column:
    return Column(
        "learner_id", Integer, ForeignKey("learners.id", ondelete="CASCADE"), nullable=False, index=True
    )


learners = Table(
    "learners",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("display_name", String(40), nullable=True),
    Column("created_at", Float, nullable=False),
    sqlite_autoincrement=True,
)

# One saved piece of work (a run, a sweep, an own prompt, a quiz attempt, the wizard's answers) as JSON.
saved_items = Table(
    "saved_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _learner_fk(),
    Column("kind", String(16), nullable=False),
    Column("item_key", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("learner_id", "kind", "item_key", name="uq_saved_item"),
)

# Per-category figures of each saved run, flattened so the instructor's pooled view is one query.
run_results = Table(
    "run_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _learner_fk(),
    Column("item_key", String(64), nullable=False),
    Column("server_url", String(300), nullable=False),
    Column("model", String(300), nullable=False),
    Column("speculative", Boolean, nullable=False),
    Column("simulated", Boolean, nullable=False),
    Column("concurrency", Integer, nullable=False),
    Column("category", String(100), nullable=False),
    Column("requests_ok", Integer, nullable=False),
    Column("accept_length", Float, nullable=True),
    Column("ttft_ms", Float, nullable=True),
    Column("tpot_ms", Float, nullable=True),
    Column("output_tok_s", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Index("ix_run_results_server_category", "server_url", "category"),
)

# A learner's own prompt and what the server measured for it (the notebook's Exercise 2).
prompt_results = Table(
    "prompt_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _learner_fk(),
    Column("item_key", String(64), nullable=False),
    Column("server_url", String(300), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("category", String(100), nullable=False),
    Column("accept_length", Float, nullable=True),
    Column("completion_tokens", Integer, nullable=False),
    Column("simulated", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("learner_id", "item_key", name="uq_prompt_result"),
)

quiz_answers = Table(
    "quiz_answers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _learner_fk(),
    Column("attempt_key", String(64), nullable=False),
    Column("question_id", String(100), nullable=False),
    Column("topic", String(100), nullable=False),
    Column("correct", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("learner_id", "attempt_key", "question_id", name="uq_quiz_answer"),
)

# The class's run queue: FIFO by id per server; at most one running ticket per server (partial unique index,
# so even a bug in the locking could not start a second run on one server).
queue_tickets = Table(
    "queue_tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("server_url", String(300), nullable=False),
    Column("holder", String(64), nullable=False),
    Column("running", Boolean, nullable=False, default=False),
    Column("joined_at", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    UniqueConstraint("server_url", "holder", name="uq_ticket_holder"),
    sqlite_autoincrement=True,
)
Index(
    "uq_one_running_per_server",
    queue_tickets.c.server_url,
    unique=True,
    sqlite_where=queue_tickets.c.running.is_(True),
    postgresql_where=queue_tickets.c.running.is_(True),
)

rate_events = Table(
    "rate_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, index=True),
    Column("at", Float, nullable=False, index=True),
)

# Named row locks for PostgreSQL writers (SELECT ... FOR UPDATE); SQLite locks the whole file instead.
locks = Table("locks", metadata, Column("name", String(320), primary_key=True))
