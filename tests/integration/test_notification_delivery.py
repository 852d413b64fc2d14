"""Delivery against real PostgreSQL, JetStream, an SMTP server and a webhook receiver: an event
in a followed stream becomes one message per (recipient, channel), recorded before it is sent,
sent once however often the event comes, retried with backoff, and published as delivered or
failed."""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from services.notification.app import create as notification_app
from shared.auth import Role
from shared.events.envelope import Envelope
from shared.events.subjects import stream_for, subject_for
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.infra import read_stream
from tests.support.notification import (
    SECRET,
    VILLAGE,
    Mailbox,
    Receiver,
    flagged_envelope,
    serving,
    smtp_server,
)

COUNTY = VILLAGE[:6]
TOWNSHIP = VILLAGE[:9]


@dataclass
class Desk:
    """A notification service under test, with the servers it delivers to."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    mailbox: Mailbox
    receiver: Receiver

    @property
    def county(self) -> dict[str, str]:
        return token(self.settings, Role.county_officer, COUNTY)

    async def recipient(self, name: str, role: str, region: str, channels: list[dict[str, Any]]) -> str:
        body = {"name": name, "role": role, "region_code": region, "channels": channels}
        response = await self.client.post("/recipients", json=body, headers=self.county)
        assert response.status_code == 201, response.text
        return str(response.json()["recipient_id"])

    async def rule(self, on_event: str, roles: list[str], channels: list[str], region: str = COUNTY) -> None:
        body = {"on_event": on_event, "region_prefix": region, "roles": roles, "channels": channels}
        response = await self.client.put(f"/routing-rules/{uuid.uuid4()}", json=body, headers=self.county)
        assert response.status_code == 201, response.text

    async def directory_has(self, recipients: int, rules: int) -> None:
        async def projected() -> bool:
            pool = self.app.state.runtime.store.pool
            found = await pool.fetchrow(
                "SELECT (SELECT count(*) FROM recipients) AS r, (SELECT count(*) FROM routing_rules) AS k"
            )
            return found["r"] == recipients and found["k"] == rules

        await wait_until(projected, 10, "the directory projected")

    async def publish(self, envelope: Envelope, msg_id: str | None = None) -> None:
        """The event as the monitoring service's relay would publish it."""
        js = self.app.state.runtime.js
        spec = stream_for(self.settings, "monitoring")
        await js.publish(
            subject_for(self.settings.subject_root, envelope.region_code, envelope.type),
            envelope.model_dump_json().encode(),
            stream=spec.name,
            headers={"Nats-Msg-Id": msg_id or str(envelope.event_id)},
        )

    async def deliveries(self, **query: str) -> list[dict[str, Any]]:
        response = await self.client.get("/deliveries", params=query, headers=self.county)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def settled(self, count: int) -> list[dict[str, Any]]:
        async def done() -> bool:
            items = await self.deliveries()
            return len(items) == count and all(d["status"] in ("delivered", "failed") for d in items)

        await wait_until(done, 20, f"{count} deliveries settled")
        return await self.deliveries()

    async def published(self) -> list[dict[str, Any]]:
        """The service's delivery events as JetStream holds them."""
        messages = await read_stream(self.app.state.runtime.js, stream_for(self.settings, "notification"))
        bodies = [Envelope.model_validate_json(m.data) for m in messages]
        return [{"type": e.type, **e.data} for e in bodies if e.type.startswith("notification.notification_")]


@contextlib.asynccontextmanager
async def desk(make_settings: Any, receiver: Receiver | None = None, **overrides: Any) -> AsyncIterator[Desk]:
    mailbox = Mailbox()
    receiver = receiver or Receiver()
    with smtp_server(mailbox) as smtp:
        async with serving(receiver):
            defaults: dict[str, Any] = {
                "smtp_port": smtp.port,
                "smtp_sender": "alerts@xingcun.test",
                "webhook_secrets": {"county-platform": SECRET},
                "notification_allow_http_webhooks": True,
                "notification_http_timeout_s": 2.0,
                "notification_backoff_base_s": 0.05,
                "notification_poll_s": 0.05,
            }
            settings = make_settings(**{**defaults, **overrides})
            app = notification_app(settings)
            async with running(app) as client:
                yield Desk(app, client, settings, mailbox, receiver)


def township_channels(receiver: Receiver) -> list[dict[str, Any]]:
    return [
        {"kind": "email", "address": "cgz@example.cn"},
        {"kind": "webhook", "address": f"{receiver.url}/hook", "secret_ref": "county-platform"},
    ]


