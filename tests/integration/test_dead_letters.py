"""Events that cannot be read or applied are moved aside with the reason; the rest go on."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from services.pairing.app import create as pairing_app
from services.reporting.app import create as reporting_app
from services.reporting.facts.pairing import PairingFacts
from shared.auth import Role
from shared.events.catalogue.pairing import (
    AgreementSigned,
    Commitments,
    Mode,
    Pathway,
    VillageCategory,
    VillageRegistered,
)
from shared.events.envelope import Actor, Envelope
from shared.events.subjects import subject_for
from shared.eventstore.context import CommandContext, wrap
from shared.service import Runtime
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.infra import consumer_idle, jetstream
from tests.support.pairing import agreement_body, enterprise_body, village_body, village_code

ACTOR = Actor(id="tester", role="federation_officer", region_code="150602")


async def query(runtime: Runtime, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with runtime.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(text(sql), params)).mappings()]


async def count(runtime: Runtime, sql: str) -> int:
    return int((await query(runtime, sql))[0]["n"])


async def test_unreadable_messages_are_dead_lettered_and_the_rest_applied(
    settings: Settings,
) -> None:
    officer = token(settings, Role.federation_officer, "150602")
    pairing, reporting = pairing_app(settings), reporting_app(settings)
    async with (
        running(pairing) as client,
        running(reporting),
        jetstream(settings) as broker,
    ):
        r: Runtime = reporting.state.runtime

        async def sign(n: int) -> str:
            enterprise = await client.post("/enterprises", json=enterprise_body(n), headers=officer)
            assert enterprise.status_code == 201, enterprise.text
            body = agreement_body(enterprise.json()["id"], village_code(1))
            signed = await client.post("/agreements", json=body, headers=officer)
            assert signed.status_code == 201, signed.text
            return str(signed.json()["id"])

        assert (await client.post("/villages", json=village_body(1), headers=officer)).status_code == 201
        first = await sign(1)
        await wait_until(lambda: _has(broker, 3), 10, "the first three events in JetStream")

        # Two messages no producer of ours would send, in the middle of real events.
        subject = f"{settings.subject_root}.15.1506.150602.pairing.agreement_signed"
        garbage = {b"not json {": str(uuid.uuid4()), b'{"hello": "world"}': str(uuid.uuid4())}
        sequences = []
        for payload, msg_id in garbage.items():
            ack = await broker.js.publish(
                subject, payload, stream=broker.spec.name, headers={"Nats-Msg-Id": msg_id}
            )
            sequences.append(ack.seq)

        second = await sign(2)

        async def settled() -> bool:
            agreements = await count(r, "SELECT count(*) AS n FROM ledger_agreements")
            letters = await count(r, "SELECT count(*) AS n FROM dead_letters")
            return agreements == 2 and letters == 2

        await wait_until(settled, 15, "both agreements applied and two dead letters")
        await wait_until(lambda: consumer_idle(r, settings), 10, "every message acknowledged")

        ids = {row["agreement_id"] for row in await query(r, "SELECT agreement_id FROM ledger_agreements")}
        assert {str(i) for i in ids} == {first, second}
        assert await count(r, "SELECT count(*) AS n FROM ledger_enterprises") == 2

        letters = await query(r, "SELECT * FROM dead_letters ORDER BY stream_sequence")
        assert [row["stream_sequence"] for row in letters] == sequences
        not_json, not_envelope = letters
        for row, payload in zip(letters, garbage, strict=True):
            assert row["consumer"] == PairingFacts.name
            assert row["subject"] == subject
            assert row["payload"] == payload.decode()
            assert row["attempts"] == 1  # no retry can make these readable
            assert row["event_id"] is None and row["stream_id"] is None
            assert row["reason"].startswith("not an event envelope")
        assert "json_invalid" in not_json["reason"]
        assert "missing" in not_envelope["reason"] and "event_id" in not_envelope["reason"]

        # The second agreement's events came after the garbage in the stream.
        stream = await broker.read_all()
        assert len(stream) == 7
        assert max(sequences) < stream[-1].metadata.sequence.stream


async def _has(broker: Any, n: int) -> bool:
    return await broker.messages() >= n


def envelopes(code: str) -> list[Envelope]:
    """A village stream of four events: fine, unfit data, a failing write, fine."""
    ctx = CommandContext(actor=ACTOR, now=datetime.now(UTC), correlation_id="dead-letter-test")

    def signed(investment: str) -> AgreementSigned:
        return AgreementSigned(
            agreement_id=uuid.uuid4(),
            enterprise_id=uuid.uuid4(),
            village_code=code,
            signed_on=date(2026, 11, 1),
            term_years=3,
            document_ref="XC-DL",
            pathways=[Pathway.industry],
            mode=Mode.order_farming,
            commitments=Commitments(investment_yuan=Decimal(investment)),
        )

    events = [
        VillageRegistered(village_code=code, name="村DL", category=VillageCategory.key_support),
        signed("1.00"),  # replaced below by data that does not fit the model
        signed("1000000000000000.00"),  # fits the model, overflows numeric(16, 2) in the ledger
        signed("2.00"),
    ]
    wrapped = wrap(ctx, f"village-{code}", 0, code, events)
    wrapped[1] = wrapped[1].model_copy(update={"data": {"agreement": "yes", "term_years": "many"}})
    return wrapped


async def test_events_that_cannot_be_applied_are_dead_lettered_after_bounded_retries(
    make_settings: Any,
) -> None:
    settings: Settings = make_settings(max_apply_attempts=3)
    code = village_code(999)
    reporting = reporting_app(settings)
    async with running(reporting), jetstream(settings) as broker:
        r: Runtime = reporting.state.runtime
        stream = envelopes(code)
        for envelope in stream:
            await broker.js.publish(
                subject_for(settings.subject_root, code, envelope.type),
                envelope.model_dump_json().encode(),
                stream=broker.spec.name,
                headers={"Nats-Msg-Id": str(envelope.event_id)},
            )

        async def settled() -> bool:
            rows = await query(r, "SELECT count(*) AS n FROM ledger_agreements")
            return rows[0]["n"] == 1 and await count(r, "SELECT count(*) AS n FROM dead_letters") == 2

        await wait_until(settled, 20, "version 4 applied after two dead letters")
        await wait_until(lambda: consumer_idle(r, settings), 10, "every message acknowledged")

        [village] = await query(r, "SELECT * FROM ledger_villages")
        assert village["village_code"] == code
        [agreement] = await query(r, "SELECT * FROM ledger_agreements")
        assert str(agreement["agreement_id"]) == stream[3].data["agreement_id"]
        assert agreement["investment_yuan"] == Decimal("2.00")

        unfit, failing = await query(r, "SELECT * FROM dead_letters ORDER BY stream_version")
        # Data that does not fit its model: no retry helps, so it is moved aside at once.
        assert (unfit["stream_id"], unfit["stream_version"]) == (f"village-{code}", 2)
        assert unfit["event_id"] == stream[1].event_id
        assert unfit["attempts"] == 1
        assert unfit["reason"].startswith("apply failed: PoisonEvent")
        assert "does not fit pairing.agreement_signed v1" in unfit["reason"]
        assert json.loads(unfit["payload"]) == json.loads(stream[1].model_dump_json())
        # A write that fails: retried, then moved aside after max_apply_attempts.
        assert failing["stream_version"] == 3
        assert failing["attempts"] == settings.max_apply_attempts
        assert "numeric" in failing["reason"].lower()

        # The stream's checkpoint passed both, so later versions keep applying.
        checkpoint = await query(
            r, "SELECT version FROM consumer_checkpoints WHERE stream_id = :s", s=f"village-{code}"
        )
        assert checkpoint == [{"version": 4}]
