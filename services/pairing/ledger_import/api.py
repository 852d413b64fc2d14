"""HTTP API for ledger imports (filled in by the import work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["ledger import"])
