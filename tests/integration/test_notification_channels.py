"""The channels against real local servers: an SMTP server (aiosmtpd), a webhook receiver that
checks the signature as another team would, and an SMS gateway, both under uvicorn."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage

import httpx
import pytest
from aiosmtpd.controller import Controller

from services.notification.channels import build_channels, http_client
from services.notification.channels.email import EmailChannel
from services.notification.channels.sms import SmsChannel
from services.notification.channels.webhook import WebhookChannel, resolve_secret
from services.notification.message import DeliveryError
from shared.runtime.embedded import free_port
from shared.settings import Settings
from tests.support.notification import SECRET, Mailbox, Receiver, flagged_message, serving, smtp_server

# --- SMTP -------------------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    with smtp_server(mailbox) as controller:
        yield controller, mailbox


async def test_an_email_arrives_with_the_chinese_subject_and_body(smtp: tuple[Controller, Mailbox]) -> None:
    controller, mailbox = smtp
    settings = Settings(smtp_host="127.0.0.1", smtp_port=controller.port, smtp_sender="alerts@xingcun.test")
    message = flagged_message()

    await EmailChannel(settings).send(message, "cgz@example.cn", None)

    assert len(mailbox.received) == 1
    recipients, raw = mailbox.received[0]
    assert recipients == ["cgz@example.cn"]
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["Subject"] == message.subject
    assert "防返贫监测" in mail["Subject"]
    assert mail["From"] == "alerts@xingcun.test"
    assert mail["X-Xingcun-Event-Id"] == str(message.event_id)
    body = mail.get_content()
    assert body == message.text
    assert f"农户编号：{message.facts['农户编号']}" in body
    assert f"查看：{message.link}" in body


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("550 5.1.1 No such mailbox", False), ("450 4.2.1 Mailbox busy, try later", True)],
)
async def test_a_refused_recipient_is_retried_only_on_4xx(
    smtp: tuple[Controller, Mailbox], reply: str, retryable: bool
) -> None:
    controller, mailbox = smtp
    mailbox.refuse["gone@example.cn"] = reply
    settings = Settings(smtp_host="127.0.0.1", smtp_port=controller.port)

    with pytest.raises(DeliveryError) as caught:
        await EmailChannel(settings).send(flagged_message(), "gone@example.cn", None)

    assert caught.value.retryable is retryable
    assert reply.split()[0] in caught.value.reason
    assert mailbox.received == []


async def test_an_smtp_server_that_is_not_there_is_retried_later() -> None:
    settings = Settings(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout_s=2)
    with pytest.raises(DeliveryError) as caught:
        await EmailChannel(settings).send(flagged_message(), "cgz@example.cn", None)
    assert caught.value.retryable is True


async def test_a_login_the_server_does_not_offer_is_not_retried(smtp: tuple[Controller, Mailbox]) -> None:
    """Configured with a username for a server without AUTH: no try will ever get through."""
    controller, mailbox = smtp
    settings = Settings(smtp_port=controller.port, smtp_username="alerts", smtp_password="secret")
    with pytest.raises(DeliveryError) as caught:
        await EmailChannel(settings).send(flagged_message(), "cgz@example.cn", None)
    assert caught.value.retryable is False
    assert "AUTH" in caught.value.reason and mailbox.received == []


# --- HTTP receivers ---------------------------------------------------------------------------


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(Settings(notification_http_timeout_s=1.0)) as client:
        yield client


async def test_a_webhook_is_signed_and_carries_the_message_and_its_event(client: httpx.AsyncClient) -> None:
    message = flagged_message()
    secret = resolve_secret({"county-system": SECRET}, "county-system")
    async with serving(Receiver()) as receiver:
        await WebhookChannel(client).send(message, f"{receiver.url}/hook", secret)

    assert receiver.refused == []
    [accepted] = receiver.accepted
    assert accepted["headers"]["x-xingcun-event-id"] == str(message.event_id)
    body = accepted["body"]
    assert body["subject"] == message.subject
    assert body["facts"] == dict(message.facts)
    assert list(body["facts"]) == list(message.facts)  # in the order a person reads them
    assert body["link"] == message.link
    assert body["envelope"]["event_id"] == str(message.event_id)
    assert body["envelope"]["data"]["risk_types"] == ["income_drop"]


async def test_a_webhook_signed_with_another_secret_is_refused_for_good(client: httpx.AsyncClient) -> None:
    async with serving(Receiver()) as receiver:
        with pytest.raises(DeliveryError) as caught:
            await WebhookChannel(client).send(flagged_message(), f"{receiver.url}/hook", b"not-the-secret")
    assert len(receiver.refused) == 1
    assert caught.value.retryable is False
    assert "401" in caught.value.reason


async def test_a_receiver_failing_three_times_then_accepting(client: httpx.AsyncClient) -> None:
    message = flagged_message()
    channel = WebhookChannel(client)
    outcomes: list[bool | None] = []
    async with serving(Receiver(fail=3)) as receiver:
        for _ in range(4):
            try:
                await channel.send(message, f"{receiver.url}/hook", SECRET.encode())
                outcomes.append(None)
            except DeliveryError as error:
                outcomes.append(error.retryable)
    assert outcomes == [True, True, True, None]
    assert receiver.calls == 4
    assert len(receiver.accepted) == 1


@pytest.mark.parametrize(("status", "retryable"), [(429, True), (503, True), (404, False), (410, False)])
async def test_webhook_answers_are_classified(
    client: httpx.AsyncClient, status: int, retryable: bool
) -> None:
    async with serving(Receiver(fail=1, fail_status=status)) as receiver:
        with pytest.raises(DeliveryError) as caught:
            await WebhookChannel(client).send(flagged_message(), f"{receiver.url}/hook", SECRET.encode())
    assert caught.value.retryable is retryable
    assert str(status) in caught.value.reason


async def test_a_slow_or_absent_receiver_is_retried_later(client: httpx.AsyncClient) -> None:
    channel = WebhookChannel(client)
    async with serving(Receiver(delay_s=3)) as receiver:
        started = time.monotonic()
        with pytest.raises(DeliveryError) as slow:
            await channel.send(flagged_message(), f"{receiver.url}/hook", SECRET.encode())
        assert time.monotonic() - started < 2.5  # the configured 1 s timeout, not the receiver's 3 s
    assert slow.value.retryable is True
    with pytest.raises(DeliveryError) as absent:
        await channel.send(flagged_message(), f"http://127.0.0.1:{free_port()}/hook", SECRET.encode())
    assert absent.value.retryable is True


async def test_an_sms_goes_through_the_gateway_cut_to_length(client: httpx.AsyncClient) -> None:
    message = flagged_message()
    async with serving(Receiver()) as gateway:
        settings = Settings(
            sms_gateway_url=f"{gateway.url}/sms", sms_gateway_token="gateway-token", sms_max_chars=40
        )
        await build_channels(settings, client)["sms"].send(message, "13800138000", None)

    [accepted] = gateway.accepted
    assert accepted["body"]["to"] == "13800138000"
    text = accepted["body"]["text"]
    assert len(text) == 40
    assert text == message.summary()[:39] + "…"
    assert text.startswith("防返贫监测：村 150602103201")


async def test_sms_gateway_failures_are_classified(client: httpx.AsyncClient) -> None:
    async with serving(Receiver(fail=1, fail_status=502)) as gateway:
        channel = SmsChannel(client, f"{gateway.url}/sms", "gateway-token", 140)
        with pytest.raises(DeliveryError) as busy:
            await channel.send(flagged_message(), "13800138000", None)
        assert (busy.value.retryable, busy.value.retry_after_s) == (True, 7)
        with pytest.raises(DeliveryError) as forbidden:
            await SmsChannel(client, f"{gateway.url}/sms", "wrong-token", 140).send(
                flagged_message(), "13800138000", None
            )
        assert forbidden.value.retryable is False
    with pytest.raises(DeliveryError) as unconfigured:
        await SmsChannel(client, "", "", 140).send(flagged_message(), "13800138000", None)
    assert unconfigured.value.retryable is False


async def test_the_channels_by_kind(client: httpx.AsyncClient) -> None:
    channels = build_channels(Settings(), client)
    assert set(channels) == {"email", "webhook", "sms"}
    assert all(channel.kind == kind for kind, channel in channels.items())


def test_secrets_and_passwords_stay_out_of_the_settings_repr() -> None:
    settings = Settings(
        webhook_secrets={"county-system": SECRET}, smtp_password="smtp-pass", sms_gateway_token="gw-tok"
    )
    shown = repr(settings)
    assert SECRET not in shown and "smtp-pass" not in shown and "gw-tok" not in shown
