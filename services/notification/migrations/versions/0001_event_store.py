"""The event store, relay cursor, consumer checkpoints and dead letters (shared by every service)."""

from shared.db.event_store_schema import downgrade, upgrade

revision = "0001"
down_revision = None
__all__ = ["downgrade", "upgrade"]
