"""The uploaded survey batch (shared/tabular/upload.py with the platform's limits)."""

from __future__ import annotations

from fastapi import Request

from services.monitoring.platform.reader import SURVEY
from shared.tabular.upload import PROBLEMS, Upload
from shared.tabular.upload import received as _received

__all__ = ["MAX_BYTES", "PROBLEMS", "Upload", "received"]

MAX_BYTES = SURVEY.max_bytes


async def received(request: Request) -> Upload:
    return await _received(SURVEY, request)
