"""The class store: learners' saved work, the shared run queue and rate limits, in SQLite or
PostgreSQL through SQLAlchemy Core, with Alembic migrations.

* ``database``: which database (``SPECLAB_DATABASE_URL``, else SQLite in ``SPECLAB_DATA_DIR``), engines with
  timeouts, transactions (``BEGIN IMMEDIATE`` on SQLite), named row locks on PostgreSQL.
* ``schema`` and ``migrations/`` (run by ``migrate.upgrade_to_head``); ``class_store.ClassStore``: a process's
  engine, migrated on first use, retried when the database is down.
* ``learners`` (resume tokens, labels, deletion), ``saved_work`` (items and their result rows),
  ``learner_session`` (one browser session: restore, save, delete), ``writer`` (saving off the rerun thread).
* ``shared_queue``: the per-server FIFO queue and rate limits shared by every replica.
* ``class_report``: the instructor's pooled tables and the JSON export.

May import: ``core.foundation``.
"""
