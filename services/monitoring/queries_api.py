"""The monitoring service's HTTP API for reading: households, surveys, what-if."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["monitoring"])
