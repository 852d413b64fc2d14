"""Wiring of the pairing service (``uvicorn services.pairing.app:create --factory``)."""

from __future__ import annotations

from fastapi import FastAPI

from services.pairing.api import router
from shared.clock import Clock
from shared.service import create_app
from shared.settings import Settings


def create(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_app("pairing", routers=[router], settings=settings, clock=clock, title="xingcun pairing")
