"""Alembic entry point: the shared runner applies this service's migrations."""

from shared.db.alembic_env import run

run()
