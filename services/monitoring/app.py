"""Wiring of the monitoring service (``uvicorn services.monitoring.app:create --factory``)."""

from __future__ import annotations

from fastapi import FastAPI

from services.monitoring import api, queries_api
from services.monitoring.config import monitoring_config
from services.monitoring.platform import api as platform_api
from services.monitoring.projections import PROJECTIONS
from shared.clock import Clock
from shared.service import create_app
from shared.settings import Settings


def create(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    monitoring_config(settings)  # a missing key or a bad rule setting stops the start, not a request
    return create_app(
        "monitoring",
        routers=[api.router, queries_api.router, platform_api.router],
        consumes=list(PROJECTIONS.values()),
        settings=settings,
        clock=clock,
        title="xingcun monitoring",
    )
