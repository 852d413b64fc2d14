"""The body of every service's ``migrations/env.py``: run on the connection ``migrate`` passes in."""

from __future__ import annotations

from alembic import context


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("migrations run through shared.db.migrate.upgrade, which passes a connection")
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
