"""Wiring of the reporting service (``uvicorn services.reporting.app:create --factory``)."""

from __future__ import annotations

from fastapi import FastAPI

from services.reporting import export_api, indicators_api, periods_api, tables_api
from services.reporting.api import router
from services.reporting.cards import api as cards_api
from services.reporting.cards.judge import WORKERS as CARD_WORKERS
from services.reporting.dashboard import api as dashboard_api
from services.reporting.facts.monitoring import MonitoringFacts
from services.reporting.facts.pairing import PairingFacts
from services.reporting.facts.records import ReportingRecords
from shared.clock import Clock
from shared.service import Consumes, create_app
from shared.settings import Settings

# Read models the reporting service projects, by the name `xingcun rebuild` takes.
PROJECTIONS = {
    "pairing-facts": Consumes("pairing", PairingFacts),
    "monitoring-facts": Consumes("monitoring", MonitoringFacts),
    "reporting-records": Consumes("reporting", ReportingRecords),
}


def create(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_app(
        "reporting",
        routers=[
            router,
            tables_api.router,
            indicators_api.router,
            periods_api.router,
            cards_api.router,
            export_api.router,
            dashboard_api.router,
        ],
        workers=CARD_WORKERS,
        consumes=list(PROJECTIONS.values()),
        settings=settings,
        clock=clock,
        title="xingcun reporting",
    )
