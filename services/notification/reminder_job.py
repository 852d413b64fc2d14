"""Raising reminders: what is due today (``reminders.py``), appended as ``notification.reminder_due``
once per due item. Each goes to its own stream at version 1, so a reminder found again, by this
instance tomorrow or by another one now, is refused by the store rather than raised twice. The
router then routes it like any event (rules on ``notification.reminder_due``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import date

from services.notification.reminders import Due, ReminderOptions, WatchedHousehold, due_reminders
from services.notification.watch import WATCH
from shared.auth import Role
from shared.clock import china_date
from shared.events.envelope import Actor
from shared.eventstore.context import CommandContext, wrap
from shared.eventstore.store import ConcurrencyConflict
from shared.regions import within
from shared.service import Runtime, wait_caught_up

REMINDERS = Actor(id="notification-reminders", role=Role.platform.value, region_code="")

_MONITORED = (
    "SELECT household_id, region_code, flagged_on, enrolled_on, contact_due_on, contact_assigned_on, "
    "last_quarter "
    "FROM household_watch WHERE monitored"
)
_COUNTIES = (
    "SELECT county_code FROM counties UNION SELECT DISTINCT substr(region_code, 1, 6) FROM household_watch"
)
_CLOSED = "SELECT county_code, period FROM closed_periods"
_RAISED = "SELECT stream_id FROM events WHERE stream_id = ANY($1::text[]) AND stream_version = 1"
_CHUNK = 500
CATCH_UP_S = 10.0


class Behind(Exception):
    """The projections reminders read from have not taken in their streams yet: a reminder found
    now could be one an event not yet taken in has made needless."""

    def __init__(self, events: int) -> None:
        super().__init__(f"{events} events are still to be taken in")
        self.events = events


def stream_of(due: Due) -> str:
    return f"reminder-{due.reminder_id}"


async def raise_reminders(runtime: Runtime, region: str = "", correlation_id: str | None = None) -> list[Due]:
    """Append every reminder due today in ``region`` not raised before; return those appended."""
    if behind := await wait_caught_up(runtime, CATCH_UP_S, WATCH):
        raise Behind(behind)
    now = runtime.clock.now()
    today = china_date(now)
    async with runtime.store.pool.acquire() as conn:
        monitored = [WatchedHousehold(**dict(row)) for row in await conn.fetch(_MONITORED)]
        counties = [row[0] for row in await conn.fetch(_COUNTIES)]
        closed = {(row[0], row[1]) for row in await conn.fetch(_CLOSED)}
        due = [
            d
            for d in due_reminders(counties, closed, monitored, today, ReminderOptions.of(runtime.settings))
            if within(d.region_code, region)
        ]
        raised = {row[0] for row in await conn.fetch(_RAISED, [stream_of(d) for d in due])}
    new = [d for d in due if stream_of(d) not in raised]
    ctx = CommandContext(actor=REMINDERS, now=now, correlation_id=correlation_id or f"reminders-{today}")
    appended: list[Due] = []
    for start in range(0, len(new), _CHUNK):
        appended += await _append(runtime, ctx, new[start : start + _CHUNK], today)
    return appended


async def _append(runtime: Runtime, ctx: CommandContext, due: Sequence[Due], today: date) -> list[Due]:
    """Append ``due`` in one statement; when another instance raised some just now, the rest one by
    one. The ones appended."""
    try:
        await _raise(runtime, ctx, due, today)
        return list(due)
    except ConcurrencyConflict:
        appended = []
        for d in due:
            with contextlib.suppress(ConcurrencyConflict):
                await _raise(runtime, ctx, [d], today)
                appended.append(d)
        return appended


async def _raise(runtime: Runtime, ctx: CommandContext, due: Sequence[Due], today: date) -> None:
    async with runtime.store.session() as session:
        for d in due:
            session.append(0, wrap(ctx, stream_of(d), 0, d.region_code, [d.event(today)]))
