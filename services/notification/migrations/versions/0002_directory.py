"""The directory: recipients (people and systems with a role, a region and channels) and routing
rules (event type + region + roles → channels). Both are projections of the service's own stream
(``notification-directory``, rebuildable); ``version`` is the stream version last applied."""

from alembic import op

revision = "0002"
down_revision = "0001"

_STATEMENTS = (
    """
    CREATE TABLE recipients (
        recipient_id uuid PRIMARY KEY,
        name text NOT NULL,
        role text NOT NULL,
        region_code text NOT NULL,
        channels jsonb NOT NULL,
        active boolean NOT NULL,
        version integer NOT NULL,
        registered_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX recipients_region ON recipients (region_code text_pattern_ops, role)",
    """
    CREATE TABLE routing_rules (
        rule_id uuid PRIMARY KEY,
        on_event text NOT NULL,
        region_prefix text NOT NULL,
        roles jsonb NOT NULL,
        channels jsonb NOT NULL,
        active boolean NOT NULL,
        version integer NOT NULL,
        updated_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX routing_rules_on_event ON routing_rules (on_event, region_prefix)",
)


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("routing_rules", "recipients"):
        op.execute(f"DROP TABLE {table}")
