"""Household keys and the citizen-ID index (written with the events, in the command's transaction),
and the read models the monitoring service projects from its own stream (``monitoring-households``).

Division codes are ``COLLATE "C"`` so that a btree index serves ``LIKE '<prefix>%'`` (region scope).
"""

from alembic import op

revision = "0002"
down_revision = "0001"

_TABLES = (
    # A household's AES key, wrapped under the deployment's key. Deleting the row is the erasure.
    """
    CREATE TABLE household_keys (
        household_id uuid PRIMARY KEY,
        wrapped bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    # HMAC digest of a member's citizen ID number → its household: one probe finds a household,
    # and the primary key refuses the same number in two households even under concurrency.
    """
    CREATE TABLE person_index (
        id_digest bytea PRIMARY KEY,
        household_id uuid NOT NULL,
        member_no integer NOT NULL
    )
    """,
    "CREATE INDEX person_index_household ON person_index (household_id)",
    # Read model: one row per household, as the events left it.
    """
    CREATE TABLE monitoring_households (
        household_id uuid PRIMARY KEY,
        village_code text COLLATE "C" NOT NULL,
        status text NOT NULL,
        members integer NOT NULL,
        stage text,
        flag_id uuid,
        flag_source text,
        urgent boolean NOT NULL DEFAULT false,
        risk_types text[] NOT NULL DEFAULT '{}',
        rules text[] NOT NULL DEFAULT '{}',
        flagged_on date,
        category text,
        enrolled_on date,
        contact_due_on date,
        contact_name text,
        contact_unit text,
        contact_phone text,
        assigned_on date,
        measures text[] NOT NULL DEFAULT '{}',
        deliveries integer NOT NULL DEFAULT 0,
        delivered_yuan numeric(20, 2) NOT NULL DEFAULT 0,
        eliminated_on date,
        times_eliminated integer NOT NULL DEFAULT 0,
        last_followup_on date,
        erased boolean NOT NULL DEFAULT false
    )
    """,
    "CREATE INDEX monitoring_households_region ON monitoring_households (village_code, household_id)",
    "CREATE INDEX monitoring_households_stage ON monitoring_households (stage) WHERE stage IS NOT NULL",
    # Read model: the survey of each household and period as last corrected (what-if reads these).
    """
    CREATE TABLE monitoring_surveys (
        household_id uuid NOT NULL,
        period text COLLATE "C" NOT NULL,
        village_code text COLLATE "C" NOT NULL,
        kind text NOT NULL,
        surveyed_on date NOT NULL,
        survey jsonb NOT NULL,
        PRIMARY KEY (household_id, period)
    )
    """,
    "CREATE INDEX monitoring_surveys_period ON monitoring_surveys (period, village_code)",
)

_DROPPED = ("monitoring_surveys", "monitoring_households", "person_index", "household_keys")


def upgrade() -> None:
    for statement in _TABLES:
        op.execute(statement)


def downgrade() -> None:
    for table in _DROPPED:
        op.execute(f"DROP TABLE {table}")
