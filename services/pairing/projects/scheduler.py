"""The milestone scheduler (filled in by the projects work)."""

from __future__ import annotations

from shared.service import Consumes, Worker

PROJECTIONS: dict[str, Consumes] = {}
WORKERS: list[Worker] = []
