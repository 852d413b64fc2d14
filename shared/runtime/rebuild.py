"""``xingcun rebuild <projection>`` against the configured database and NATS."""

from __future__ import annotations

from services.monitoring.projections import PROJECTIONS as MONITORING
from services.notification.app import PROJECTIONS as NOTIFICATION
from services.pairing.app import PROJECTIONS as PAIRING
from services.reporting.app import PROJECTIONS as REPORTING
from shared.db.engine import create_engine
from shared.events.subjects import stream_for
from shared.messaging.projector import Projector
from shared.messaging.replay import rebuild
from shared.messaging.streams import connect
from shared.runtime.collector import tune_collector
from shared.service import Consumes
from shared.settings import ServiceName, Settings

# Every rebuildable read model, by the name `xingcun rebuild` takes, with the service that owns it.
PROJECTIONS: dict[str, tuple[ServiceName, Consumes]] = {
    **{name: ("pairing", consumed) for name, consumed in PAIRING.items()},
    **{name: ("monitoring", consumed) for name, consumed in MONITORING.items()},
    **{name: ("reporting", consumed) for name, consumed in REPORTING.items()},
    **{name: ("notification", consumed) for name, consumed in NOTIFICATION.items()},
}


async def rebuild_projection(name: str, settings: Settings | None = None) -> int:
    settings = settings or Settings()
    if name not in PROJECTIONS:
        raise SystemExit(f"unknown projection {name!r}; known: {', '.join(PROJECTIONS)}")
    service, consumed = PROJECTIONS[name]
    tune_collector()
    engine = create_engine(settings.service_database_url(service), application="xingcun-rebuild")
    nc = await connect(settings.nats_url, "xingcun-rebuild")
    try:
        projector = Projector(engine, consumed.build(), max_attempts=settings.max_apply_attempts)
        return await rebuild(projector, nc.jetstream(), stream_for(settings, consumed.source))
    finally:
        await nc.close()
        await engine.dispose()
