"""HTTP endpoints of the exchange with the provincial platform."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["provincial platform"])
