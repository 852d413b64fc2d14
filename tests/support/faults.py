"""Helpers for the fault tests: a burst of concurrent signings, and what the databases and
JetStream hold afterwards."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from nats.js.errors import NotFoundError

from shared.db.engine import asyncpg_dsn
from shared.settings import ServiceName, Settings
from tests.support.apps import wait_until
from tests.support.infra import jetstream
from tests.support.pairing import agreement_body, enterprise_body, village_body, village_code

LEDGER_CONSUMER = "reporting-pairing-facts"


@dataclass
class Burst:
    """What the writers of a burst saw."""

    planned: int
    accepted: list[str] = field(default_factory=list)  # agreement ids answered 201
    # Pairs whose answer was lost (the service died) and whose retry found them signed (409).
    lost_answer_but_signed: int = 0
    transport_errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)

    @property
    def settled(self) -> int:
        return len(self.accepted) + self.lost_answer_but_signed


async def register_parties(
    client: httpx.AsyncClient, headers: dict[str, str], villages: int, enterprises: int
) -> list[str]:
    """Register the enterprises and villages a burst signs between; the enterprise ids."""
    ids = []
    for n in range(1, enterprises + 1):
        r = await client.post("/enterprises", json=enterprise_body(n), headers=headers)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])

    async def village(n: int) -> None:
        r = await client.post("/villages", json=village_body(n), headers=headers)
        assert r.status_code == 201, r.text

    for start in range(1, villages + 1, 20):
        await asyncio.gather(*(village(n) for n in range(start, min(start + 20, villages + 1))))
    return ids


async def sign_burst(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    villages: int,
    enterprise_ids: list[str],
    *,
    writers: int,
    burst: Burst | None = None,
    retry_for: float = 0.0,
) -> Burst:
    """Sign every (village, enterprise) pair once, ``writers`` at a time.

    Each writer owns whole villages, so writers never race for one aggregate (no 409s). When the
    service is unreachable (``retry_for`` > 0) the writer retries the same pair until it answers:
    a 409 ``one_active_agreement_per_pair`` then means the lost attempt had committed.
    """
    pairs = [(v, e) for v in range(1, villages + 1) for e in enterprise_ids]
    burst = burst or Burst(planned=len(pairs))

    async def writer(k: int) -> None:
        for v, enterprise_id in pairs:
            if v % writers != k:
                continue
            body = agreement_body(enterprise_id, village_code(v))
            lost = False
            deadline = asyncio.get_running_loop().time() + retry_for
            while True:
                try:
                    r = await client.post("/agreements", json=body, headers=headers, timeout=30)
                except httpx.TransportError as exc:
                    burst.transport_errors += 1
                    if asyncio.get_running_loop().time() > deadline:
                        burst.unexpected.append(f"v{v}: gave up after {exc!r}")
                        break
                    lost = True
                    await asyncio.sleep(0.1)
                    continue
                burst.statuses[r.status_code] += 1
                if r.status_code == 201:
                    burst.accepted.append(r.json()["id"])
                elif (
                    r.status_code == 409 and lost and r.json().get("rule") == "one_active_agreement_per_pair"
                ):
                    burst.lost_answer_but_signed += 1
                else:
                    burst.unexpected.append(f"v{v}: {r.status_code} {r.text[:200]}")
                break

    await asyncio.gather(*(writer(k) for k in range(writers)))
    return burst


async def until_settled(burst: Burst, at_least: int) -> None:
    """Return as soon as ``at_least`` pairs of the burst are settled (a fault trigger)."""
    await wait_until(lambda: burst.settled >= at_least, 120, f"{at_least} settled", interval=0.01)


async def query(settings: Settings, service: ServiceName, sql: str, *args: object) -> list[Any]:
    conn = await asyncpg.connect(asyncpg_dsn(settings.service_database_url(service)))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


@dataclass(frozen=True)
class Ledger:
    rows: int
    distinct: int
    ids: frozenset[str]
    dead_letters: list[str]
    full_villages: int  # village streams whose checkpoint reached registration + 5 signings


async def ledger(settings: Settings) -> Ledger:
    rows = await query(settings, "reporting", "SELECT agreement_id::text FROM ledger_agreements")
    ids = [r[0] for r in rows]
    dead = await query(settings, "reporting", "SELECT reason FROM dead_letters ORDER BY id")
    full = await query(
        settings,
        "reporting",
        "SELECT count(*) FROM consumer_checkpoints "
        "WHERE consumer = $1 AND stream_id LIKE 'village-%' AND version = 6",
        LEDGER_CONSUMER,
    )
    return Ledger(len(ids), len(set(ids)), frozenset(ids), [r[0] for r in dead], full[0][0])


async def ledger_rows(settings: Settings) -> int:
    rows = await query(settings, "reporting", "SELECT count(*) FROM ledger_agreements")
    return int(rows[0][0])


async def signed_in_store(settings: Settings) -> list[str]:
    """Agreement ids of every agreement_signed event the pairing event store holds."""
    rows = await query(
        settings,
        "pairing",
        "SELECT envelope::jsonb -> 'data' ->> 'agreement_id' FROM events "
        "WHERE type = 'pairing.agreement_signed'",
    )
    return [r[0] for r in rows]


async def relayed_total(settings: Settings) -> int:
    """Rows the relay had acknowledged by JetStream, counting each re-publication again."""
    rows = await query(settings, "pairing", "SELECT coalesce(sum(relayed), 0) FROM relay_cursor")
    return int(rows[0][0])


@dataclass(frozen=True)
class StreamState:
    messages: int
    delivered_consumer_seq: int  # deliveries to the ledger's durable, redeliveries included
    delivered_stream_seq: int
    ack_pending: int
    pending: int

    @property
    def drained(self) -> bool:
        return self.ack_pending == 0 and self.pending == 0

    @property
    def redeliveries(self) -> int:
        return self.delivered_consumer_seq - self.delivered_stream_seq


async def stream_state(settings: Settings) -> StreamState:
    """The pairing stream and the ledger's durable consumer on it."""
    async with jetstream(settings) as broker:
        js, name = broker.js, broker.spec.name
        info = await js.stream_info(name)
        try:
            c = await js.consumer_info(name, LEDGER_CONSUMER)
        except NotFoundError:
            return StreamState(info.state.messages, 0, 0, 0, info.state.messages)
        return StreamState(
            info.state.messages,
            c.delivered.consumer_seq or 0,
            c.delivered.stream_seq or 0,
            c.num_ack_pending or 0,
            c.num_pending or 0,
        )