async def test_a_flag_is_told_once_by_email_and_by_signed_webhook(make_settings: Any) -> None:
    async with desk(make_settings) as d:
        township = await d.recipient(
            "城关镇乡村振兴办", "township_officer", TOWNSHIP, township_channels(d.receiver)
        )
        await d.recipient(
            "另一镇", "township_officer", "150602104", [{"kind": "email", "address": "o@example.cn"}]
        )
        await d.rule("monitoring.household_flagged", ["township_officer"], ["email", "webhook"])
        await d.directory_has(recipients=2, rules=1)

        envelope = flagged_envelope()
        await d.publish(envelope)
        items = await d.settled(2)
        assert {(i["channel"], i["status"], i["recipient_id"]) for i in items} == {
            ("email", "delivered", township),
            ("webhook", "delivered", township),
        }
        assert len(d.mailbox.received) == 1
        assert d.mailbox.received[0][0] == ["cgz@example.cn"]
        assert len(d.receiver.accepted) == 1
        hook = d.receiver.accepted[0]
        assert hook["body"]["event_id"] == str(envelope.event_id)
        assert hook["body"]["envelope"]["event_id"] == str(envelope.event_id)
        webhook = next(i for i in items if i["channel"] == "webhook")
        assert hook["headers"]["x-xingcun-delivery-id"] == webhook["delivery_id"]
        assert "防返贫监测" in hook["body"]["subject"]

        # The same event again, as JetStream redelivers it or a relay republishes it after a crash
        # past JetStream's duplicate window: nothing more is sent.
        await d.publish(envelope, msg_id=f"again-{envelope.event_id}")
        await d.publish(envelope, msg_id=f"once-more-{envelope.event_id}")
        await wait_until(lambda: _consumed(d, 3), 10, "the copies consumed")
        assert len(await d.deliveries()) == 2
        assert len(d.mailbox.received) == 1 and len(d.receiver.accepted) == 1

        async def both_published() -> bool:
            return len(await d.published()) == 2

        await wait_until(both_published, 10, "notification_delivered published")
        events = await d.published()
        assert {(e["type"], e["channel"], e["attempts"]) for e in events} == {
            ("notification.notification_delivered", "email", 1),
            ("notification.notification_delivered", "webhook", 1),
        }
        assert {e["alert_id"] for e in events} == {str(envelope.event_id)}


async def _consumed(d: Desk, count: int) -> bool:
    js = d.app.state.runtime.js
    info = await js.consumer_info(stream_for(d.settings, "monitoring").name, "notification-router-monitoring")
    return info.delivered.stream_seq >= count and info.num_ack_pending == 0


async def test_a_receiver_failing_three_times_gets_one_delivery_and_one_that_always_fails_ends_failed(
    make_settings: Any,
) -> None:
    flaky = Receiver(fail=3)
    async with desk(
        make_settings, receiver=flaky, notification_max_attempts=4, notification_backoff_base_s=0.1
    ) as d:
        await d.recipient(
            "县平台",
            "platform",
            COUNTY,
            [{"kind": "webhook", "address": f"{flaky.url}/hook", "secret_ref": "county-platform"}],
        )
        await d.rule("monitoring.household_flagged", ["platform"], ["webhook"])
        await d.directory_has(recipients=1, rules=1)
        await d.publish(flagged_envelope())
        [item] = await d.settled(1)
        assert item["status"] == "delivered" and item["attempts"] == 4
        assert flaky.calls == 4 and len(flaky.accepted) == 1
        detail = (await d.client.get(f"/deliveries/{item['delivery_id']}", headers=d.county)).json()
        assert [t["outcome"] for t in detail["tries"]] == ["retry", "retry", "retry", "delivered"]
        started = [datetime.fromisoformat(t["started_at"]) for t in detail["tries"]]
        gaps = [b - a for a, b in itertools.pairwise(started)]
        # Each wait is at least the backoff's: 0.1 s, then 0.2, then 0.4.
        assert [gap >= timedelta(seconds=0.1 * 2**n) for n, gap in enumerate(gaps)] == [True] * 3

        flaky.fail = 1_000
        flaky.calls = 0
        await d.publish(flagged_envelope())
        items = await d.settled(2)
        failed = next(i for i in items if i["status"] == "failed")
        assert failed["attempts"] == 4 and failed["failure"] == "exhausted"
        assert flaky.calls == 4
        assert "500" in failed["last_error"]

        async def failure_published() -> bool:
            return any(e["type"] == "notification.notification_failed" for e in await d.published())

        await wait_until(failure_published, 10, "notification_failed published")
        [event] = [e for e in await d.published() if e["type"] == "notification.notification_failed"]
        assert event["delivery_id"] == failed["delivery_id"] and event["failure"] == "exhausted"
        assert (await d.deliveries(status="failed"))[0]["delivery_id"] == failed["delivery_id"]

        # An officer resends it once the receiver is fixed: one more delivery, a fresh count of tries.
        flaky.fail = 0
        response = await d.client.post(f"/deliveries/{failed['delivery_id']}/resend", headers=d.county)
        assert response.status_code == 202, response.text
        await d.settled(2)
        assert len(flaky.accepted) == 2
        again = await d.client.post(f"/deliveries/{failed['delivery_id']}/resend", headers=d.county)
        assert again.status_code == 409


async def test_an_old_event_is_not_told(make_settings: Any) -> None:
    async with desk(make_settings, notification_max_event_age_h=1) as d:
        await d.recipient(
            "城关镇", "township_officer", TOWNSHIP, [{"kind": "email", "address": "c@example.cn"}]
        )
        await d.rule("monitoring.household_flagged", ["township_officer"], ["email"])
        await d.directory_has(recipients=1, rules=1)
        await d.publish(flagged_envelope(recorded_at=datetime.now(UTC) - timedelta(hours=2)))
        await d.publish(flagged_envelope())
        await d.settled(1)
        await wait_until(lambda: _consumed(d, 2), 10, "both consumed")
        assert len(await d.deliveries()) == 1 and len(d.mailbox.received) == 1
