"""Wiring of the notification service (``uvicorn services.notification.app:create --factory``).

Today: the directory of recipients and routing rules (API, projection, seed from the
configuration). Delivery comes next.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.notification.api import known_event_types, router
from services.notification.projection import Directory
from services.notification.seed import parse_seed, seed_worker
from shared.clock import Clock
from shared.service import Consumes, create_app
from shared.settings import Settings

# Read models the notification service projects, by the name `xingcun rebuild` takes.
PROJECTIONS = {"notification-directory": Consumes("notification", Directory)}


def create(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    # A bad seed stops the service here, before it starts, with every problem named.
    seed = parse_seed(settings.notification_seed, known_event_types())
    return create_app(
        "notification",
        routers=[router],
        consumes=list(PROJECTIONS.values()),
        workers=[seed_worker(seed)],
        settings=settings,
        clock=clock,
        title="xingcun notification",
    )
