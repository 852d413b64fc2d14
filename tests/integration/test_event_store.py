"""The PostgreSQL event store: optimistic concurrency, ordered loads, and the API's 409."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from services.pairing.app import create as pairing_app
from services.pairing.domain import village_stream
from shared.auth import Role
from shared.events.catalogue.pairing import VillageCategory, VillageRegistered
from shared.events.envelope import Actor, Envelope
from shared.eventstore.context import CommandContext, wrap
from shared.eventstore.store import ConcurrencyConflict
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.infra import service_database, uncommitted_append
from tests.support.pairing import village_body, village_code

ACTOR = Actor(id="tester", role="federation_officer", region_code="150602")


def events_for(stream_id: str, after: int, count: int, tag: str = "") -> list[Envelope]:
    ctx = CommandContext(actor=ACTOR, now=datetime.now(UTC), correlation_id=f"corr{tag}")
    data = [
        VillageRegistered(
            village_code=village_code(1), name=f"村{tag}{i}", category=VillageCategory.key_support
        )
        for i in range(count)
    ]
    return wrap(ctx, stream_id, after, village_code(1), data)


async def test_two_concurrent_appends_at_the_same_version_one_wins(settings: Settings) -> None:
    async with service_database(settings) as db:
        stream = "village-concurrent"
        async with db.store.session() as s:
            s.append(0, events_for(stream, 0, 2, "base"))

        both_loaded = asyncio.Barrier(2)

        async def writer(tag: str) -> str:
            async with db.store.session() as s:
                version = await s.version(stream)
                history = await s.load(stream)
                assert version == len(history) == 2
                await both_loaded.wait()  # neither appends before both have loaded version 2
                s.append(version, events_for(stream, version, 2, tag))
            return tag

        results = await asyncio.wait_for(
            asyncio.gather(writer("a"), writer("b"), return_exceptions=True), timeout=30
        )
        winners = [r for r in results if isinstance(r, str)]
        losers = [r for r in results if isinstance(r, BaseException)]
        assert len(winners) == 1 and len(losers) == 1, results
        conflict = losers[0]
        assert isinstance(conflict, ConcurrencyConflict)
        assert (conflict.stream_id, conflict.expected_version) == (stream, 2)

        stored = await db.store.load(stream)
        assert [e.stream_version for e in stored] == [1, 2, 3, 4]
        # Only the winner's events are there, and the loser wrote nothing at all.
        assert {e.data["name"][:2] for e in stored[2:]} == {f"村{winners[0]}"}
        assert await db.scalar("SELECT count(*) FROM events") == 4


async def test_load_returns_the_stream_in_order_as_written(settings: Settings) -> None:
    async with service_database(settings) as db:
        written: list[Envelope] = []
        async with db.store.session() as s:
            batch = events_for("village-x", 0, 3, "x")
            s.append(0, batch)
            written += batch
        # Interleave another stream so that global order and stream order differ.
        async with db.store.session() as s:
            s.append(0, events_for("village-y", 0, 2, "y"))
        async with db.store.session() as s:
            batch = events_for("village-x", 3, 2, "x")
            s.append(3, batch)
            written += batch

        loaded = await db.store.load("village-x")
        assert loaded == written  # the envelopes round-trip unchanged
        assert [e.stream_version for e in loaded] == [1, 2, 3, 4, 5]
        async with db.store.session() as s:
            assert [e.stream_version for e in await s.load("village-x", after_version=3)] == [4, 5]
            assert await s.version("village-x") == 5
            assert await s.version("village-none") == 0
            assert await s.load("village-none") == []


async def test_a_refused_append_writes_nothing(settings: Settings) -> None:
    async with service_database(settings) as db:
        async with db.store.session() as s:
            s.append(0, events_for("village-z", 0, 1))
        # Stale expected version: the primary key refuses it.
        with pytest.raises(ConcurrencyConflict):
            async with db.store.session() as s:
                s.append(0, events_for("village-z", 0, 3))
        # Envelopes that do not follow the expected version are refused before any write.
        with pytest.raises(ValueError, match="consecutive"):
            async with db.store.session() as s:
                s.append(1, events_for("village-z", 2, 1))
        with pytest.raises(ValueError, match="consecutive"):
            async with db.store.session() as s:
                s.append(1, [*events_for("village-z", 1, 1), *events_for("village-q", 1, 1)])
        # An error after the append rolls the whole transaction back.
        with pytest.raises(RuntimeError):
            async with db.store.session() as s:
                s.append(1, events_for("village-z", 1, 1))
                raise RuntimeError("the command failed after appending")
        assert [e.stream_version for e in await db.store.load("village-z")] == [1]
        assert await db.scalar("SELECT count(*) FROM events") == 1


async def test_the_same_event_id_is_stored_once(settings: Settings) -> None:
    async with service_database(settings) as db:
        [first] = events_for("village-a", 0, 1)
        async with db.store.session() as s:
            s.append(0, [first])
        copy = first.model_copy(update={"stream_id": "village-b"})
        with pytest.raises(Exception, match="event_id"):
            async with db.store.session() as s:
                s.append(0, [copy])
        assert await db.scalar("SELECT count(*) FROM events") == 1


async def test_http_concurrent_registration_gets_409_problem(settings: Settings) -> None:
    """A writer that appends between the API's load and its append makes the API answer 409."""
    officer = token(settings, Role.federation_officer, "150602")
    code = village_code(7)
    app = pairing_app(settings)
    async with running(app) as client:
        runtime = app.state.runtime
        engine = runtime.engine
        database = settings.database_name("pairing")

        # Another writer holds an uncommitted append of version 1 of the village's stream.
        [rival] = wrap(
            CommandContext(actor=ACTOR, now=datetime.now(UTC), correlation_id="rival"),
            village_stream(code),
            0,
            code,
            [VillageRegistered(village_code=code, name="rival", category="key_support")],
        )
        async with uncommitted_append(runtime.store.pool, [rival]) as tx:
            request = asyncio.create_task(client.post("/villages", json=village_body(7), headers=officer))

            async def api_waits_on_the_rival() -> bool:
                async with engine.connect() as probe:
                    waiting = await probe.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = :d AND wait_event_type = 'Lock'"
                        ),
                        {"d": database},
                    )
                    return bool(waiting.scalar())

            # The API loaded an empty stream and its insert now waits for the rival's row.
            await wait_until(api_waits_on_the_rival, 10, "the API's append to block")
            assert not request.done()
            await tx.commit()

        response = await asyncio.wait_for(request, timeout=10)
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 409
        assert problem["type"].endswith("/concurrent_change")
        assert village_stream(code) in problem["detail"]
        assert problem["instance"] == "/villages"

        stored = await runtime.store.load(village_stream(code))
        assert [e.event_id for e in stored] == [rival.event_id]

        # Once the conflict is visible, a retry is refused by the rule, with a clear 409 too.
        again = await client.post("/villages", json=village_body(7), headers=officer)
        assert again.status_code == 409
        assert again.json()["rule"] == "village_registered_once"
        assert again.json()["errors"] == [
            {"field": "village_code", "reason": f"village {code} is already registered"}
        ]
        assert len(await runtime.store.load(village_stream(code))) == 1


