"""``xingcun up``'s SMTP server: keeps each alert the notification service e-mails as a file
(``.xingcun/mail/<time>-<n>.eml``) instead of sending it on, so that a newcomer sees them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from shared.runtime.embedded import free_port


class MailFolder:
    """An aiosmtpd handler writing each accepted message to ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._numbers = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"{stamp}-{next(self._numbers):05d}.eml"
        path.write_bytes(envelope.original_content)
        return "250 Kept"


def start_mail_sink(folder: Path) -> Controller:
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(MailFolder(folder), hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller
