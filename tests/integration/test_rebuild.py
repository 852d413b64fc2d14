"""A read model dropped and rebuilt from the stream equals the live one; redeliveries change
nothing; a rebuild beside the live consumer neither deadlocks nor applies anything twice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from services.pairing.app import create as pairing_app
from services.pairing.commands import (
    PairingCommands,
    RegisterEnterprise,
    RegisterVillage,
    SignAgreement,
)
from services.pairing.domain import enterprise_id_for
from services.reporting.app import create as reporting_app
from services.reporting.facts.pairing import PairingFacts
from shared.events.catalogue.pairing import AgreementSigned, VillageCategory, VillageRegistered
from shared.events.envelope import Actor
from shared.eventstore.context import CommandContext, wrap
from shared.ids import uuid7
from shared.messaging.projector import Delivery, Projector
from shared.messaging.replay import reset
from shared.runtime.rebuild import rebuild_projection
from shared.service import Runtime
from shared.settings import Settings
from tests.support.apps import running, wait_until
from tests.support.infra import consumer_idle, scalar, service_database
from tests.support.pairing import (
    agreement_body,
    credit_code,
    enterprise_body,
    village_body,
    village_code,
)

SNAPSHOTS = {
    "ledger_villages": "SELECT * FROM ledger_villages ORDER BY village_code",
    "ledger_enterprises": "SELECT * FROM ledger_enterprises ORDER BY enterprise_id",
    "ledger_agreements": (
        "SELECT agreement_id, village_code, enterprise_id, signed_on, term_years, document_ref, "
        "pathways, mode, investment_yuan, jobs, trainees, purchases_yuan, donations_yuan, status, "
        "signed_event_at FROM ledger_agreements ORDER BY agreement_id"
    ),
    "consumer_checkpoints": "SELECT * FROM consumer_checkpoints ORDER BY consumer, stream_id",
}


def context() -> CommandContext:
    actor = Actor(id="loader", role="federation_officer", region_code="150602")
    return CommandContext(actor=actor, now=datetime.now(UTC), correlation_id=str(uuid.uuid4()))


async def snapshot(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    async with runtime.engine.connect() as conn:
        return {
            table: [tuple(r) for r in (await conn.execute(text(sql))).all()]
            for table, sql in SNAPSHOTS.items()
        }


async def sign_villages(commands: PairingCommands, villages: range, per_village: int = 5) -> int:
    """Register ``villages`` with ``per_village`` enterprises each and sign their agreements."""
    for v in villages:
        await commands.register_village(context(), RegisterVillage.model_validate(village_body(v)))
        for k in range(per_village):
            n = v * per_village + k
            await commands.register_enterprise(
                context(), RegisterEnterprise.model_validate(enterprise_body(n))
            )
            body = agreement_body(
                str(enterprise_id_for(credit_code(n))),
                village_code(v),
                document_ref=f"XC-{n}",
                commitments={"investment_yuan": f"{1000 + n}.50", "jobs": n % 7},
            )
            await commands.sign_agreement(context(), SignAgreement.model_validate(body), uuid7())
    return len(villages) * (1 + 2 * per_village)


async def test_rebuilt_ledger_equals_the_live_one(settings: Settings) -> None:
    pairing, reporting = pairing_app(settings), reporting_app(settings)
    async with running(pairing), running(reporting):
        p: Runtime = pairing.state.runtime
        r: Runtime = reporting.state.runtime
        commands = PairingCommands(p.store, settings.max_active_enterprises_per_village)
        events = await sign_villages(commands, range(8))  # 40 agreements

        async def live_complete() -> bool:
            return await scalar(r, "SELECT count(*) FROM ledger_agreements") == 40

        await wait_until(live_complete, 20, "40 agreements in the live ledger")
        await wait_until(lambda: consumer_idle(r, settings), 10, "the live consumer idle")
        live = await snapshot(r)
        assert [len(live[t]) for t in ("ledger_villages", "ledger_enterprises")] == [8, 40]
        rebuild_started = await scalar(r, "SELECT clock_timestamp()")

        # Rebuild beside the running service (its durable consumer stays subscribed).
        assert await rebuild_projection("pairing-facts", settings) == events

        rebuilt = await snapshot(r)
        assert rebuilt == live
        # The rows really were written again, not left in place.
        assert (
            await scalar(
                r,
                "SELECT count(*) FROM ledger_agreements WHERE projected_at > now() - interval '1h'",
            )
            == 40
        )
        async with r.engine.connect() as conn:
            oldest = (await conn.execute(text("SELECT min(projected_at) FROM ledger_agreements"))).scalar()
        assert oldest > rebuild_started
        assert await scalar(r, "SELECT count(*) FROM dead_letters") == 0

        # Writes during a rebuild: the live consumer and the replay share the work, once each.
        writing = asyncio.create_task(sign_villages(commands, range(8, 14)))
        await rebuild_projection("pairing-facts", settings)
        await writing

        async def all_there() -> bool:
            return await scalar(r, "SELECT count(*) FROM ledger_agreements") == 70

        await wait_until(all_there, 20, "70 agreements after the rebuild with writes")
        await wait_until(lambda: consumer_idle(r, settings), 10, "the live consumer idle")
        after_writes = await snapshot(r)
        assert await scalar(r, "SELECT count(DISTINCT agreement_id) FROM ledger_agreements") == 70
        # ... and a further rebuild, with nothing moving, reproduces that model exactly.
        await rebuild_projection("pairing-facts", settings)
        assert await snapshot(r) == after_writes
        assert await scalar(r, "SELECT count(*) FROM dead_letters") == 0


async def test_a_redelivered_duplicate_changes_nothing(settings: Settings) -> None:
    pairing, reporting = pairing_app(settings), reporting_app(settings)
    async with running(pairing), running(reporting):
        p: Runtime = pairing.state.runtime
        r: Runtime = reporting.state.runtime
        commands = PairingCommands(p.store, settings.max_active_enterprises_per_village)
        events = await sign_villages(commands, range(2), per_village=2)

        stream = f"{settings.stream_prefix}PAIRING"
        await wait_until(lambda: _stream_has(p, stream, events), 10, "every event in JetStream")
        await wait_until(lambda: consumer_idle(r, settings), 10, "the live consumer idle")
        await wait_until(lambda: _agreements(r, 4), 10, "four agreements in the ledger")
        before = await snapshot(r)

        # The same envelope bytes again under another Nats-Msg-Id, so JetStream keeps both:
        # the last agreement, the first village and the first enterprise (both upserts).
        copies = 0
        for seq in (events, 1, 2):
            original = await p.js.get_msg(stream, seq)
            ack = await p.js.publish(
                original.subject,
                original.data,
                stream=stream,
                headers={"Nats-Msg-Id": str(uuid.uuid4())},
            )
            assert not ack.duplicate and ack.seq == events + copies + 1
            copies += 1

        async def copies_consumed() -> bool:
            info = await r.js.consumer_info(stream, PairingFacts.name)
            return info.delivered.stream_seq >= events + copies and await consumer_idle(r, settings)

        await wait_until(copies_consumed, 10, "the copies delivered and acknowledged")
        assert await snapshot(r) == before
        assert await scalar(r, "SELECT count(*) FROM dead_letters") == 0


async def _stream_has(runtime: Runtime, stream: str, n: int) -> bool:
    return (await runtime.js.stream_info(stream)).state.messages >= n


async def _agreements(runtime: Runtime, n: int) -> bool:
    return await scalar(runtime, "SELECT count(*) FROM ledger_agreements") == n


class _HeldLedger(PairingFacts):
    """The village ledger, but each apply waits until the test lets it go on."""

    def __init__(self, entered: asyncio.Event, release: asyncio.Event) -> None:
        self.entered, self.release = entered, release

    async def apply_many(self, conn: Any, events: Any) -> None:
        self.entered.set()
        await self.release.wait()
        await super().apply_many(conn, events)


def village_history(code: str, agreements: int) -> list[Delivery]:
    events: list[Any] = [
        VillageRegistered(village_code=code, name="村", category=VillageCategory.key_support)
    ]
    for n in range(agreements):
        body = agreement_body(str(uuid.uuid4()), code, document_ref=f"XC-{n}")
        command = SignAgreement.model_validate(body)
        events.append(
            AgreementSigned(
                agreement_id=uuid.uuid4(),
                **command.model_dump(exclude={"commitments"}),
                commitments=command.commitments,
            )
        )
    envelopes = wrap(context(), f"village-{code}", 0, code, events)
    return [
        Delivery(f"t.{e.type}", e.model_dump_json().encode(), seq, attempt=1)
        for seq, e in enumerate(envelopes, start=1)
    ]


async def test_a_reset_during_a_live_batch_does_not_deadlock(settings: Settings) -> None:
    """The live consumer has claimed a checkpoint row and is about to write the ledger when a
    rebuild resets the projection: both must complete (neither is chosen as a deadlock victim)."""
    async with service_database(settings, "reporting") as db:
        first, second, third = village_history(village_code(1), 2)
        assert [o.ack for o in await Projector(db.engine, PairingFacts()).apply_batch([first, second])] == [
            True,
            True,
        ]

        entered, release = asyncio.Event(), asyncio.Event()
        live = Projector(db.engine, _HeldLedger(entered, release))
        batch = asyncio.create_task(live.apply_batch([third]))
        await asyncio.wait_for(entered.wait(), 10)  # version 3 claimed, the ledger not written

        resetting = asyncio.create_task(reset(Projector(db.engine, PairingFacts())))
        database = settings.database_name("reporting")

        async def reset_waits() -> bool:
            waiting = await db.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND wait_event_type = 'Lock'",
                d=database,
            )
            return bool(waiting)

        await wait_until(reset_waits, 10, "the reset to wait for the live batch")
        release.set()
        outcome, reset_result = await asyncio.wait_for(
            asyncio.gather(batch, resetting, return_exceptions=True), 15
        )
        assert not isinstance(reset_result, BaseException), f"reset failed: {reset_result!r}"
        assert not isinstance(outcome, BaseException), f"live batch failed: {outcome!r}"
        assert [o.note for o in outcome] == ["applied"]
        # The live batch committed first, then the reset emptied the model and its checkpoints.
        assert await db.scalar("SELECT count(*) FROM ledger_agreements") == 0
        assert await db.scalar("SELECT count(*) FROM consumer_checkpoints") == 0