def grep(path: Path, *needles: str) -> list[str]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if any(n in line for n in needles)]


async def stream_event_ids(settings: Settings) -> list[str]:
    """The ``Nats-Msg-Id`` (= event id) of every message in the pairing stream, in order."""
    async with jetstream(settings) as broker:
        js, name = broker.js, broker.spec.name
        info = await js.stream_info(name)
        ids = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await js.get_msg(name, seq)
            except NotFoundError:
                continue
            ids.append((msg.headers or {}).get("Nats-Msg-Id", "?"))
        return ids


async def diagnose(settings: Settings) -> str:
    """Where the events stand, for a failure message: the store, the relay, JetStream, ledger."""
    lines = []
    try:
        events = await query(settings, "pairing", "SELECT event_id::text FROM events")
        cursor = await query(settings, "pairing", "SELECT * FROM relay_cursor")
        lines.append(f"pairing store: {len(events)} events; relay cursor {[dict(r) for r in cursor]}")
        in_stream = await stream_event_ids(settings)
        missing = {r[0] for r in events} - set(in_stream)
        lines.append(
            f"stream: {len(in_stream)} messages ({len(set(in_stream))} distinct); "
            f"{len(missing)} stored events never reached it: {sorted(missing)[:5]}"
        )
        lines.append(f"consumer: {await stream_state(settings)}")
        state = await ledger(settings)
        lines.append(
            f"ledger: {state.rows} rows, {state.full_villages} complete villages, "
            f"dead letters {state.dead_letters[:3]}"
        )
        behind = await query(
            settings,
            "reporting",
            "SELECT stream_id, version FROM consumer_checkpoints WHERE consumer = $1 "
            "AND stream_id LIKE 'village-%' AND version < 6 ORDER BY stream_id LIMIT 10",
            LEDGER_CONSUMER,
        )
        lines.append(f"checkpoints behind: {[tuple(r) for r in behind]}")
    except Exception as exc:  # a diagnosis must not hide the failure it explains
        lines.append(f"(diagnosis failed: {exc!r})")
    return "\n".join(lines)


async def wait_for_ledger(settings: Settings, condition: Any, seconds: float, what: str) -> None:
    """``wait_until``, with a diagnosis of the pipeline in the failure message."""
    try:
        await wait_until(condition, seconds, what, interval=0.2)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{await diagnose(settings)}") from None


@contextlib.asynccontextmanager
async def table_locked(settings: Settings, service: ServiceName, table: str) -> AsyncIterator[None]:
    """Hold ``table`` in EXCLUSIVE mode: a consumer writing to it stalls inside its transaction."""
    conn = await asyncpg.connect(asyncpg_dsn(settings.service_database_url(service)))
    try:
        async with conn.transaction():
            await conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
            yield
    finally:
        await conn.close()


async def blocked_on_lock(settings: Settings, service: ServiceName) -> bool:
    """Whether a connection of ``service`` waits for a lock inside an open transaction."""
    rows = await query(
        settings,
        service,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = $1 AND wait_event_type = 'Lock' AND xact_start IS NOT NULL",
        f"xingcun-{service}",
    )
    return int(rows[0][0]) > 0
