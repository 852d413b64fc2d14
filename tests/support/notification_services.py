"""The monitoring and notification services in one process on the same settings and one clock,
with the servers notification delivers to (an SMTP mailbox; a receiver that is also the SMS
gateway), and what a test of reminders or of an event's parties reads back: the notification
service's read models, its delivery log, the mails."""

from __future__ import annotations

import contextlib
import email
import email.policy
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import httpx
from fastapi import FastAPI

from services.monitoring.app import create as monitoring_app
from services.notification.app import create as notification_app
from shared.auth import Role
from shared.clock import FixedClock
from shared.events.envelope import Actor, Envelope, EventData
from shared.events.subjects import stream_for, subject_for
from shared.settings import ServiceName, Settings
from tests.support.apps import running, token, wait_until
from tests.support.desk import START, Desk, noon_in_china
from tests.support.notification import Mailbox, Receiver, serving, smtp_server

COUNTY = "150602"
GATEWAY_TOKEN = "gateway-token"  # the one tests.support.notification.Receiver's /sms accepts


def envelope_of(event: EventData, region: str, stream_id: str, at: datetime, version: int = 1) -> Envelope:
    """``event`` as another service's relay publishes it."""
    return Envelope(
        event_id=uuid.uuid4(),
        type=event.event_type,
        schema_version=event.schema_version,
        stream_id=stream_id,
        stream_version=version,
        region_code=region,
        occurred_at=at,
        recorded_at=at,
        actor=Actor(id="officer-1", role="county_officer", region_code=region[:6]),
        data=event.model_dump(mode="json"),
    )


def parsed(raw: bytes) -> EmailMessage:
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


@dataclass
class Services:
    """Monitoring (driven by its officers, ``desk``) and notification, sharing ``clock``."""

    desk: Desk
    notification: FastAPI
    client: httpx.AsyncClient  # to the notification service
    settings: Settings
    clock: FixedClock
    mailbox: Mailbox
    receiver: Receiver

    @property
    def county(self) -> dict[str, str]:
        return token(self.settings, Role.county_officer, COUNTY)

    async def recipient(self, role: str, region: str, channels: list[dict[str, Any]], **extra: Any) -> str:
        body = {
            "name": f"{role} {region}",
            "role": role,
            "region_code": region,
            "channels": channels,
            **extra,
        }
        response = await self.client.post("/recipients", json=body, headers=self.county)
        assert response.status_code == 201, response.text
        return str(response.json()["recipient_id"])

    async def rule(self, on_event: str, channels: list[str], region: str = COUNTY, **who: Any) -> None:
        body = {"on_event": on_event, "region_prefix": region, "channels": channels, **who}
        response = await self.client.put(f"/routing-rules/{uuid.uuid4()}", json=body, headers=self.county)
        assert response.status_code == 201, response.text

    async def value(self, sql: str, *args: Any) -> Any:
        """One value from the notification service's database."""
        return await self.notification.state.runtime.store.pool.fetchval(sql, *args)

    async def until(self, sql: str, *args: Any, what: str, within_s: float = 10) -> None:
        """Wait until ``sql`` on the notification service's database gives a truthy value."""

        async def holds() -> bool:
            return bool(await self.value(sql, *args))

        await wait_until(holds, within_s, what)

    async def directory_has(self, recipients: int, rules: int) -> None:
        await self.until(
            "SELECT (SELECT count(*) FROM recipients) = $1 AND (SELECT count(*) FROM routing_rules) = $2",
            recipients,
            rules,
            what=f"{recipients} recipients and {rules} rules projected",
        )

    async def publish(self, service: ServiceName, envelope: Envelope) -> None:
        """``envelope`` into ``service``'s stream, as that service's relay would put it."""
        await self.notification.state.runtime.js.publish(
            subject_for(self.settings.subject_root, envelope.region_code, envelope.type),
            envelope.model_dump_json().encode(),
            stream=stream_for(self.settings, service).name,
            headers={"Nats-Msg-Id": str(envelope.event_id)},
        )

    async def check(self, client: httpx.AsyncClient | None = None) -> list[dict[str, Any]]:
        """POST /reminders/check as the county; what it raised."""
        response = await (client or self.client).post("/reminders/check", headers=self.county)
        assert response.status_code == 200, response.text
        return list(response.json()["raised"])

    async def deliveries(self, **query: str) -> list[dict[str, Any]]:
        response = await self.client.get("/deliveries", params=query, headers=self.county)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def settled(self, count: int, **query: str) -> list[dict[str, Any]]:
        """Wait until the delivery log (so filtered) holds ``count`` deliveries, each finished."""

        async def done() -> bool:
            items = await self.deliveries(**query)
            return len(items) == count and all(d["status"] in ("delivered", "failed") for d in items)

        await wait_until(done, 15, f"{count} deliveries settled ({query})")
        return await self.deliveries(**query)

    async def mails(self, count: int) -> list[tuple[list[str], EmailMessage]]:
        """Wait for ``count`` mails at the SMTP server; them, parsed."""
        await wait_until(lambda: len(self.mailbox.received) >= count, 15, f"{count} mails")
        return [(to, parsed(raw)) for to, raw in list(self.mailbox.received)]


@contextlib.asynccontextmanager
async def services(make_settings: Any, **overrides: Any) -> AsyncIterator[Services]:
    mailbox = Mailbox()
    receiver = Receiver()
    with smtp_server(mailbox) as smtp:
        async with serving(receiver):
            defaults: dict[str, Any] = {
                "smtp_port": smtp.port,
                "smtp_sender": "alerts@xingcun.test",
                "sms_gateway_url": f"{receiver.url}/sms",
                "sms_gateway_token": GATEWAY_TOKEN,
                "notification_http_timeout_s": 2.0,
                "notification_backoff_base_s": 0.05,
                "notification_poll_s": 0.05,
            }
            settings = make_settings(**{**defaults, **overrides})
            clock = FixedClock(noon_in_china(START))
            monitoring = monitoring_app(settings, clock)
            notification = notification_app(settings, clock)
            async with running(monitoring) as monitoring_client, running(notification) as client:
                desk = Desk(monitoring, monitoring_client, clock, settings)
                yield Services(desk, notification, client, settings, clock, mailbox, receiver)
