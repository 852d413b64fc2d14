"""Concurrent signing: every agreement reaches the ledger exactly once, and the pairing rules
hold under concurrency (refusals are clear and write nothing)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from services.pairing.app import create as pairing_app
from services.pairing.commands import PairingCommands, RegisterEnterprise, RegisterVillage
from services.pairing.domain import enterprise_id_for, village_stream
from services.reporting.app import create as reporting_app
from shared.auth import Role
from shared.events.envelope import Actor
from shared.eventstore.context import CommandContext
from shared.service import Runtime
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.infra import consumer_idle, scalar
from tests.support.pairing import (
    agreement_body,
    credit_code,
    enterprise_body,
    village_body,
    village_code,
)

VILLAGES = 400
PER_VILLAGE = 5
AGREEMENTS = VILLAGES * PER_VILLAGE
WRITERS = 16


def context() -> CommandContext:
    actor = Actor(id="loader", role="federation_officer", region_code="150602")
    return CommandContext(actor=actor, now=datetime.now(UTC), correlation_id=str(uuid.uuid4()))


async def in_parallel(jobs: Iterable[Callable[[], Awaitable[Any]]], workers: int) -> None:
    queue: asyncio.Queue[Callable[[], Awaitable[Any]]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def work() -> None:
        while not queue.empty():
            await (queue.get_nowait())()

    await asyncio.gather(*(work() for _ in range(workers)))


async def test_2000_agreements_from_16_writers_reach_the_ledger_once(settings: Settings) -> None:
    officer = token(settings, Role.federation_officer, "150602")
    pairing, reporting = pairing_app(settings), reporting_app(settings)
    async with running(pairing) as client, running(reporting):
        p: Runtime = pairing.state.runtime
        r: Runtime = reporting.state.runtime
        commands = PairingCommands(p.store, settings.max_active_enterprises_per_village)

        villages = [village_code(v) for v in range(VILLAGES)]
        await in_parallel(
            (
                lambda v=v: commands.register_village(
                    context(), RegisterVillage.model_validate(village_body(v))
                )
                for v in range(VILLAGES)
            ),
            WRITERS,
        )
        await in_parallel(
            (
                lambda n=n: commands.register_enterprise(
                    context(), RegisterEnterprise.model_validate(enterprise_body(n))
                )
                for n in range(AGREEMENTS)
            ),
            WRITERS,
        )

        # In random order: writers mostly touch different villages, but now and then two sign
        # for one village at once, and the loser retries after its 409 (concurrent change).
        work = [
            (villages[v], str(enterprise_id_for(credit_code(v * PER_VILLAGE + k))))
            for k in range(PER_VILLAGE)
            for v in range(VILLAGES)
        ]
        random.Random(2026).shuffle(work)
        statuses: Counter[str] = Counter()
        signed: list[str] = []

        def sign(village: str, enterprise: str) -> Callable[[], Awaitable[None]]:
            async def attempt() -> None:
                body = agreement_body(enterprise, village, document_ref=f"XC-{enterprise[:8]}")
                while True:
                    response = await client.post("/agreements", json=body, headers=officer)
                    if response.status_code == 201:
                        statuses["201"] += 1
                        signed.append(response.json()["id"])
                        return
                    problem = response.json()
                    statuses[f"{response.status_code} {problem['type'].rsplit('/', 1)[-1]}"] += 1
                    assert problem["type"].endswith("/concurrent_change"), response.text

            return attempt

        await asyncio.wait_for(in_parallel((sign(*w) for w in work), WRITERS), 60)
        assert statuses["201"] == AGREEMENTS, statuses
        assert len(set(signed)) == AGREEMENTS

        # The writers are done; the relay and the ledger catch up.
        async def ledger_complete() -> bool:
            return await scalar(r, "SELECT count(*) FROM ledger_agreements") >= AGREEMENTS

        await wait_until(ledger_complete, 45, f"{AGREEMENTS} agreements in the ledger")
        await wait_until(lambda: consumer_idle(r, settings), 15, "the ledger consumer idle")

        assert await scalar(r, "SELECT count(*) FROM ledger_agreements") == AGREEMENTS
        assert await scalar(r, "SELECT count(DISTINCT agreement_id) FROM ledger_agreements") == AGREEMENTS
        async with r.engine.connect() as conn:
            ledger_ids = {
                str(row[0]) for row in await conn.execute(text("SELECT agreement_id FROM ledger_agreements"))
            }
            per_village = Counter(
                row[0] for row in await conn.execute(text("SELECT village_code FROM ledger_agreements"))
            )
        assert ledger_ids == set(signed)
        assert set(per_village.values()) == {PER_VILLAGE} and len(per_village) == VILLAGES
        assert await scalar(r, "SELECT count(*) FROM ledger_villages") == VILLAGES
        assert await scalar(r, "SELECT count(*) FROM ledger_enterprises") == AGREEMENTS
        assert await scalar(r, "SELECT count(*) FROM dead_letters") == 0

        # The source agrees: one event per agreement in the store, each relayed once.
        events = VILLAGES + AGREEMENTS + AGREEMENTS
        assert (
            await scalar(p, "SELECT count(*) FROM events WHERE type = 'pairing.agreement_signed'")
            == AGREEMENTS
        )
        assert await scalar(p, "SELECT relayed FROM relay_cursor") == events
        stream = await p.js.stream_info(f"{settings.stream_prefix}PAIRING")
        assert stream.state.messages == events

        # And it stays exactly 2,000: nothing is still in flight to be applied twice.
        await asyncio.sleep(0.5)
        await wait_until(lambda: consumer_idle(r, settings), 15, "the ledger consumer idle")
        assert await scalar(r, "SELECT count(*) FROM ledger_agreements") == AGREEMENTS
        assert p.relay.stats.duplicates == 0


async def test_pairing_rules_refuse_clearly_and_write_nothing(settings: Settings) -> None:
    officer = token(settings, Role.federation_officer, "150602")
    pairing = pairing_app(settings)
    async with running(pairing) as client:
        store = pairing.state.runtime.store
        village = village_code(1)
        assert (await client.post("/villages", json=village_body(1), headers=officer)).status_code == 201
        enterprises = []
        for n in range(7):
            r = await client.post("/enterprises", json=enterprise_body(n), headers=officer)
            assert r.status_code == 201, r.text
            enterprises.append(r.json()["id"])

        async def sign(enterprise: str, code: str = village) -> Any:
            return await client.post("/agreements", json=agreement_body(enterprise, code), headers=officer)

        # Five enterprises sign concurrently; with retries after a 409 they all get in.
        async def sign_retrying(enterprise: str) -> int:
            while True:
                r = await sign(enterprise)
                if r.status_code == 409 and r.json()["type"].endswith("/concurrent_change"):
                    continue
                return r.status_code

        assert await asyncio.gather(*(sign_retrying(e) for e in enterprises[:5])) == [201] * 5

        async def version() -> int:
            return len(await store.load(village_stream(village)))

        assert await version() == 6

        def refused(response: Any, status: int, rule: str, field: str) -> None:
            assert response.status_code == status, response.text
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert problem["status"] == status
            assert problem["rule"] == rule
            assert problem["type"].endswith(f"/{rule}")
            assert [e["field"] for e in problem["errors"]] == [field]

        sixth = await sign(enterprises[5])
        refused(sixth, 409, "at_most_n_active_enterprises_per_village", "village_code")
        assert "5" in sixth.json()["detail"]

        again = await sign(enterprises[0])
        refused(again, 409, "one_active_agreement_per_pair", "enterprise_id")

        unknown = await sign(str(uuid.uuid4()))
        refused(unknown, 404, "enterprise_must_exist", "enterprise_id")

        unregistered = await sign(enterprises[6], village_code(2))
        refused(unregistered, 404, "village_must_exist", "village_code")

        # Nothing was written by any refusal.
        assert await version() == 6
        assert len(await store.load(village_stream(village_code(2)))) == 0
        async with pairing.state.runtime.engine.connect() as conn:
            total = (await conn.execute(text("SELECT count(*) FROM events"))).scalar()
        assert total == 1 + 7 + 5
