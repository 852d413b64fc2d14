"""HTTP API for projects (filled in by the projects work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["projects"])
