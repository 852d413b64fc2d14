"""The uploaded ledger file (shared/tabular/upload.py with the ledger's limits)."""

from __future__ import annotations

from fastapi import Request

from services.pairing.ledger_import.reader import LEDGER
from shared.tabular.upload import PROBLEMS, received

__all__ = ["PROBLEMS", "received_file"]


async def received_file(request: Request) -> tuple[str, str, bytes]:
    upload = await received(LEDGER, request)
    return upload.filename, upload.content_type, upload.data
