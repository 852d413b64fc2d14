"""HTTP API for listing and search (filled in by the directory work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["directory"])
