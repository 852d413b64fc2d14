"""What the reporting service records itself: supervision cards, period closings with their filed
tables, and indicator values entered by a county.

``card_history``, ``period_closings`` and ``indicator_entries`` are projections of the service's
own stream (rebuildable). ``period_filings`` is not: it keeps each filed table's content as it was
filed, written in the transaction that appends ``reporting.period_closed`` (whose event names it
and carries each table's SHA-256), so that what a county filed never changes.
"""

from alembic import op

revision = "0004"
down_revision = "0003"

_STATEMENTS = (
    """
    CREATE TABLE card_history (
        event_id uuid PRIMARY KEY,
        subject text NOT NULL,
        subject_id uuid NOT NULL,
        village_code char(12) NOT NULL,
        card text NOT NULL,
        previous text,
        reasons jsonb NOT NULL,
        judged_on date NOT NULL,
        version integer NOT NULL,
        recorded_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX card_history_subject ON card_history (subject, subject_id, version)",
    "CREATE INDEX card_history_village ON card_history (village_code, recorded_at)",
    """
    CREATE TABLE period_closings (
        county_code char(6) NOT NULL,
        period text NOT NULL,
        closed_at timestamptz NOT NULL,
        due_on date NOT NULL,
        tables jsonb NOT NULL,
        filing_id uuid NOT NULL,
        recorded_at timestamptz NOT NULL,
        PRIMARY KEY (county_code, period)
    )
    """,
    """
    CREATE TABLE period_filings (
        filing_id uuid PRIMARY KEY,
        county_code char(6) NOT NULL,
        period text NOT NULL,
        closed_at timestamptz NOT NULL,
        tables jsonb NOT NULL
    )
    """,
    """
    CREATE TABLE indicator_entries (
        event_id uuid PRIMARY KEY,
        region_code text NOT NULL,
        indicator text NOT NULL,
        year integer NOT NULL,
        baseline numeric(20, 4),
        target numeric(20, 4),
        current numeric(20, 4),
        note text,
        recorded_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX indicator_entries_region ON indicator_entries (region_code, indicator, year)",
)


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("indicator_entries", "period_filings", "period_closings", "card_history"):
        op.execute(f"DROP TABLE {table}")