async def test_http_concurrent_registrations_one_created(settings: Settings) -> None:
    """Many simultaneous registrations of one village: one 201, the others 409, one event."""
    officer = token(settings, Role.federation_officer, "150602")
    app = pairing_app(settings)
    async with running(app) as client:
        responses = await asyncio.gather(
            *(client.post("/villages", json=village_body(8), headers=officer) for _ in range(8))
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * 7, [r.text for r in responses]
        for r in responses:
            if r.status_code == 409:
                assert r.headers["content-type"] == "application/problem+json"
        assert len(await app.state.runtime.store.load(village_stream(village_code(8)))) == 1


async def test_appends_to_several_streams_in_one_session_succeed_or_fail_together(
    settings: Settings,
) -> None:
    async with service_database(settings) as db:
        async with db.store.session() as s:
            s.append(0, events_for("village-taken", 0, 1, "first"))
        with pytest.raises(ConcurrencyConflict) as refused:
            async with db.store.session() as s:
                s.append(0, events_for("village-free", 0, 2, "both"))
                s.append(0, events_for("village-taken", 0, 1, "both"))
        # The conflict names the stream that refused, and the other stream got nothing either.
        assert (refused.value.stream_id, refused.value.expected_version) == ("village-taken", 0)
        assert await db.store.load("village-free") == []

        async with db.store.session() as s:
            s.append(0, events_for("village-free", 0, 2, "ok"))
            s.append(1, events_for("village-taken", 1, 1, "ok"))
        async with db.store.session() as s:
            streams = await s.load_many(["village-taken", "village-none", "village-free"])
        assert list(streams) == ["village-taken", "village-none", "village-free"]
        assert [e.stream_version for e in streams["village-taken"]] == [1, 2]
        assert streams["village-none"] == []
        assert [e.data["name"] for e in streams["village-free"]] == ["村ok0", "村ok1"]
