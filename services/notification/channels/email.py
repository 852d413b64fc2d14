"""E-mail over SMTP (aiosmtplib): a UTF-8 message, one recipient per send."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from services.notification.message import DeliveryError, Message
from shared.settings import Settings


def email_of(message: Message, sender: str, address: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = sender
    mail["To"] = address
    mail["Date"] = formatdate(localtime=False)
    # The same id for the same (event, recipient): a mail client shows a redelivery once.
    digest = hashlib.sha256(address.lower().encode()).hexdigest()[:16]
    mail["Message-ID"] = f"<{message.event_id}.{digest}@xingcun.notification>"
    mail["X-Xingcun-Event-Id"] = str(message.event_id)
    mail["X-Xingcun-Event-Type"] = message.event_type
    mail.set_content(message.text, charset="utf-8")
    return mail


class EmailChannel:
    kind = "email"

    def __init__(self, settings: Settings) -> None:
        self._host = settings.smtp_host
        self._port = settings.smtp_port
        self._sender = settings.smtp_sender
        self._starttls = settings.smtp_starttls
        self._username = settings.smtp_username
        self._password = settings.smtp_password
        self._timeout = settings.smtp_timeout_s

    async def send(self, message: Message, address: str, secret: bytes | None) -> None:
        mail = email_of(message, self._sender, address)
        try:
            await aiosmtplib.send(
                mail,
                hostname=self._host,
                port=self._port,
                start_tls=self._starttls,
                username=self._username or None,
                password=self._password if self._username else None,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            refused = error.recipients[0] if error.recipients else None
            code = refused.code if refused is not None else 550
            text = refused.message if refused is not None else str(error)
            raise DeliveryError(
                f"the SMTP server refused {address}: {code} {text}", retryable=code < 500
            ) from error
        except aiosmtplib.SMTPResponseException as error:
            # 4xx: the server is busy, greylisting, out of space for now; 5xx: it will never accept.
            raise DeliveryError(
                f"the SMTP server answered {error.code} {error.message}", retryable=error.code < 500
            ) from error
        except aiosmtplib.SMTPNotSupported as error:
            raise DeliveryError(f"the SMTP server does not support it: {error}", retryable=False) from error
        except (
            aiosmtplib.SMTPConnectError,
            aiosmtplib.SMTPServerDisconnected,
            aiosmtplib.SMTPTimeoutError,
            OSError,
        ) as error:
            # connection refused, dropped or too slow
            raise DeliveryError(f"the SMTP server could not be reached: {error!r}", retryable=True) from error
        except aiosmtplib.SMTPException as error:
            # connected, and the exchange itself cannot work (a login the server does not offer, …):
            # the configuration must change, waiting will not help
            raise DeliveryError(f"the SMTP exchange failed: {error}", retryable=False) from error
