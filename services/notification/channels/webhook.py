"""Webhooks: the message and its event as JSON, POSTed to another system and signed with the
secret the recipient's channel names (``signature.py`` tells the scheme; receivers call
``verify_signature``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping

import httpx

from services.notification.channels.http_post import post
from services.notification.channels.signature import (
    DELIVERY_ID_HEADER,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    verify_signature,
)
from services.notification.message import DeliveryError, Message

__all__ = ["WebhookChannel", "body_of", "resolve_secret", "verify_signature"]


def resolve_secret(secrets: Mapping[str, str], secret_ref: str | None) -> bytes:
    """The signing key a channel's ``secret_ref`` names, from ``XINGCUN_WEBHOOK_SECRETS``. A name
    that is not configured cannot get better by waiting: not retryable; the reason names it (never
    a secret)."""
    if secret_ref is None:
        raise DeliveryError("the webhook names no secret (secret_ref)", retryable=False)
    secret = secrets.get(secret_ref)
    if not secret:
        raise DeliveryError(
            f"no webhook secret {secret_ref!r} is configured (XINGCUN_WEBHOOK_SECRETS)", retryable=False
        )
    return secret.encode()


def body_of(message: Message) -> bytes:
    """The exact bytes sent and signed: compact UTF-8 JSON, Chinese as it is."""
    return json.dumps(message.as_json(), ensure_ascii=False, separators=(",", ":")).encode()


class WebhookChannel:
    kind = "webhook"

    def __init__(self, client: httpx.AsyncClient, clock: Callable[[], float] = time.time) -> None:
        # The client carries the timeout (XINGCUN_NOTIFICATION_HTTP_TIMEOUT_S) and its pool is shared.
        self._client = client
        self._clock = clock

    async def send(self, message: Message, address: str, secret: bytes | None) -> None:
        if not secret:
            raise DeliveryError("a webhook is sent signed, and no secret was given", retryable=False)
        body = body_of(message)
        timestamp = int(self._clock())
        headers = {
            "content-type": "application/json; charset=utf-8",
            "user-agent": "xingcun-notification",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            EVENT_ID_HEADER: str(message.event_id),
        }
        if message.delivery_id is not None:
            headers[DELIVERY_ID_HEADER] = str(message.delivery_id)
        await post(self._client, address, "the webhook receiver", body, headers)
