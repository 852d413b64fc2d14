"""Alembic migrations applied at start, one migration tree per service."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

import services
from shared.settings import ServiceName

_SERVICES_DIR = Path(services.__file__).resolve().parent
_LOCK_KEY = 7_460_001  # one advisory lock per database: instances starting together migrate once


def alembic_config(service: ServiceName, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SERVICES_DIR / service / "migrations"))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, service: ServiceName) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
        try:
            await conn.run_sync(lambda sync: command.upgrade(alembic_config(service, sync), "head"))
            await conn.commit()
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
            await conn.commit()


async def is_current(engine: AsyncEngine, service: ServiceName) -> bool:
    """True when the database is at the head revision of the service's migrations."""
    head = ScriptDirectory.from_config(alembic_config(service)).get_current_head()

    def current(sync: Connection) -> str | None:
        return MigrationContext.configure(sync).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(current) == head
