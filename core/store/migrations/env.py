"""Alembic environment: runs on the connection :func:`core.store.migrate.upgrade_to_head` passes in,
inside its (already locked) transaction."""

from alembic import context

from core.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
