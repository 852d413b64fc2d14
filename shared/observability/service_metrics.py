"""A service's own figures, read when ``/metrics`` is scraped: its outbox (events appended,
relayed, still to relay), the lag of each durable consumer it runs, its dead letters, and the
latency of its HTTP requests. A service adds its own (the notification service: deliveries by
status) through ``create_app(metrics=…)``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from shared.observability.metrics import Family

if TYPE_CHECKING:
    from shared.service import Runtime

log = logging.getLogger(__name__)

MetricsSource = Callable[["Runtime"], Awaitable[list[Family]]]

_CURSOR = "SELECT relayed, last_tx::text, last_position FROM relay_cursor WHERE relay = 'jetstream'"
# Counted up to a cap: a backlog that large is an alarm whatever its exact size.
BACKLOG_CAP = 100_000
_BACKLOG = (
    "SELECT count(*) FROM (SELECT 1 FROM events WHERE (transaction_id, global_position) > "
    f"($1::text::xid8, $2) LIMIT {BACKLOG_CAP}) AS behind"
)
_DEAD_LETTERS = "SELECT consumer, count(*) FROM dead_letters GROUP BY consumer ORDER BY consumer"


async def outbox_and_dead_letters(runtime: Runtime) -> list[Family]:
    service = runtime.service
    async with runtime.store.pool.acquire() as conn:
        cursor = await conn.fetchrow(_CURSOR)
        relayed, tx, position = (int(cursor[0]), cursor[1], int(cursor[2])) if cursor else (0, "0", 0)
        backlog = int(await conn.fetchval(_BACKLOG, tx, position))
        dead = await conn.fetch(_DEAD_LETTERS)
    stats = runtime.relay.stats
    letters = Family("xingcun_dead_letters", "gauge", "Events a consumer gave up on, kept for repair")
    for consumer, count in dead:
        letters.add(count, service=service, consumer=consumer)
    return [
        Family("xingcun_events_appended_total", "counter", "Events appended to the service's store").add(
            relayed + backlog, service=service
        ),
        Family(
            "xingcun_events_relayed_total", "counter", "Events the outbox relay published to JetStream"
        ).add(relayed, service=service),
        Family(
            "xingcun_outbox_backlog",
            "gauge",
            f"Committed events not yet relayed (counted up to {BACKLOG_CAP})",
        ).add(backlog, service=service),
        Family("xingcun_relay_failures_total", "counter", "Relay failures since the process started").add(
            stats.failures, service=service
        ),
        letters,
    ]


async def consumer_lags(runtime: Runtime) -> list[Family]:
    lag = Family(
        "xingcun_consumer_lag",
        "gauge",
        "Events a durable consumer has yet to take in (pending + unacknowledged)",
    )
    for consumer in runtime.consumers:
        try:
            async with asyncio.timeout(2.0):
                info = await runtime.js.consumer_info(consumer.spec.name, consumer.name)
        except Exception as exc:  # NATS away: the figure is missing, the scrape still answers
            log.debug("consumer %s: no info (%r)", consumer.name, exc)
            continue
        lag.add(
            info.num_pending + info.num_ack_pending,
            service=runtime.service,
            consumer=consumer.name,
            stream=consumer.spec.name,
        )
    return [lag]
