"""The notification service's figures for ``/metrics``: deliveries by status and channel (a
growing ``failed`` or a stuck ``pending`` is what an operator looks for)."""

from __future__ import annotations

from shared.observability.metrics import Family
from shared.service import Runtime

_BY_STATUS = (
    "SELECT status, channel, count(*) FROM deliveries GROUP BY status, channel ORDER BY status, channel"
)


async def delivery_figures(runtime: Runtime) -> list[Family]:
    family = Family("xingcun_deliveries", "gauge", "Notification deliveries by status and channel")
    async with runtime.store.pool.acquire() as conn:
        for status, channel, count in await conn.fetch(_BY_STATUS):
            family.add(count, status=status, channel=channel)
    return [family]
