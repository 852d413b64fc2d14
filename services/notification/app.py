"""Wiring of the notification service (``uvicorn services.notification.app:create --factory``).

The directory of recipients and routing rules (API, projection, seed from the configuration);
the routers that turn the events of pairing, monitoring and reporting (and the service's own
reminders) into deliveries; the dispatcher that sends them; the reminders found from time; and
the delivery log.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notification.api import known_event_types, router
from services.notification.deliveries_api import router as deliveries_router
from services.notification.dispatcher import Wake, dispatch
from services.notification.metrics import delivery_figures
from services.notification.projection import DIRECTORY_EVENTS, Directory
from services.notification.reminder_job import raise_reminders
from services.notification.reminders_api import router as reminders_router
from services.notification.router import Router
from services.notification.seed import parse_seed, seed_worker
from services.notification.templates import TemplateOptions
from services.notification.watch import ClosedPeriods, Households, PairingParties
from shared.clock import Clock, SystemClock
from shared.events.catalogue.notification import ReminderDue
from shared.service import Consumes, Handles, Runtime, create_app, every
from shared.settings import ServiceName, Settings

# Read models the notification service projects, by the name `xingcun rebuild` takes. The
# deliveries are not among them: they are the service's own record of what it sent.
PROJECTIONS = {
    # Only the directory's own events: their streams hold nothing else, and the service's stream
    # is mostly delivery records, which would each leave a checkpoint row behind.
    "notification-directory": Consumes("notification", Directory, DIRECTORY_EVENTS),
    "notification-households": Consumes("monitoring", Households),
    "notification-pairing": Consumes("pairing", PairingParties),
    "notification-periods": Consumes("reporting", ClosedPeriods),
}
# The streams whose events are told, and of the service's own stream only its reminders (never
# its delivery records: a rule on `*` would otherwise tell of its own deliveries without end).
ROUTED: dict[ServiceName, tuple[str, ...]] = {
    "pairing": (),
    "monitoring": (),
    "reporting": (),
    "notification": (ReminderDue.event_type,),
}


def routers(settings: Settings, clock: Clock, wake: Wake) -> list[Handles]:
    options = TemplateOptions.of(settings)
    max_age = timedelta(hours=settings.notification_max_event_age_h)

    def build(source: str, engine: AsyncEngine) -> Router:
        return Router(engine, source, options, clock, max_age, wake)

    return [Handles(source, partial(build, source), types) for source, types in ROUTED.items()]


reminder_worker = every(
    "reminders",
    raise_reminders,
    lambda settings: settings.reminder_check_interval_s,
    lambda raised: f"{len(raised)} raised" if raised else None,
)


def create(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    clock = clock or SystemClock()
    # A bad seed stops the service here, before it starts, with every problem named.
    seed = parse_seed(
        settings.notification_seed, known_event_types(), settings.notification_allow_http_webhooks
    )
    wake = Wake()

    async def dispatcher(runtime: Runtime) -> None:
        await dispatch(runtime, wake)

    app = create_app(
        "notification",
        routers=[router, deliveries_router, reminders_router],
        consumes=[*PROJECTIONS.values(), *routers(settings, clock, wake)],
        workers=[seed_worker(seed), dispatcher, reminder_worker],
        metrics=[delivery_figures],
        settings=settings,
        clock=clock,
        title="xingcun notification",
    )
    app.state.wake_dispatcher = wake
    return app
