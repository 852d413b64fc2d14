"""The milestone scheduler: flags each milestone whose due date passed unmet, exactly once.

Dates are China's calendar: a milestone due on 6-30 is overdue from 7-1 00:00 China time
(UTC+8, no daylight saving), whatever the clock's UTC date says.

The schedule projection only says which projects may have something due; each is then asked
through its aggregate, which emits ``pairing.project_milestone_overdue`` only for a milestone
neither reached nor flagged yet. Two schedulers, a lagging projection or a replay therefore never
flag twice: the later one finds the flag in the stream, or loses the append race
(ConcurrencyConflict) and looks again at its next tick.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date

from pydantic import BaseModel
from sqlalchemy import text

from services.pairing.projects.commands import ProjectCommands
from services.pairing.projects.domain import PROJECT_EVENT_TYPES
from services.pairing.projects.projections import MilestoneSchedule
from shared.auth import Role
from shared.clock import china_date
from shared.events.catalogue.pairing import ProjectMilestoneOverdue
from shared.events.envelope import Actor
from shared.eventstore.context import CommandContext
from shared.eventstore.store import ConcurrencyConflict
from shared.service import Consumes, Runtime, Worker, every

log = logging.getLogger(__name__)

SCHEDULER = Actor(id="milestone-scheduler", role=Role.platform.value, region_code="")

_DUE = text(
    "SELECT DISTINCT project_id FROM project_milestone_schedule "
    "WHERE due_on < :today AND starts_with(village_code, :region) ORDER BY project_id"
)


class OverdueCheck(BaseModel):
    checked_on: date
    flagged: list[ProjectMilestoneOverdue]


async def check_overdue(
    runtime: Runtime, *, region: str = "", actor: Actor = SCHEDULER, correlation_id: str | None = None
) -> OverdueCheck:
    """Flag what is overdue today in ``region`` (a division-code prefix; "" is everywhere)."""
    now = runtime.clock.now()
    today = china_date(now)
    async with runtime.engine.connect() as conn:
        due = [row[0] for row in await conn.execute(_DUE, {"today": today, "region": region})]
    ctx = CommandContext(actor=actor, now=now, correlation_id=correlation_id or str(uuid.uuid4()))
    commands = ProjectCommands(runtime.store)
    flagged: list[ProjectMilestoneOverdue] = []
    for project_id in due:
        try:
            flagged += await commands.flag_overdue(ctx, project_id, today)
        except ConcurrencyConflict:
            log.info("project %s changed while being checked; it is checked again next time", project_id)
    return OverdueCheck(checked_on=today, flagged=flagged)


milestone_scheduler = every(
    "milestone check",
    check_overdue,
    lambda settings: settings.milestone_check_interval_s,
    lambda result: f"flagged {len(result.flagged)} overdue milestones" if result.flagged else None,
)


# Only project streams: nothing else in the pairing stream concerns the schedule.
PROJECTIONS: dict[str, Consumes] = {
    "milestone-schedule": Consumes("pairing", MilestoneSchedule, event_types=PROJECT_EVENT_TYPES)
}
WORKERS: list[Worker] = [milestone_scheduler]
