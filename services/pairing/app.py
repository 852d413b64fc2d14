"""Wiring of the pairing service (``uvicorn services.pairing.app:create --factory``)."""

from __future__ import annotations

from fastapi import FastAPI

from services.pairing import api
from services.pairing.cooperatives import api as cooperatives_api
from services.pairing.directory import api as directory_api
from services.pairing.directory.projections import PROJECTIONS as DIRECTORY
from services.pairing.ledger_import import api as import_api
from services.pairing.projects import api as projects_api
from services.pairing.projects.scheduler import PROJECTIONS as SCHEDULE
from services.pairing.projects.scheduler import WORKERS
from shared.clock import Clock
from shared.service import create_app
from shared.settings import Settings

# Read models the pairing service projects from its own stream (for `xingcun rebuild`).
PROJECTIONS = {**DIRECTORY, **SCHEDULE}


def create(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_app(
        "pairing",
        routers=[
            api.router,
            directory_api.router,
            projects_api.router,
            cooperatives_api.router,
            import_api.router,
        ],
        consumes=list(PROJECTIONS.values()),
        workers=WORKERS,
        settings=settings,
        clock=clock,
        title="xingcun pairing",
    )
