"""The end-to-end notification test's parts: the monitoring and notification services as child
processes, a county's officers driving them over HTTP, an SMTP server that can hold its answer,
and what the mailbox, the receiver and the NOTIFICATION stream ended up with."""

from __future__ import annotations

import asyncio
import email
import email.policy
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import asyncpg
import httpx

from shared.auth import Role
from shared.clock import china_date
from shared.db.engine import asyncpg_dsn
from shared.events.envelope import Envelope
from shared.settings import Settings
from tests.support.apps import ServiceProcess, token, wait_until
from tests.support.infra import jetstream
from tests.support.monitoring import COUNTY, household_body, village_code
from tests.support.notification import SECRET, Mailbox, Receiver

VILLAGE = village_code(1)
TOWNSHIP = VILLAGE[:9]
OFFICER_MAIL = "cgz@example.cn"
SECRET_REF = "county-platform"


def e2e_settings(smtp_port: int, **overrides: Any) -> dict[str, Any]:
    """The settings both children share, besides the isolated servers: local servers to deliver
    to; short polls, backoffs and lease, so that a test settles in seconds; and tries enough that
    a server turning a message away keeps it retried for the whole test."""
    return {
        "smtp_port": smtp_port,
        "smtp_sender": "alerts@xingcun.test",
        "webhook_secrets": {SECRET_REF: SECRET},
        "notification_allow_http_webhooks": True,
        "notification_http_timeout_s": 2.0,
        "notification_poll_s": 0.1,
        "notification_backoff_base_s": 0.1,
        "notification_backoff_max_s": 0.5,
        "notification_max_attempts": 50,
        "notification_lease_s": 3.0,
        **overrides,
    }


class HeldMailbox(Mailbox):
    """A mailbox that keeps each message at once, then holds its 250 for ``hold_s``: a sender
    killed meanwhile has handed the message over without learning that it was accepted."""

    def __init__(self, hold_s: float = 0.0) -> None:
        super().__init__()
        self.hold_s = hold_s

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if self.hold_s:
            await asyncio.sleep(self.hold_s)
        return answer


async def wait_showing(
    condition: Callable[[], Awaitable[bool]],
    timeout: float,  # noqa: ASYNC109 - a polling deadline
    what: str,
    state: Callable[[], object],
) -> None:
    """``wait_until``, and on a timeout the state last seen, to tell why it never came."""
    try:
        await wait_until(condition, timeout, what)
    except AssertionError as error:
        raise AssertionError(f"{error}; last seen: {state()!r}") from None


def mails_of(mailbox: Mailbox, event_id: uuid.UUID) -> list[tuple[list[str], EmailMessage]]:
    """The mails the server accepted about one event, parsed (UTF-8 subject and body decoded)."""
    found = []
    for rcpt_tos, raw in list(mailbox.received):
        mail = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        if mail["X-Xingcun-Event-Id"] == str(event_id):
            found.append((rcpt_tos, mail))
    return found


def hooks_of(receiver: Receiver, event_id: uuid.UUID) -> list[dict[str, Any]]:
    return [h for h in list(receiver.accepted) if h["body"]["event_id"] == str(event_id)]


