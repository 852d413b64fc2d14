"""``POST /reminders/check``: look for due reminders now rather than at the next check
(every ``XINGCUN_REMINDER_CHECK_INTERVAL_S``). What it raises is routed and delivered like any
event; the delivery log lists them under ``event_type=notification.reminder_due``."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from services.notification.reminder_job import Behind, raise_reminders
from shared.auth import Principal, Role, allow
from shared.events.catalogue.notification import ReminderKind
from shared.http.problems import Problem, problem_responses
from shared.service import command_context, runtime_of

router = APIRouter(tags=["reminders"])

Checker = Annotated[Principal, Depends(allow(Role.county_officer, Role.platform))]


class RaisedReminder(BaseModel):
    reminder_id: str
    kind: ReminderKind
    item: str
    region_code: str
    due_on: date
    count: int | None


class ReminderCheck(BaseModel):
    raised: list[RaisedReminder]


@router.post(
    "/reminders/check",
    response_model=ReminderCheck,
    summary="Raise the reminders due today now",
    responses=problem_responses(
        {
            401: "Missing or refused bearer token",
            403: "Role not allowed",
            503: "The events reminders are found from are still being taken in",
        }
    ),
)
async def check_reminders(request: Request, principal: Checker) -> ReminderCheck:
    """Raise each reminder due today in the caller's region that was not raised before (a second
    call right after raises none): report deadlines, contacts not assigned in time, quarterly
    surveys due."""
    ctx = command_context(request, principal)
    try:
        raised = await raise_reminders(runtime_of(request), principal.region, ctx.correlation_id)
    except Behind as behind:
        raise Problem(503, "Catching up", f"{behind}; look again in a minute") from None
    return ReminderCheck(
        raised=[
            RaisedReminder(
                reminder_id=str(d.reminder_id),
                kind=d.kind,
                item=d.item,
                region_code=d.region_code,
                due_on=d.due_on,
                count=d.count,
            )
            for d in raised
        ]
    )
