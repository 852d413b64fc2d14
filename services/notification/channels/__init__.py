"""The channels a message goes out on: e-mail (SMTP), webhooks (signed HTTP POST) and SMS (an
HTTP gateway). Each sends one message to one address or raises ``DeliveryError``; retries,
backoff and the once-only record are the dispatcher's."""

from __future__ import annotations

from typing import Protocol

import httpx

from services.notification.message import Message
from shared.settings import Settings


class Channel(Protocol):
    kind: str  # a ``ChannelKind`` value

    async def send(self, message: Message, address: str, secret: bytes | None) -> None:
        """Deliver ``message`` to ``address`` (``secret``: a webhook's signing key, else None), or
        raise ``DeliveryError``."""
        ...


def build_channels(settings: Settings, client: httpx.AsyncClient) -> dict[str, Channel]:
    """The three channels by kind; ``client`` (its timeout from the settings) serves webhooks and SMS."""
    from services.notification.channels.email import EmailChannel
    from services.notification.channels.sms import SmsChannel
    from services.notification.channels.webhook import WebhookChannel

    channels: list[Channel] = [
        EmailChannel(settings),
        WebhookChannel(client),
        SmsChannel(client, settings.sms_gateway_url, settings.sms_gateway_token, settings.sms_max_chars),
    ]
    return {channel.kind: channel for channel in channels}


def http_client(settings: Settings) -> httpx.AsyncClient:
    """The client webhooks and SMS share: no redirects followed, the configured timeout."""
    return httpx.AsyncClient(timeout=settings.notification_http_timeout_s, follow_redirects=False)
