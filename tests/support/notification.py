"""Local servers a notification test talks to, as the people and systems it tells would run
them: an SMTP server's mailbox (aiosmtpd), and a webhook receiver that is also an SMS gateway."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request, Response

from services.notification.channels.signature import verify_signature
from services.notification.message import Message
from services.notification.templates import TemplateOptions, render
from shared.events.catalogue.monitoring import FlagSource, HouseholdFlagged, RiskType
from shared.events.envelope import Actor, Envelope
from shared.runtime.embedded import free_port, serving_asgi
from shared.settings import Settings

VILLAGE = "150602103201"
SECRET = "receiver-secret-of-the-county"


def flagged_envelope(village: str = VILLAGE, recorded_at: datetime | None = None) -> Envelope:
    event = HouseholdFlagged(
        household_id=uuid.uuid4(),
        flag_id=uuid.uuid4(),
        source=FlagSource.rule,
        risk_types=[RiskType.income_drop],
        flagged_on=date(2026, 5, 1),
    )
    now = recorded_at or datetime.now(UTC)
    household_id = event.household_id
    return Envelope(
        event_id=uuid.uuid4(),
        type=event.event_type,
        schema_version=1,
        stream_id=f"household-{household_id}",
        stream_version=1,
        region_code=village,
        occurred_at=now,
        recorded_at=now,
        actor=Actor(id="rules", role="platform", region_code=village[:6]),
        data=event.model_dump(mode="json"),
    )


def flagged_message() -> Message:
    return render(flagged_envelope(), None, TemplateOptions.of(Settings()))


class Mailbox:
    """An aiosmtpd handler: keeps what it accepts; refuses some recipients with a given reply."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted"


@contextlib.contextmanager
def smtp_server(mailbox: Mailbox) -> Iterator[Controller]:
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@dataclass
class Receiver:
    """A webhook receiver and SMS gateway in one: checks signatures, fails the first ``fail`` times
    with ``fail_status``, and keeps what it accepted."""

    fail: int = 0
    fail_status: int = 500
    delay_s: float = 0.0
    accepted: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    calls: int = 0
    url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.calls += 1
            body = await request.body()
            timestamp = request.headers.get("x-xingcun-timestamp", "")
            signature = request.headers.get("x-xingcun-signature", "")
            if not verify_signature(SECRET.encode(), timestamp, body, signature, now=time.time()):
                self.refused.append(signature)
                return Response(status_code=401)
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if self.fail:
                self.fail -= 1
                return Response(status_code=self.fail_status)
            self.accepted.append({"headers": dict(request.headers), "body": json.loads(body)})
            return Response(status_code=204)

        @app.post("/sms")
        async def sms(request: Request) -> Response:
            self.calls += 1
            if request.headers.get("authorization") != "Bearer gateway-token":
                return Response(status_code=403)
            if self.fail:
                self.fail -= 1
                return Response(status_code=self.fail_status, headers={"retry-after": "7"})
            self.accepted.append({"headers": dict(request.headers), "body": await request.json()})
            return Response(content='{"ok": true}', media_type="application/json")

        return app


@contextlib.asynccontextmanager
async def serving(receiver: Receiver) -> AsyncIterator[Receiver]:
    async with serving_asgi(receiver.app()) as port:
        receiver.url = f"http://127.0.0.1:{port}"
        yield receiver
