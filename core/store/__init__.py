"""The class store: learners' saved work, the shared run queue and rate limits, in SQLite or
PostgreSQL through SQLAlchemy Core, with Alembic migrations.

May import: ``core.foundation``.
"""
