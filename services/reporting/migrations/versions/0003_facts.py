"""The facts every reporting table is computed from, each stamped with when it was recorded.

Every table here is a projection (dropped and refilled by ``xingcun rebuild``). A fact carries the
``recorded_at`` of the event that brought it (``*_at`` columns), so any table can be computed
"as of" a past moment from the same rows: a row (or a transition in a row) counts only when it was
recorded by then. Money is ``numeric``; personal fields of households never reach these tables.
"""

from alembic import op

revision = "0003"
down_revision = "0002"

_STATEMENTS = (
    # -- pairing: the existing village ledger grows into the pairing facts ---------------------
    # Its rows lack the recorded times added below, and its consumer is renamed
    # (reporting-village-ledger → reporting-pairing-facts): empty it, and the new durable consumer
    # fills it again from the first pairing event.
    "TRUNCATE ledger_agreements, ledger_enterprises, ledger_villages",
    "DELETE FROM consumer_checkpoints WHERE consumer = 'reporting-village-ledger'",
    "ALTER TABLE ledger_villages ADD COLUMN registered_at timestamptz NOT NULL DEFAULT now()",
    "ALTER TABLE ledger_enterprises ADD COLUMN leading_level text",
    "ALTER TABLE ledger_enterprises ADD COLUMN registered_at timestamptz NOT NULL DEFAULT now()",
    "ALTER TABLE ledger_agreements ADD COLUMN relays_agreement_id uuid",
    "ALTER TABLE ledger_agreements ADD COLUMN terminated_on date",
    "ALTER TABLE ledger_agreements ADD COLUMN terminated_at timestamptz",
    "ALTER TABLE ledger_agreements ADD COLUMN termination_reason text",
    "ALTER TABLE ledger_agreements ADD COLUMN relayed_by uuid",
    "ALTER TABLE ledger_agreements ADD COLUMN relayed_at timestamptz",
    "CREATE INDEX ledger_agreements_enterprise ON ledger_agreements (enterprise_id)",
    """
    CREATE TABLE ledger_village_incomes (
        event_id uuid PRIMARY KEY,
        village_code char(12) NOT NULL,
        year integer NOT NULL,
        income_yuan numeric(16, 2) NOT NULL,
        recorded_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX ledger_village_incomes_village ON ledger_village_incomes (village_code, year)",
    """
    CREATE TABLE ledger_projects (
        project_id uuid PRIMARY KEY,
        village_code char(12) NOT NULL,
        agreement_ids uuid[] NOT NULL,
        enterprise_ids uuid[] NOT NULL,
        name text NOT NULL,
        industry text NOT NULL,
        budget_yuan numeric(16, 2) NOT NULL,
        funding jsonb NOT NULL,
        shareholding jsonb NOT NULL,
        beneficiary_households integer NOT NULL,
        jobs integer NOT NULL,
        registered_on date NOT NULL,
        registered_at timestamptz NOT NULL,
        completed_on date,
        completed_at timestamptz,
        assets jsonb,
        assets_value_yuan numeric(16, 2)
    )
    """,
    "CREATE INDEX ledger_projects_village ON ledger_projects (village_code)",
    """
    CREATE TABLE ledger_milestones (
        project_id uuid NOT NULL,
        milestone_id text NOT NULL,
        position integer NOT NULL,
        name text NOT NULL,
        due_on date NOT NULL,
        reached_on date,
        reached_at timestamptz,
        evidence_ref text,
        overdue_detected_on date,
        overdue_at timestamptz,
        PRIMARY KEY (project_id, milestone_id)
    )
    """,
    """
    CREATE TABLE ledger_investments (
        event_id uuid PRIMARY KEY,
        project_id uuid NOT NULL,
        village_code char(12) NOT NULL,
        tranche integer NOT NULL,
        source text NOT NULL,
        amount_yuan numeric(16, 2) NOT NULL,
        invested_on date NOT NULL,
        recorded_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX ledger_investments_project ON ledger_investments (project_id)",
    "CREATE INDEX ledger_investments_village ON ledger_investments (village_code)",
    """
    CREATE TABLE ledger_cooperatives (
        cooperative_id uuid PRIMARY KEY,
        code text NOT NULL,
        name text NOT NULL,
        village_code char(12) NOT NULL,
        leading_industry text NOT NULL,
        registered_at timestamptz NOT NULL
    )
    """,
    """
    CREATE TABLE ledger_bindings (
        binding_id uuid PRIMARY KEY,
        kind text NOT NULL,
        cooperative_id uuid NOT NULL,
        village_code char(12) NOT NULL,
        household_id uuid,
        household_village_code char(12),
        enterprise_id uuid,
        form text NOT NULL,
        started_on date NOT NULL,
        ends_on date,
        established_at timestamptz NOT NULL,
        ended_on date,
        ended_at timestamptz,
        end_reason text
    )
    """,
    "CREATE INDEX ledger_bindings_household ON ledger_bindings (household_id)",
    # -- monitoring: each household's state after each of its events -----------------------------
    """
    CREATE TABLE household_facts (
        household_id uuid PRIMARY KEY,
        village_code char(12) NOT NULL,
        status text NOT NULL,
        members integer NOT NULL,
        labourers integer NOT NULL,
        stage text,
        category text,
        risk_types text[] NOT NULL DEFAULT '{}',
        flag_id uuid,
        times_eliminated integer NOT NULL DEFAULT 0,
        erased boolean NOT NULL DEFAULT false,
        version integer NOT NULL,
        registered_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX household_facts_village ON household_facts (village_code)",
    """
    CREATE TABLE household_history (
        event_id uuid PRIMARY KEY,
        household_id uuid NOT NULL,
        version integer NOT NULL,
        village_code char(12) NOT NULL,
        kind text NOT NULL,
        on_date date NOT NULL,
        recorded_at timestamptz NOT NULL,
        status text NOT NULL,
        members integer NOT NULL,
        labourers integer NOT NULL,
        stage text,
        category text,
        risk_types text[] NOT NULL,
        flag_id uuid,
        source text,
        urgent boolean NOT NULL DEFAULT false,
        reflagged boolean NOT NULL DEFAULT false,
        procedure text,
        rejected_at_stage text,
        measure text,
        amount_yuan numeric(16, 2),
        stable boolean
    )
    """,
    "CREATE INDEX household_history_household ON household_history (household_id, version)",
    "CREATE INDEX household_history_village ON household_history (village_code, recorded_at)",
    """
    CREATE TABLE household_surveys (
        event_id uuid PRIMARY KEY,
        household_id uuid NOT NULL,
        village_code char(12) NOT NULL,
        period text NOT NULL,
        surveyed_on date NOT NULL,
        recorded_at timestamptz NOT NULL,
        members integer,
        per_capita_income_yuan numeric(16, 2),
        rigid_expenses_yuan numeric(16, 2),
        medical_insured_all boolean,
        housing_safe boolean,
        drinking_water_safe boolean,
        children_of_compulsory_age integer,
        out_of_school integer,
        labourers integer,
        employed integer
    )
    """,
    "CREATE INDEX household_surveys_village ON household_surveys (village_code, period)",
)


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in (
        "household_surveys",
        "household_history",
        "household_facts",
        "ledger_bindings",
        "ledger_cooperatives",
        "ledger_investments",
        "ledger_milestones",
        "ledger_projects",
        "ledger_village_incomes",
    ):
        op.execute(f"DROP TABLE {table}")
    for column in (
        "relays_agreement_id",
        "terminated_on",
        "terminated_at",
        "termination_reason",
        "relayed_by",
        "relayed_at",
    ):
        op.execute(f"ALTER TABLE ledger_agreements DROP COLUMN {column}")
    op.execute("DROP INDEX ledger_agreements_enterprise")
    op.execute("ALTER TABLE ledger_enterprises DROP COLUMN leading_level, DROP COLUMN registered_at")
    op.execute("ALTER TABLE ledger_villages DROP COLUMN registered_at")
