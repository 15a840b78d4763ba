"""Alembic migrations of the class store (run by :func:`core.store.migrate.upgrade_to_head`)."""