@dataclass
class County:
    """The county's officers, at the monitoring and notification services' HTTP APIs."""

    settings: Settings
    monitoring: ServiceProcess
    notification: ServiceProcess

    def _headers(self, role: Role, region: str = COUNTY) -> dict[str, str]:
        return token(self.settings, role, region)

    async def _call(
        self, method: str, url: str, role: Role, region: str = COUNTY, **kwargs: Any
    ) -> httpx.Response:
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.request(method, url, headers=self._headers(role, region), **kwargs)

    # -- the directory ------------------------------------------------------------------------

    async def township_officer(self, hook_url: str) -> str:
        body = {
            "name": "城关镇乡村振兴办",
            "role": "township_officer",
            "region_code": TOWNSHIP,
            "channels": [
                {"kind": "email", "address": OFFICER_MAIL},
                {"kind": "webhook", "address": hook_url, "secret_ref": SECRET_REF},
            ],
        }
        url = f"{self.notification.url}/recipients"
        response = await self._call("POST", url, Role.county_officer, json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["recipient_id"])

    async def flags_told_to_township_officers(self) -> None:
        body = {
            "on_event": "monitoring.household_flagged",
            "region_prefix": COUNTY,
            "roles": ["township_officer"],
            "channels": ["email", "webhook"],
        }
        url = f"{self.notification.url}/routing-rules/{uuid.uuid4()}"
        response = await self._call("PUT", url, Role.county_officer, json=body)
        assert response.status_code == 201, response.text

    async def directory_ready(self) -> None:
        """Routing reads the directory's projection: wait until it holds the recipient and rule."""

        async def projected() -> bool:
            counts = []
            for path in ("/recipients", "/routing-rules"):
                response = await self._call("GET", f"{self.notification.url}{path}", Role.county_officer)
                counts.append(response.status_code == 200 and response.json()["total"] == 1)
            return all(counts)

        await wait_until(projected, 20, "the directory projected")

    # -- monitoring ---------------------------------------------------------------------------

    async def register_household(self, n: int) -> tuple[str, dict[str, Any]]:
        body = household_body(n, village=VILLAGE)
        url = f"{self.monitoring.url}/households"
        response = await self._call("POST", url, Role.village_officer, VILLAGE, json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"]), body

    async def flag(self, household_id: str) -> None:
        body = {
            "source": "cadre_visit",
            "risk_types": ["illness"],
            "flagged_on": china_date(datetime.now(UTC)).isoformat(),
        }
        url = f"{self.monitoring.url}/households/{household_id}/flags"
        response = await self._call("POST", url, Role.village_officer, VILLAGE, json=body)
        assert response.status_code == 201, response.text

    async def flagged_event(self, household_id: str) -> Envelope:
        """The household_flagged event as the monitoring service published it."""
        found: list[Envelope] = []

        async def published() -> bool:
            async with jetstream(self.settings, "monitoring") as broker:
                events = [Envelope.model_validate_json(m.data) for m in await broker.read_all()]
            found[:] = [
                e
                for e in events
                if e.type == "monitoring.household_flagged" and e.data["household_id"] == household_id
            ]
            return bool(found)

        await wait_until(published, 20, f"household_flagged of {household_id} in the MONITORING stream")
        [event] = found
        return event

    # -- the delivery log and the NOTIFICATION stream ------------------------------------------

    async def deliveries(self, **query: str) -> list[dict[str, Any]]:
        url = f"{self.notification.url}/deliveries"
        response = await self._call("GET", url, Role.county_officer, params=query)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def delivery(self, delivery_id: str) -> dict[str, Any]:
        url = f"{self.notification.url}/deliveries/{delivery_id}"
        response = await self._call("GET", url, Role.county_officer)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def by_channel(self, event_id: uuid.UUID) -> dict[str, dict[str, Any]]:
        return {d["channel"]: d for d in await self.deliveries(event_id=str(event_id))}

    async def settled(self, event_id: uuid.UUID, timeout: float = 20) -> dict[str, dict[str, Any]]:  # noqa: ASYNC109
        """Both deliveries of the event, once each has ended (delivered or failed)."""

        seen: dict[str, dict[str, Any]] = {}

        async def done() -> bool:
            seen.clear()
            seen.update(await self.by_channel(event_id))
            return len(seen) == 2 and all(d["status"] in ("delivered", "failed") for d in seen.values())

        await wait_showing(done, timeout, f"the deliveries of {event_id} settled", lambda: seen)
        return await self.by_channel(event_id)

    async def left_by_the_dead(self, event_id: uuid.UUID) -> dict[str, tuple[str, int]]:
        """(status, attempts) of the event's deliveries by channel, read from the notification
        database: what a killed service left, while no process runs to change it."""
        conn = await asyncpg.connect(asyncpg_dsn(self.settings.service_database_url("notification")))
        try:
            rows = await conn.fetch(
                "SELECT channel, status, attempts FROM deliveries WHERE alert_id = $1", event_id
            )
        finally:
            await conn.close()
        return {r["channel"]: (r["status"], r["attempts"]) for r in rows}

    async def published(self) -> list[dict[str, Any]]:
        """The delivery events in the NOTIFICATION stream, each with its type."""
        async with jetstream(self.settings, "notification") as broker:
            envelopes = [Envelope.model_validate_json(m.data) for m in await broker.read_all()]
        return [
            {"type": e.type, **e.data} for e in envelopes if e.type.startswith("notification.notification_")
        ]

    async def published_for(self, event_id: uuid.UUID, count: int) -> list[dict[str, Any]]:
        """The delivery events about one event, once ``count`` of them are in the stream."""
        found: list[dict[str, Any]] = []

        async def arrived() -> bool:
            found[:] = [e for e in await self.published() if e["alert_id"] == str(event_id)]
            return len(found) >= count

        await wait_until(arrived, 20, f"{count} delivery events of {event_id} in the NOTIFICATION stream")
        return found
