"""Lower-level pieces for integration tests: a migrated service database, a JetStream
connection with the service's stream, and reading back everything a stream holds."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import nats
from asyncpg.transaction import Transaction
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.facts.pairing import PairingFacts
from shared.db import migrate
from shared.db.engine import create_engine, create_pool, ensure_database
from shared.events.envelope import Envelope
from shared.events.subjects import StreamSpec, stream_for
from shared.eventstore.store import EventStore, append_envelopes
from shared.messaging.streams import ensure_stream
from shared.service import Runtime
from shared.settings import ServiceName, Settings


@dataclass
class Database:
    url: str
    engine: AsyncEngine
    store: EventStore

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()

    async def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        async with self.engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]


@contextlib.asynccontextmanager
async def service_database(
    settings: Settings, service: ServiceName = "pairing", pool_size: int = 10
) -> AsyncIterator[Database]:
    """The service's database, created and migrated, with an engine on it."""
    await ensure_database(settings.database_url, settings.database_name(service))
    url = settings.service_database_url(service)
    engine = create_engine(url, application=f"test-{service}", pool_size=pool_size)
    pool = await create_pool(url, application=f"test-{service}-store", size=pool_size)
    try:
        await migrate.upgrade(engine, service)
        yield Database(url, engine, EventStore(pool))
    finally:
        await pool.close()
        await engine.dispose()


@contextlib.asynccontextmanager
async def uncommitted_append(pool: asyncpg.Pool, envelopes: list[Envelope]) -> AsyncIterator[Transaction]:
    """Another writer's append, held open until the test commits the transaction it yields."""
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            await append_envelopes(conn, envelopes)
            yield tx
        finally:
            with contextlib.suppress(asyncpg.InterfaceError):  # already committed
                await tx.rollback()


@dataclass
class Broker:
    nc: Client
    js: JetStreamContext
    spec: StreamSpec

    async def messages(self) -> int:
        return int((await self.js.stream_info(self.spec.name)).state.messages)

    async def read_all(self) -> list[Msg]:
        return await read_stream(self.js, self.spec)


@contextlib.asynccontextmanager
async def jetstream(settings: Settings, service: ServiceName = "pairing") -> AsyncIterator[Broker]:
    """A plain nats-py connection and the service's stream (created if missing)."""
    nc = await nats.connect(
        settings.nats_url, max_reconnect_attempts=1, allow_reconnect=False, connect_timeout=3
    )
    try:
        js = nc.jetstream()
        spec = stream_for(settings, service)
        await ensure_stream(js, spec, owner=False)
        yield Broker(nc, js, spec)
    finally:
        await nc.close()


async def read_stream(js: JetStreamContext, spec: StreamSpec) -> list[Msg]:
    """Every message the stream holds now, in stream order (an ordered consumer, from seq 1)."""
    last = (await js.stream_info(spec.name)).state.last_seq
    if last == 0:
        return []
    sub = await js.subscribe(spec.subjects[0], stream=spec.name, ordered_consumer=True)
    out: list[Msg] = []
    try:
        while True:
            msg = await sub.next_msg(timeout=10)
            out.append(msg)
            if msg.metadata.sequence.stream >= last:
                return out
    finally:
        await sub.unsubscribe()


def body(msg: Msg) -> dict[str, Any]:
    return json.loads(msg.data)  # type: ignore[no-any-return]


async def scalar(runtime: Runtime, sql: str) -> Any:
    async with runtime.engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar()


async def consumer_idle(runtime: Runtime, settings: Settings) -> bool:
    info = await runtime.js.consumer_info(f"{settings.stream_prefix}PAIRING", PairingFacts.name)
    return info.num_pending == 0 and info.num_ack_pending == 0
