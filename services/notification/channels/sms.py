"""SMS through the configured HTTP gateway: POST ``{"to", "text"}`` with its token as a bearer."""

from __future__ import annotations

import json

import httpx

from services.notification.channels.http_post import post
from services.notification.message import DeliveryError, Message


def sms_text(message: Message, max_chars: int) -> str:
    """The subject and the facts on one line, cut to ``max_chars`` with "…" (an SMS is short)."""
    text = message.summary()
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


class SmsChannel:
    kind = "sms"

    def __init__(self, client: httpx.AsyncClient, gateway_url: str, token: str, max_chars: int) -> None:
        self._client = client
        self._url = gateway_url
        self._token = token
        self._max_chars = max_chars

    async def send(self, message: Message, address: str, secret: bytes | None) -> None:
        if not self._url:
            raise DeliveryError("no SMS gateway is configured (XINGCUN_SMS_GATEWAY_URL)", retryable=False)
        body = json.dumps({"to": address, "text": sms_text(message, self._max_chars)}, ensure_ascii=False)
        headers = {"content-type": "application/json; charset=utf-8", "user-agent": "xingcun-notification"}
        if self._token:
            headers["authorization"] = f"Bearer {self._token}"
        await post(self._client, self._url, "the SMS gateway", body.encode(), headers)
