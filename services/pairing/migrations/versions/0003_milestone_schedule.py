"""The milestone scheduler's read model: open milestones of projects, by due date."""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE project_milestone_schedule (
            project_id uuid NOT NULL,
            milestone_id text NOT NULL,
            village_code char(12) NOT NULL,
            due_on date NOT NULL,
            PRIMARY KEY (project_id, milestone_id)
        )
        """
    )
    op.execute("CREATE INDEX project_milestone_schedule_due ON project_milestone_schedule (due_on)")


def downgrade() -> None:
    op.execute("DROP TABLE project_milestone_schedule")
