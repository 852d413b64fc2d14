"""What an operator reads of a running service: ``/metrics`` (outbox, consumers, dead letters,
HTTP latency) against real PostgreSQL and JetStream, and the correlation id of a request on the
event it caused."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from services.pairing.app import create as pairing_app
from shared.auth import Role
from shared.events.envelope import Envelope
from shared.observability.metrics import parse
from shared.runtime.ops import (
    CannotRetry,
    dead_letters,
    render_status,
    retry_dead_letter,
    service_status,
    tail,
)
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.pairing import village_body


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(name, frozenset(labels.items())): v for name, labels, v in parse(text)}


def value(found: dict[Any, float], name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


async def test_metrics_and_the_correlation_of_a_request(settings: Settings) -> None:
    app = pairing_app(settings)
    officer = token(settings, Role.federation_officer, "150602")
    async with running(app) as client:
        response = await client.post(
            "/villages", json=village_body(1), headers={**officer, "x-correlation-id": "ops-test-1"}
        )
        assert response.status_code == 201, response.text
        assert response.headers["x-correlation-id"] == "ops-test-1"
        pool = app.state.runtime.store.pool
        stored = await pool.fetchval("SELECT envelope->>'correlation_id' FROM events")
        assert stored == "ops-test-1"

        async def relayed_and_taken_in() -> bool:
            found = samples((await client.get("/metrics")).text)
            lags = [v for (name, _), v in found.items() if name == "xingcun_consumer_lag"]
            return value(found, "xingcun_outbox_backlog", service="pairing") == 0 and lags and not any(lags)

        await wait_until(relayed_and_taken_in, 10, "the event relayed and every consumer idle")
        metrics = await client.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
        found = samples(metrics.text)
        assert value(found, "xingcun_events_appended_total", service="pairing") == 1
        assert value(found, "xingcun_events_relayed_total", service="pairing") == 1
        consumers = {dict(labels)["consumer"] for name, labels in found if name == "xingcun_consumer_lag"}
        assert consumers == {c.name for c in app.state.runtime.consumers} and consumers
        created = value(
            found,
            "xingcun_http_request_duration_seconds_count",
            method="POST",
            route="/villages",
            status="201",
        )
        assert created == 1
        assert "# TYPE xingcun_dead_letters gauge" in metrics.text


async def test_status_dead_letters_and_tail(settings: Settings) -> None:
    app = pairing_app(settings)
    officer = token(settings, Role.federation_officer, "150602")
    async with running(app) as client:
        assert (await client.post("/villages", json=village_body(1), headers=officer)).status_code == 201
        pool = app.state.runtime.store.pool

        # A dead letter: the directory gave up on a village's registration (say, a bug since fixed).
        envelope = Envelope.model_validate_json(
            await pool.fetchval("SELECT envelope::text FROM events WHERE type = 'pairing.village_registered'")
        )
        lost = envelope.model_copy(update={"event_id": uuid.uuid4(), "stream_id": "village-150602100999"})
        lost = lost.model_copy(
            update={"data": {**lost.data, "village_code": "150602100999", "name": "丢失村"}}
        )
        await pool.execute(
            "INSERT INTO dead_letters (consumer, subject, stream_sequence, event_id, stream_id, "
            "stream_version, reason, payload, attempts) "
            "VALUES ('pairing-directory', 's', 999, $1, $2, 1, 'a bug', $3, 5)",
            lost.event_id,
            lost.stream_id,
            lost.model_dump_json(),
        )

        async def idle() -> bool:
            return (await service_status(client, "pairing", "http://service")).backlog == 0

        await wait_until(idle, 10, "the outbox relayed")
        row = await service_status(client, "pairing", "http://service")
        assert row.state == "ready" and row.dead_letters == 1
        assert set(row.lags) == {c.name for c in app.state.runtime.consumers}
        assert "pairing" in render_status([row])

        [letter] = await dead_letters(settings, ("pairing",))
        assert letter["consumer"] == "pairing-directory" and letter["reason"] == "a bug"
        with pytest.raises(CannotRetry):
            await retry_dead_letter(settings, "monitoring", int(letter["id"]))  # type: ignore[call-overload]
        said = await retry_dead_letter(settings, "pairing", int(letter["id"]))  # type: ignore[call-overload]
        assert str(lost.event_id) in said
        assert await dead_letters(settings, ("pairing",)) == []
        assert (
            await pool.fetchval("SELECT name FROM directory_villages WHERE village_code = '150602100999'")
            == "丢失村"
        )

        # events tail: from a moment on, only the subjects asked for.
        shown: list[str] = []
        since = envelope.recorded_at - timedelta(seconds=1)
        county = f"{settings.subject_root}.15.1506.150602.>"
        assert await asyncio.wait_for(tail(settings, county, since, 1, shown.append), 10) == 1
        assert json.loads(shown[0])["type"] == "pairing.village_registered"
        assert json.loads(shown[0])["stream"] == f"{envelope.stream_id}@1"
        elsewhere = f"{settings.subject_root}.15.1506.150603.>"
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(tail(settings, elsewhere, since, 1, shown.append), 1.5)
