"""What reminders and the parties of an event need to know, projected from the other services'
streams (rebuildable): households under watch with their contact and last quarterly survey;
counties; the enterprises of each agreement and project; the periods counties closed. And the
directory's ties to those parties: a recipient speaking for one enterprise, a rule's parties."""

from alembic import op

revision = "0004"
down_revision = "0003"

_STATEMENTS = (
    """
    CREATE TABLE household_watch (
        household_id uuid PRIMARY KEY,
        region_code text NOT NULL,
        monitored boolean NOT NULL DEFAULT false,
        flagged_on date,
        enrolled_on date,
        contact_due_on date,
        contact_name text,
        contact_unit text,
        contact_phone text,
        contact_assigned_on date,
        last_quarter text
    )
    """,
    "CREATE INDEX household_watch_monitored ON household_watch (region_code) WHERE monitored",
    "CREATE TABLE counties (county_code text PRIMARY KEY)",
    "CREATE TABLE enterprise_links (subject_id uuid PRIMARY KEY, enterprise_ids uuid[] NOT NULL)",
    """
    CREATE TABLE closed_periods (
        county_code text NOT NULL,
        period text NOT NULL,
        PRIMARY KEY (county_code, period)
    )
    """,
    "ALTER TABLE recipients ADD COLUMN enterprise_id uuid",
    "CREATE INDEX recipients_enterprise ON recipients (enterprise_id) WHERE enterprise_id IS NOT NULL",
    "ALTER TABLE routing_rules ADD COLUMN parties jsonb NOT NULL DEFAULT '[]'",
    # a rule's `where` (a reserved word in SQL)
    "ALTER TABLE routing_rules ADD COLUMN condition jsonb NOT NULL DEFAULT '{}'",
)


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER TABLE routing_rules DROP COLUMN condition")
    op.execute("ALTER TABLE routing_rules DROP COLUMN parties")
    op.execute("ALTER TABLE recipients DROP COLUMN enterprise_id")
    for table in ("closed_periods", "enterprise_links", "counties", "household_watch"):
        op.execute(f"DROP TABLE {table}")
