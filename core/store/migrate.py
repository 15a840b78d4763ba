"""Bring a database to the newest schema with Alembic; safe when several processes start at once.

The upgrade runs in one transaction that first takes a lock (``BEGIN IMMEDIATE`` on SQLite, a
transaction-level advisory lock on PostgreSQL), so concurrent starters queue up; the later ones find the
schema at head and do nothing. SQLite and PostgreSQL both roll DDL back with the transaction, so a failed
upgrade leaves the previous version intact.
"""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from core.store.database import transaction

__all__ = ["current_revision", "head_revision", "upgrade_to_head"]

# Any constant works: it names the lock every speclab process takes before migrating.
_MIGRATION_LOCK_KEY = 715_517_001


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("core.store") / "migrations"))
    return config


def head_revision() -> str:
    """The newest schema version shipped with this code."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The schema version the database is at (None for an empty database)."""
    with transaction(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(engine: Engine) -> str:
    """Upgrade the database to :func:`head_revision` (a no-op when it is there); returns the version.

    Raises :class:`~core.store.database.StoreUnavailable` when the database cannot be reached or locked.
    """
    config = _config()
    with transaction(engine, write=True) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return head_revision()
