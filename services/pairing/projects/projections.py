"""The milestone schedule: the open milestones of every project, projected from the pairing stream.

Only an index for the scheduler (which projects to look at); the Project aggregate decides.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.events.catalogue.pairing import (
    ProjectCompleted,
    ProjectMilestoneOverdue,
    ProjectMilestoneReached,
    ProjectRegistered,
)
from shared.events.envelope import Envelope, EventData

_OPEN = text(
    """
    INSERT INTO project_milestone_schedule (project_id, milestone_id, village_code, due_on)
    SELECT CAST(:project_id AS uuid), m, :village_code, d
    FROM unnest(CAST(:milestone_ids AS text[]), CAST(:due_ons AS date[])) AS t(m, d)
    ON CONFLICT (project_id, milestone_id) DO NOTHING
    """
)
_CLOSE = text(
    "DELETE FROM project_milestone_schedule WHERE project_id = :project_id AND milestone_id = :milestone_id"
)
_CLOSE_PROJECT = text("DELETE FROM project_milestone_schedule WHERE project_id = :project_id")


class MilestoneSchedule:
    """Milestones neither reached nor flagged overdue, of projects not completed."""

    name = "pairing-milestone-schedule"
    tables = ("project_milestone_schedule",)
    _types = frozenset(
        {
            ProjectRegistered.event_type,
            ProjectMilestoneReached.event_type,
            ProjectMilestoneOverdue.event_type,
            ProjectCompleted.event_type,
        }
    )

    def handles(self, event_type: str) -> bool:
        return event_type in self._types

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: EventData) -> None:
        if isinstance(event, ProjectRegistered):
            if event.milestones:
                await conn.execute(
                    _OPEN,
                    {
                        "project_id": event.project_id,
                        "village_code": event.village_code,
                        "milestone_ids": [m.milestone_id for m in event.milestones],
                        "due_ons": [m.due_on for m in event.milestones],
                    },
                )
        elif isinstance(event, ProjectMilestoneReached | ProjectMilestoneOverdue):
            await conn.execute(_CLOSE, {"project_id": event.project_id, "milestone_id": event.milestone_id})
        elif isinstance(event, ProjectCompleted):
            await conn.execute(_CLOSE_PROJECT, {"project_id": event.project_id})
