"""HTTP API for cooperatives and 双绑 bindings (filled in by the cooperatives work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["cooperatives"])
