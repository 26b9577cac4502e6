"""Alembic environment. The connection is handed in by carenav.db.migrate; nothing is read from an ini."""

from __future__ import annotations

from alembic import context

from carenav.db.registry import load_all_models

target_metadata = load_all_models()
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through carenav.db.migrate (carenav db upgrade)")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
