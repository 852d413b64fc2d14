"""The operations commands: ``xingcun status``, ``dead-letters list|retry`` and ``events tail``.

``status`` asks each service what it tells Prometheus (``/readyz`` and ``/metrics``), so it works
against any deployment whose service URLs it is given (``XINGCUN_<SERVICE>_URL``, which
``xingcun up`` writes for the commands). The dead letters are read and repaired in the services'
databases; ``events tail`` reads the JetStream streams.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import httpx
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy.exc import SQLAlchemyError

from shared.db.engine import asyncpg_dsn, create_engine
from shared.events.envelope import Envelope
from shared.events.registry import decode
from shared.events.subjects import stream_for
from shared.messaging.streams import connect
from shared.observability.metrics import parse
from shared.settings import SERVICES, ServiceName, Settings

DEFAULT_PORT_BASE = 8101


def service_urls() -> dict[str, str]:
    base = int(os.environ.get("XINGCUN_PORT_BASE", DEFAULT_PORT_BASE))
    return {
        service: os.environ.get(f"XINGCUN_{service.upper()}_URL", f"http://127.0.0.1:{base + i}")
        for i, service in enumerate(SERVICES)
    }


@dataclass
class ServiceStatus:
    service: str
    url: str
    state: str  # ready, not ready (the failing checks), unreachable
    backlog: int | None = None
    dead_letters: int | None = None
    lags: dict[str, int] = field(default_factory=dict)


async def service_status(client: httpx.AsyncClient, service: str, url: str) -> ServiceStatus:
    try:
        ready = await client.get(f"{url}/readyz")
        metrics = await client.get(f"{url}/metrics")
    except httpx.HTTPError as exc:
        return ServiceStatus(service, url, f"unreachable ({exc.__class__.__name__})")
    checks = (
        ready.json().get("checks", {})
        if ready.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    state = (
        "ready"
        if ready.status_code == 200
        else "not ready: " + ", ".join(f"{k} {v}" for k, v in checks.items() if v != "ok")
    )
    status = ServiceStatus(service, url, state)
    if metrics.status_code == 200:
        for name, labels, value in parse(metrics.text):
            if name == "xingcun_outbox_backlog":
                status.backlog = int(value)
            elif name == "xingcun_dead_letters":
                status.dead_letters = (status.dead_letters or 0) + int(value)
            elif name == "xingcun_consumer_lag":
                status.lags[labels["consumer"]] = int(value)
        status.dead_letters = status.dead_letters or 0
    return status


async def status(urls: dict[str, str]) -> list[ServiceStatus]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        return list(await asyncio.gather(*(service_status(client, s, u) for s, u in urls.items())))


def render_status(rows: list[ServiceStatus]) -> str:
    lines = [f"{'service':<14}{'state':<12}{'backlog':>8}{'dead':>6}  consumers (lag)"]
    for row in rows:
        lags = ", ".join(f"{name} {lag}" for name, lag in sorted(row.lags.items())) or "-"
        backlog = "-" if row.backlog is None else str(row.backlog)
        dead = "-" if row.dead_letters is None else str(row.dead_letters)
        state = row.state.split(" ", 1)[0] if row.state != "not ready" else row.state
        lines.append(f"{row.service:<14}{state:<12}{backlog:>8}{dead:>6}  {lags}")
        if row.state != "ready":
            lines.append(f"{'':<14}{row.state} at {row.url}")
    return "\n".join(lines)


# -- dead letters ---------------------------------------------------------------------------------

_LETTERS = (
    "SELECT id, consumer, subject, stream_sequence, event_id::text, stream_id, stream_version, reason, "
    "attempts, created_at FROM dead_letters ORDER BY id"
)
_LETTER = "SELECT consumer, payload FROM dead_letters WHERE id = :id FOR UPDATE"


async def dead_letters(
    settings: Settings, services: tuple[ServiceName, ...] = SERVICES
) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    for service in services:
        try:
            conn = await asyncpg.connect(asyncpg_dsn(settings.service_database_url(service)))
        except asyncpg.InvalidCatalogNameError:
            continue  # the service has never started here: no database, no letters
        try:
            found += [{"service": service, **dict(row)} for row in await conn.fetch(_LETTERS)]
        except asyncpg.UndefinedTableError:
            pass  # the service has never started: no database tables yet
        finally:
            await conn.close()
    return found


class CannotRetry(Exception):
    pass


async def retry_dead_letter(settings: Settings, service: ServiceName, letter_id: int) -> str:
    """Apply a dead-lettered event to its projection again, once its cause is fixed (new code, a
    repaired row), and remove the letter in the same transaction. The checkpoint is not moved:
    the consumer went past the event when it gave up on it."""
    from sqlalchemy import text

    from shared.runtime.rebuild import PROJECTIONS

    engine = create_engine(settings.service_database_url(service), application="xingcun-ops")
    try:
        try:
            async with engine.connect():
                pass
        except (OSError, SQLAlchemyError) as exc:
            raise CannotRetry(f"cannot open the {service} database: {exc.__class__.__name__}") from exc
        async with engine.begin() as conn:
            row = (await conn.execute(text(_LETTER), {"id": letter_id})).first()
            if row is None:
                raise CannotRetry(f"no dead letter {letter_id} in {service}")
            consumer, payload = row
            owner = PROJECTIONS.get(consumer)
            if owner is None or owner[0] != service:
                raise CannotRetry(f"{consumer} is not a projection of {service}: nothing to apply it to")
            projection = owner[1].build()
            envelope = Envelope.model_validate_json(payload)
            if not projection.handles(envelope.type):
                raise CannotRetry(f"{consumer} does not handle {envelope.type}")
            await projection.apply(conn, envelope, decode(envelope))
            await conn.execute(text("DELETE FROM dead_letters WHERE id = :id"), {"id": letter_id})
        return f"applied {envelope.type} {envelope.event_id} to {consumer}; dead letter {letter_id} removed"
    finally:
        await engine.dispose()


# -- events tail ----------------------------------------------------------------------------------


def subject_overlap(a: str, b: str) -> str | None:
    """The subjects two filters both match, as one filter (JetStream takes a consumer's filter
    only within its stream's subjects), or None when they match none in common."""
    left, right = a.split("."), b.split(".")
    found: list[str] = []
    for i in range(max(len(left), len(right))):
        x = left[i] if i < len(left) else None
        y = right[i] if i < len(right) else None
        if x == ">" and y is not None:
            return ".".join(found + right[i:])
        if y == ">" and x is not None:
            return ".".join(found + left[i:])
        if x is None or y is None:
            return None
        if x == "*" or x == y:
            found.append(y)
        elif y == "*":
            found.append(x)
        else:
            return None
    return ".".join(found)


def event_line(envelope: Envelope) -> str:
    return json.dumps(
        {
            "recorded_at": envelope.recorded_at.isoformat(),
            "type": envelope.type,
            "region_code": envelope.region_code,
            "stream": f"{envelope.stream_id}@{envelope.stream_version}",
            "correlation_id": envelope.correlation_id,
            "data": envelope.data,
        },
        ensure_ascii=False,
    )


async def tail(
    settings: Settings,
    subject: str,
    since: datetime | None,
    limit: int | None,
    emit: Callable[[str], None] = print,
) -> int:
    """Print the events on ``subject`` (a NATS subject filter, e.g. ``xingcun.15.1506.150602.>``) as
    they are published, or from ``since`` on; stop after ``limit``. Reads with an ephemeral
    consumer: nothing is acknowledged or kept."""
    nc = await connect(settings.nats_url, "xingcun-tail")
    shown = 0
    try:
        js = nc.jetstream()
        queue: asyncio.Queue[bytes] = asyncio.Queue()

        async def received(msg: object) -> None:
            await queue.put(msg.data)  # type: ignore[attr-defined]

        for service in SERVICES:
            spec = stream_for(settings, service)
            overlap = subject_overlap(subject, spec.subjects[0])
            if overlap is None:
                continue  # none of this stream's subjects is asked for
            config = (
                ConsumerConfig(
                    deliver_policy=DeliverPolicy.BY_START_TIME,
                    opt_start_time=since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                )
                if since
                else ConsumerConfig(deliver_policy=DeliverPolicy.NEW)
            )
            try:
                await js.subscribe(
                    overlap, stream=spec.name, cb=received, ordered_consumer=True, config=config
                )
            except NotFoundError:
                continue  # the service has not run yet: no stream
        while limit is None or shown < limit:
            emit(event_line(Envelope.model_validate_json(await queue.get())))
            shown += 1
    finally:
        await nc.close()
    return shown
