"""Wiring of the notification service (``uvicorn services.notification.app:create --factory``).

Its own issue fills it in; today it runs its database, event store, relay and health checks.
"""

from __future__ import annotations

from fastapi import FastAPI

from shared.clock import Clock
from shared.service import create_app
from shared.settings import Settings


def create(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_app("notification", settings=settings, clock=clock, title="xingcun notification")
