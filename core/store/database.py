"""Where the class store lives and how to talk to it: one SQLAlchemy engine for SQLite or PostgreSQL.

* Nothing configured: SQLite in a data folder (``SPECLAB_DATA_DIR``, default ``./data``), file
  ``speclab.sqlite3``, in WAL mode with a busy timeout, so several processes on one machine can share it.
* ``SPECLAB_DATABASE_URL`` (or the ``url=`` argument) naming ``postgresql://...``: PostgreSQL through
  psycopg 3, for several replicas or machines.

Every statement runs inside :func:`transaction`. ``write=True`` takes the write lock at the start on SQLite
(``BEGIN IMMEDIATE``), so a read-then-write (the run queue, rate limits) is atomic across processes;
PostgreSQL writers lock rows instead (:func:`lock_name`). Connecting and statements are bounded in time
(seconds below), so a slow or dead database fails fast with :class:`StoreUnavailable` instead of hanging.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, exc, select
from sqlalchemy.engine import Connection, make_url

__all__ = [
    "BUSY_TIMEOUT_S",
    "CONNECT_TIMEOUT_S",
    "ENV_DATABASE_URL",
    "ENV_DATA_DIR",
    "STATEMENT_TIMEOUT_S",
    "StoreUnavailable",
    "database_url",
    "describe_url",
    "insert_ignoring_duplicates",
    "lock_name",
    "make_engine",
    "transaction",
]

ENV_DATABASE_URL = "SPECLAB_DATABASE_URL"
ENV_DATA_DIR = "SPECLAB_DATA_DIR"
DEFAULT_FILE = "speclab.sqlite3"
#: SQLite waits this long (seconds) for another process's write lock before giving up.
BUSY_TIMEOUT_S = 3.0
#: PostgreSQL: connection attempts and single statements (lock waits included) give up after these.
CONNECT_TIMEOUT_S = 3
STATEMENT_TIMEOUT_S = 5.0


class StoreUnavailable(RuntimeError):
    """The database cannot be reached, is locked, or refused the request; the message is for the user."""


def database_url(url: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The URL to use: ``url`` if given, else ``SPECLAB_DATABASE_URL``, else the SQLite file in the data
    folder (created if missing)."""
    environ = os.environ if environ is None else environ
    chosen = (url or environ.get(ENV_DATABASE_URL) or "").strip()
    if chosen:
        return chosen
    folder = Path(environ.get(ENV_DATA_DIR) or "data").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / DEFAULT_FILE}"


def describe_url(url: str) -> str:
    """The URL without its password, for messages and the page."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "(malformed database URL)"


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the timeouts above. Raises :class:`StoreUnavailable` for a malformed URL or
    an unsupported database (only SQLite and PostgreSQL are)."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError as error:
        raise StoreUnavailable(f"SPECLAB_DATABASE_URL is not a database URL: {error}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        if parsed.drivername in {"postgresql", "postgres"}:
            parsed = parsed.set(drivername="postgresql+psycopg")
        options = f"-c statement_timeout={int(STATEMENT_TIMEOUT_S * 1000)}"
        options += f" -c lock_timeout={int(STATEMENT_TIMEOUT_S * 1000)}"
        try:
            return create_engine(
                parsed,
                pool_pre_ping=True,
                pool_size=5,
                max_overflow=5,
                pool_timeout=CONNECT_TIMEOUT_S,
                connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "options": options},
            )
        except ImportError as error:
            raise StoreUnavailable(f"PostgreSQL needs the psycopg package ({error})") from None
    raise StoreUnavailable(f"the class store supports SQLite and PostgreSQL, not {backend}")


def _sqlite_engine(parsed) -> Engine:
    engine = create_engine(
        parsed, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}, pool_timeout=10
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event decide how each transaction starts (pysqlite's own handling
        # would delay BEGIN until the first write and could not take the lock up front).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = "IMMEDIATE" if connection.get_execution_options().get("speclab_write") else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Connection]:
    """A connection inside one transaction, committed at the end (rolled back on error).

    Database errors (unreachable, locked, timed out) become :class:`StoreUnavailable` with a short message.
    """
    try:
        with engine.connect().execution_options(speclab_write=write) as connection, connection.begin():
            yield connection
    except exc.SQLAlchemyError as error:
        raise StoreUnavailable(_short(error)) from error


def _short(error: exc.SQLAlchemyError) -> str:
    original = getattr(error, "orig", None) or error
    text = " ".join(str(original).split())
    if "database is locked" in text:
        return "the database is locked by another process (busy for more than a few seconds)"
    return text[:200] or type(original).__name__


def insert_ignoring_duplicates(connection: Connection, table, values: dict, keys: list[str]) -> None:
    """INSERT ``values`` unless a row with the same unique ``keys`` exists (atomic on both databases)."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    connection.execute(insert(table).values(**values).on_conflict_do_nothing(index_elements=keys))


def lock_name(connection: Connection, name: str) -> None:
    """Hold a named lock until the transaction ends: a row lock (SELECT ... FOR UPDATE) on PostgreSQL.

    On SQLite a write transaction (``BEGIN IMMEDIATE``) already holds the whole database's write lock.
    """
    if connection.dialect.name != "postgresql":
        return
    from core.store.schema import locks

    insert_ignoring_duplicates(connection, locks, {"name": name}, ["name"])
    connection.execute(select(locks.c.name).where(locks.c.name == name).with_for_update())
