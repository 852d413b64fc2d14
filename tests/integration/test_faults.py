"""Faults against real servers: the broker, the consumer's process, the producer's process and its
relay die part-way through a burst; every accepted write still reaches the ledger exactly once.

These tests start their own ``nats-server`` when they kill it (never the machine's), and run the
services as child processes when they kill those.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from services.pairing.app import create as pairing_app
from services.pairing.commands import (
    PairingCommands,
    RegisterEnterprise,
    RegisterVillage,
    SignAgreement,
)
from services.reporting.app import create as reporting_app
from shared.auth import Role
from shared.db import migrate
from shared.db.engine import create_engine, create_pool, ensure_database
from shared.events.envelope import Actor
from shared.events.subjects import stream_for
from shared.eventstore.context import CommandContext
from shared.eventstore.store import EventStore
from shared.ids import uuid7
from shared.messaging.relay import OutboxRelay
from shared.messaging.streams import connect, ensure_stream, stream_config
from shared.runtime.embedded import NatsServer
from shared.settings import Settings
from tests.support.apps import ServiceProcess, running, token, wait_until
from tests.support.faults import (
    LEDGER_CONSUMER,
    Burst,
    blocked_on_lock,
    grep,
    ledger,
    ledger_rows,
    query,
    register_parties,
    relayed_total,
    sign_burst,
    signed_in_store,
    stream_state,
    table_locked,
    until_settled,
    wait_for_ledger,
)
from tests.support.pairing import (
    agreement_body,
    enterprise_body,
    village_body,
    village_code,
)

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

VILLAGES = 120
ENTERPRISES = 5  # every village signs with each: 600 agreements, the most a village may hold
WRITERS = 8
# A delivery held by a killed consumer comes back after the durable's ack_wait (30 s).
CONVERGE_S = 90


async def converged(settings: Settings, expected: int) -> bool:
    return await ledger_rows(settings) >= expected and (await stream_state(settings)).drained


def stop_all(*processes: ServiceProcess) -> None:
    for process in processes:
        process.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server of the test's own, which it may kill. Ask for it before ``make_settings``:
    it then outlives the cleanup that deletes the test's streams on it."""
    server = NatsServer(tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


async def test_broker_killed_mid_burst_loses_and_doubles_nothing(
    broker: NatsServer, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """nats-server SIGKILLed a third of the way through 600 signings by 8 writers, restarted
    1.5 s later on the same port and store: the API keeps accepting (the outbox holds the events),
    the relay and the consumer reconnect, and the ledger holds every accepted agreement once."""
    settings = make_settings(nats_url=broker.url)
    officer = token(settings, Role.federation_officer, "150602")
    pairing = ServiceProcess("pairing", settings, tmp_path)
    reporting = ServiceProcess("reporting", settings, tmp_path)
    try:
        await pairing.start()
        await reporting.start()
        async with httpx.AsyncClient(base_url=pairing.url) as client:
            enterprises = await register_parties(client, officer, VILLAGES, ENTERPRISES)
            burst = Burst(planned=VILLAGES * ENTERPRISES)

            async def outage() -> tuple[int, int]:
                await until_settled(burst, burst.planned // 3)
                broker.kill()
                at_kill = (len(burst.accepted), await ledger_rows(settings))
                await asyncio.sleep(1.5)  # the broker stays down while writers go on
                broker.start()  # same port, same store directory
                return at_kill

            writing = sign_burst(client, officer, VILLAGES, enterprises, writers=WRITERS, burst=burst)
            _, (accepted_at_kill, ledger_at_kill) = await asyncio.gather(writing, outage())

        # The command side does not need the broker: the API accepted every write.
        assert burst.unexpected == [] and burst.transport_errors == 0, burst
        assert len(burst.accepted) == burst.planned
        # The broker died mid-burst, with writes and deliveries still to come.
        assert 0 < accepted_at_kill < burst.planned
        assert ledger_at_kill < burst.planned

        await wait_for_ledger(
            settings,
            lambda: converged(settings, len(burst.accepted)),
            CONVERGE_S,
            f"the ledger to hold the {len(burst.accepted)} accepted agreements",
        )
        result = await ledger(settings)
        assert result.rows == result.distinct == len(burst.accepted)
        assert result.ids == set(burst.accepted)
        assert result.dead_letters == []
        assert result.full_villages == VILLAGES
        # Every event is in the stream once: re-publications were dropped as duplicates.
        state = await stream_state(settings)
        assert state.messages == VILLAGES + ENTERPRISES + len(burst.accepted)
        log.warning(
            "broker kill: accepted at kill %d, ledger at kill %d; %d redeliveries to the ledger; "
            "relay retries: %s",
            accepted_at_kill,
            ledger_at_kill,
            state.redeliveries,
            grep(pairing.log_path, "relay jetstream failed"),
        )
    finally:
        stop_all(pairing, reporting)


async def test_consumer_process_killed_mid_batch_applies_each_event_once(
    settings: Settings, tmp_path: Path
) -> None:
    """The reporting process SIGKILLed while stalled inside a batch's transaction during a burst,
    then restarted: the batch is redelivered and applied once. Then its durable is deleted so that
    every event arrives again: the checkpoints make all of it a no-op."""
    officer = token(settings, Role.federation_officer, "150602")
    reporting = ServiceProcess("reporting", settings, tmp_path)
    try:
        async with running(pairing_app(settings)) as client:
            await reporting.start()
            enterprises = await register_parties(client, officer, VILLAGES, ENTERPRISES)
            burst = Burst(planned=VILLAGES * ENTERPRISES)

            async def crash_and_restart() -> tuple[int, int]:
                await wait_until(
                    lambda: ledger_rows_at_least(settings, burst.planned // 4),
                    60,
                    "the ledger to fill part-way",
                    interval=0.01,
                )
                # Stall the consumer inside a batch's transaction (its checkpoints claimed, not
                # committed, nothing acknowledged), then kill it there.
                async with table_locked(settings, "reporting", "ledger_agreements"):
                    await wait_until(
                        lambda: stalled_mid_batch(settings), 30, "the consumer to stall mid-batch"
                    )
                    reporting.kill()  # SIGKILL
                    at_kill = (
                        await ledger_rows(settings),
                        (await stream_state(settings)).ack_pending,
                    )
                await reporting.start()
                return at_kill

            _, (ledger_at_kill, unacked_at_kill) = await asyncio.gather(
                sign_burst(client, officer, VILLAGES, enterprises, writers=WRITERS, burst=burst),
                crash_and_restart(),
            )
            assert burst.unexpected == [] and len(burst.accepted) == burst.planned, burst
            assert 0 < ledger_at_kill < burst.planned
            assert unacked_at_kill > 0  # the batch it died in was delivered, not acknowledged

            await wait_for_ledger(
                settings,
                lambda: converged(settings, burst.planned),
                CONVERGE_S,
                "the restarted consumer to catch up",
            )
            result = await ledger(settings)
            assert result.rows == result.distinct == burst.planned
            assert result.ids == set(burst.accepted)
            assert result.dead_letters == []
            assert result.full_villages == VILLAGES
            after_crash = await stream_state(settings)

            # Now every event arrives a second time: a new durable starts from the first event.
            # The checkpoints must turn all of it into no-ops (no row written, none refused).
            reporting.kill()
            last_write = await query(settings, "reporting", "SELECT max(projected_at) FROM ledger_agreements")
            await delete_ledger_consumer(settings)
            await reporting.start()
            await wait_for_ledger(
                settings,
                lambda: redelivered_everything(settings, after_crash.messages),
                CONVERGE_S,
                "every event to be delivered again",
            )
            again = await ledger(settings)
            assert again == result
            assert (
                await query(settings, "reporting", "SELECT max(projected_at) FROM ledger_agreements")
                == last_write
            )
            log.warning(
                "consumer kill: ledger at kill %d of %d, %d deliveries unacked at kill; "
                "%d redeliveries after the crash",
                ledger_at_kill,
                burst.planned,
                unacked_at_kill,
                after_crash.redeliveries,
            )
    finally:
        reporting.stop()


async def ledger_rows_at_least(settings: Settings, rows: int) -> bool:
    return await ledger_rows(settings) >= rows


async def stalled_mid_batch(settings: Settings) -> bool:
    return await blocked_on_lock(settings, "reporting") and (await stream_state(settings)).ack_pending > 0


async def delete_ledger_consumer(settings: Settings) -> None:
    nc = await connect(settings.nats_url, "test-faults")
    try:
        await nc.jetstream().delete_consumer(stream_for(settings, "pairing").name, LEDGER_CONSUMER)
    finally:
        await nc.close()


async def redelivered_everything(settings: Settings, messages: int) -> bool:
    state = await stream_state(settings)
    return state.delivered_stream_seq >= messages and state.drained


class RelayDied(BaseException):
    """Stands for the relay's process dying: nothing in the relay catches it."""


class DiesAfterPublishing(OutboxRelay):
    """The real relay, dying right after JetStream acknowledged its ``fatal_batch``-th batch and
    before the cursor moves past it."""

    def __init__(self, *args: object, fatal_batch: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fatal_batch = fatal_batch
        self.batches = 0

    async def _publish(self, rows: list) -> tuple[int, BaseException | None]:  # type: ignore[type-arg]
        acked, error = await super()._publish(rows)
        self.batches += 1
        if self.batches == self.fatal_batch:
            assert (acked, error) == (len(rows), None)
            raise RelayDied
        return acked, error


async def test_relay_dying_between_publish_and_cursor_republishes_harmlessly(
    settings: Settings,
) -> None:
    """The real relay dies after JetStream acknowledged a batch and before its cursor moved: a
    fresh relay publishes that batch again, JetStream reports each row a duplicate, the ledger
    holds each event once. Past the duplicate window the rows are stored twice, and the
    consumer's checkpoints alone keep the ledger unchanged."""
    villages, batch = 40, 50
    pairing_url = settings.service_database_url("pairing")
    await ensure_database(settings.database_url, settings.database_name("pairing"))
    engine = create_engine(pairing_url, application="test-faults")
    nc = await connect(settings.nats_url, "test-faults-relay")
    try:
        await migrate.upgrade(engine, "pairing")
        spec = stream_for(settings, "pairing")
        js = nc.jetstream()
        await ensure_stream(js, spec, owner=True)
        total = await write_pairings(pairing_url, villages)  # events in the outbox, none relayed

        def relay(cls: type[OutboxRelay] = OutboxRelay, **kw: int) -> OutboxRelay:
            return cls(
                pairing_url,
                js,
                subject_root=settings.subject_root,
                stream_name=spec.name,
                batch_size=batch,
                **kw,
            )

        dying = relay(DiesAfterPublishing, fatal_batch=3)
        assert isinstance(dying, DiesAfterPublishing)
        with pytest.raises(RelayDied):
            await asyncio.wait_for(dying.run(), 30)
        # JetStream holds three batches; the cursor stands after the second.
        assert (await stream_state(settings)).messages == 3 * batch
        assert await relayed_total(settings) == 2 * batch

        fresh = relay()
        task = asyncio.create_task(fresh.run())
        try:
            await wait_until(
                lambda: fresh.stats.published == total - 2 * batch,
                30,
                "the fresh relay to publish the rest",
            )
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # The third batch went out again and JetStream recognised every row of it.
        assert fresh.stats.duplicates == batch
        assert (await stream_state(settings)).messages == total
        assert await relayed_total(settings) == total  # each row counted once

        signed = await signed_in_store(settings)
        async with running(reporting_app(settings)):
            await wait_for_ledger(
                settings,
                lambda: converged(settings, len(signed)),
                CONVERGE_S,
                "the ledger to hold every agreement",
            )
            result = await ledger(settings)
            assert result.rows == result.distinct == len(signed) == villages * ENTERPRISES
            assert result.ids == set(signed)
            assert result.dead_letters == []

            # Past JetStream's duplicate window a re-publication is stored again: then the
            # consumer's checkpoints alone must keep it from being applied twice.
            await js.update_stream(stream_config(replace(spec, duplicate_window_s=0.5)))
            await asyncio.sleep(1.5)  # let the window pass; not an assertion
            await reset_relay_cursor(settings)
            again = relay()
            task = asyncio.create_task(again.run())
            try:
                await wait_until(
                    lambda: again.stats.published == total, 30, "every row to be published again"
                )
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            assert again.stats.duplicates == 0
            assert (await stream_state(settings)).messages == 2 * total
            await wait_for_ledger(
                settings,
                lambda: redelivered_everything(settings, 2 * total),
                CONVERGE_S,
                "the consumer to take the re-published events",
            )
            assert await ledger(settings) == result
    finally:
        await nc.close()
        await engine.dispose()


async def write_pairings(url: str, villages: int) -> int:
    """Register and sign through the real command handlers, with no relay running."""
    pool = await create_pool(url, application="test-faults-writer")
    try:
        return await _write_pairings(PairingCommands(EventStore(pool), ENTERPRISES), villages)
    finally:
        await pool.close()


async def _write_pairings(commands: PairingCommands, villages: int) -> int:
    ctx = CommandContext(
        actor=Actor(id="tester", role=Role.federation_officer.value, region_code="150602"),
        now=datetime.now(UTC),
        correlation_id="test-faults",
    )
    enterprise_ids = [
        await commands.register_enterprise(ctx, RegisterEnterprise(**enterprise_body(n)))
        for n in range(1, ENTERPRISES + 1)
    ]
    for v in range(1, villages + 1):
        await commands.register_village(ctx, RegisterVillage(**village_body(v)))
        for enterprise_id in enterprise_ids:
            body = agreement_body(str(enterprise_id), village_code(v))
            await commands.sign_agreement(ctx, SignAgreement(**body), uuid7())
    return ENTERPRISES + villages * (1 + ENTERPRISES)


async def reset_relay_cursor(settings: Settings) -> None:
    await query(settings, "pairing", "UPDATE relay_cursor SET last_tx = '0', last_position = 0")


async def test_producer_killed_repeatedly_mid_burst_loses_and_doubles_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    """The pairing process (API and relay) SIGKILLed three times during a burst and restarted
    each time; writers retry a request that got no answer (a 409 on retry means the lost attempt
    had committed). Every committed agreement reaches the ledger once; the stream holds each
    event once although the relay died mid-work."""
    officer = token(settings, Role.federation_officer, "150602")
    pairing = ServiceProcess("pairing", settings, tmp_path)
    kills = 3
    try:
        await pairing.start()
        async with (
            running(reporting_app(settings)),
            httpx.AsyncClient(base_url=pairing.url) as client,
        ):
            enterprises = await register_parties(client, officer, VILLAGES, ENTERPRISES)
            burst = Burst(planned=VILLAGES * ENTERPRISES)

            async def crash_repeatedly() -> list[int]:
                at_kills = []
                for k in range(1, kills + 1):
                    await until_settled(burst, k * burst.planned // (kills + 1))
                    pairing.kill()  # SIGKILL: requests, transactions and the relay die mid-way
                    at_kills.append(burst.settled)
                    await pairing.start()
                return at_kills

            _, at_kills = await asyncio.gather(
                sign_burst(
                    client,
                    officer,
                    VILLAGES,
                    enterprises,
                    writers=WRITERS,
                    burst=burst,
                    retry_for=90,
                ),
                crash_repeatedly(),
            )
            assert burst.unexpected == [], burst.unexpected
            assert burst.settled == burst.planned
            assert all(0 < n < burst.planned for n in at_kills), at_kills

            signed = await signed_in_store(settings)
            assert len(signed) == len(set(signed)) == burst.planned
            assert set(burst.accepted) <= set(signed)
            await wait_for_ledger(
                settings,
                lambda: converged(settings, burst.planned),
                CONVERGE_S,
                "the ledger to hold every signed agreement",
            )
        result = await ledger(settings)
        assert result.rows == result.distinct == burst.planned
        assert result.ids == set(signed)
        assert result.dead_letters == []
        assert result.full_villages == VILLAGES
        state = await stream_state(settings)
        assert state.messages == VILLAGES + ENTERPRISES + burst.planned
        log.warning(
            "producer kills at %s settled; %d requests failed around the kills, %d had committed; "
            "pairing log errors: %s",
            at_kills,
            burst.transport_errors,
            burst.lost_answer_but_signed,
            grep(pairing.log_path, "Traceback", "ERROR")[:5],
        )
    finally:
        pairing.stop()
