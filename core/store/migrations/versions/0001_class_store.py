"""The first class store: learners, saved work, run results, own prompts, quiz answers, queue, limits.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _learner_fk() -> sa.Column:
    return sa.Column(
        "learner_id", sa.Integer, sa.ForeignKey("learners.id", ondelete="CASCADE"), nullable=False, index=True
    )


def upgrade() -> None:
    op.create_table(
        "learners",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(40), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "saved_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _learner_fk(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("item_key", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("learner_id", "kind", "item_key", name="uq_saved_item"),
    )
    _results_tables()
    _queue_tables()


def _results_tables() -> None:
    op.create_table(
        "run_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _learner_fk(),
        sa.Column("item_key", sa.String(64), nullable=False),
        sa.Column("server_url", sa.String(300), nullable=False),
        sa.Column("model", sa.String(300), nullable=False),
        sa.Column("speculative", sa.Boolean, nullable=False),
        sa.Column("simulated", sa.Boolean, nullable=False),
        sa.Column("concurrency", sa.Integer, nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("requests_ok", sa.Integer, nullable=False),
        sa.Column("accept_length", sa.Float, nullable=True),
        sa.Column("ttft_ms", sa.Float, nullable=True),
        sa.Column("tpot_ms", sa.Float, nullable=True),
        sa.Column("output_tok_s", sa.Float, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_run_results_server_category", "run_results", ["server_url", "category"])
    op.create_table(
        "prompt_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _learner_fk(),
        sa.Column("item_key", sa.String(64), nullable=False),
        sa.Column("server_url", sa.String(300), nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("accept_length", sa.Float, nullable=True),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("simulated", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("learner_id", "item_key", name="uq_prompt_result"),
    )
    op.create_table(
        "quiz_answers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _learner_fk(),
        sa.Column("attempt_key", sa.String(64), nullable=False),
        sa.Column("question_id", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("correct", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("learner_id", "attempt_key", "question_id", name="uq_quiz_answer"),
    )


def _queue_tables() -> None:
    op.create_table(
        "queue_tickets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("server_url", sa.String(300), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("running", sa.Boolean, nullable=False),
        sa.Column("joined_at", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.UniqueConstraint("server_url", "holder", name="uq_ticket_holder"),
        sqlite_autoincrement=True,
    )
    running = sa.text("running")
    op.create_index(
        "uq_one_running_per_server",
        "queue_tickets",
        ["server_url"],
        unique=True,
        sqlite_where=running,
        postgresql_where=running,
    )
    op.create_table(
        "rate_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False, index=True),
        sa.Column("at", sa.Float, nullable=False, index=True),
    )
    op.create_table("locks", sa.Column("name", sa.String(320), primary_key=True))


def downgrade() -> None:
    for table in ("locks", "rate_events", "queue_tickets", "quiz_answers", "prompt_results"):
        op.drop_table(table)
    for table in ("run_results", "saved_items", "learners"):
        op.drop_table(table)
