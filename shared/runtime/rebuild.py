"""``xingcun rebuild <projection>`` against the configured database and NATS."""

from __future__ import annotations

from services.reporting.app import PROJECTIONS
from shared.db.engine import create_engine
from shared.events.subjects import stream_for
from shared.messaging.projector import Projector
from shared.messaging.replay import rebuild
from shared.messaging.streams import connect
from shared.settings import Settings


async def rebuild_projection(name: str, settings: Settings | None = None) -> int:
    settings = settings or Settings()
    if name not in PROJECTIONS:
        raise SystemExit(f"unknown projection {name!r}; known: {', '.join(PROJECTIONS)}")
    consumed = PROJECTIONS[name]
    engine = create_engine(settings.service_database_url("reporting"), application="xingcun-rebuild")
    nc = await connect(settings.nats_url, "xingcun-rebuild")
    try:
        projector = Projector(engine, consumed.build(), max_attempts=settings.max_apply_attempts)
        return await rebuild(projector, nc.jetstream(), stream_for(settings, consumed.source))
    finally:
        await nc.close()
        await engine.dispose()
