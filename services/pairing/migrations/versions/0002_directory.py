"""The pairing directory's read model (services/pairing/directory): every table is the projection
``pairing-directory``'s and can be emptied and replayed from the pairing stream.

Division codes are ``COLLATE "C"`` so that a btree index serves ``LIKE '<prefix>%'`` (region scope).
Derived statuses are generated columns: whichever event arrives last, the status follows from the
facts recorded, so the projection never has to apply events of different streams in order.
"""

from alembic import op

revision = "0002"
down_revision = "0001"

_TABLES = (
    """
    CREATE TABLE directory_enterprises (
        enterprise_id uuid PRIMARY KEY,
        name text NOT NULL,
        credit_code text NOT NULL,
        kind text NOT NULL,
        county_code text COLLATE "C" NOT NULL,
        region_code text COLLATE "C" NOT NULL,
        leading_level text
    )
    """,
    """
    CREATE TABLE directory_villages (
        village_code text COLLATE "C" PRIMARY KEY,
        name text NOT NULL,
        category text NOT NULL,
        former_poverty_village boolean NOT NULL
    )
    """,
    """
    CREATE TABLE directory_village_incomes (
        village_code text COLLATE "C" NOT NULL,
        year integer NOT NULL,
        income_yuan numeric(20, 2) NOT NULL,
        PRIMARY KEY (village_code, year)
    )
    """,
    """
    CREATE TABLE directory_agreements (
        agreement_id uuid PRIMARY KEY,
        village_code text COLLATE "C" NOT NULL,
        enterprise_id uuid NOT NULL,
        signed_on date NOT NULL,
        term_years integer NOT NULL,
        document_ref text NOT NULL,
        pathways text[] NOT NULL,
        mode text NOT NULL,
        investment_yuan numeric(20, 2) NOT NULL,
        jobs integer NOT NULL,
        trainees integer NOT NULL,
        purchases_yuan numeric(20, 2) NOT NULL,
        donations_yuan numeric(20, 2) NOT NULL,
        relays_agreement_id uuid,
        terminated_on date,
        termination_reason text,
        successor_agreement_id uuid,
        status text NOT NULL GENERATED ALWAYS AS (
            CASE WHEN terminated_on IS NULL THEN 'active'
                 WHEN successor_agreement_id IS NULL THEN 'needs_relay'
                 ELSE 'relayed' END
        ) STORED
    )
    """,
    """
    CREATE TABLE directory_projects (
        project_id uuid PRIMARY KEY,
        village_code text COLLATE "C" NOT NULL,
        name text NOT NULL,
        industry text NOT NULL,
        agreement_ids uuid[] NOT NULL,
        enterprise_ids uuid[] NOT NULL,
        budget_yuan numeric(20, 2) NOT NULL,
        beneficiary_households integer NOT NULL,
        jobs integer NOT NULL,
        registered_at timestamptz NOT NULL,
        invested_yuan numeric(20, 2) NOT NULL DEFAULT 0,
        milestones_total integer NOT NULL DEFAULT 0,
        milestones_reached integer NOT NULL DEFAULT 0,
        milestones_overdue integer NOT NULL DEFAULT 0,
        completed_on date,
        assets_yuan numeric(20, 2),
        status text NOT NULL GENERATED ALWAYS AS (
            CASE WHEN completed_on IS NULL THEN 'in_progress' ELSE 'completed' END
        ) STORED
    )
    """,
    """
    CREATE TABLE directory_project_milestones (
        project_id uuid NOT NULL,
        milestone_id text NOT NULL,
        name text NOT NULL,
        due_on date NOT NULL,
        reached_on date,
        overdue_since date,
        PRIMARY KEY (project_id, milestone_id)
    )
    """,
    """
    CREATE TABLE directory_project_investments (
        project_id uuid NOT NULL,
        tranche integer NOT NULL,
        source text NOT NULL,
        amount_yuan numeric(20, 2) NOT NULL,
        invested_on date NOT NULL,
        PRIMARY KEY (project_id, tranche)
    )
    """,
    """
    CREATE TABLE directory_cooperatives (
        cooperative_id uuid PRIMARY KEY,
        code text NOT NULL,
        name text NOT NULL,
        village_code text COLLATE "C" NOT NULL,
        leading_industry text NOT NULL
    )
    """,
    """
    CREATE TABLE directory_bindings (
        binding_id uuid PRIMARY KEY,
        kind text NOT NULL,
        cooperative_id uuid NOT NULL,
        village_code text COLLATE "C" NOT NULL,
        household_id uuid,
        household_village_code text,
        enterprise_id uuid,
        form text NOT NULL,
        started_on date NOT NULL,
        ends_on date,
        ended_on date,
        end_reason text,
        active boolean NOT NULL GENERATED ALWAYS AS (ended_on IS NULL) STORED
    )
    """,
)

# One per filter of the list endpoints (services/pairing/directory/queries.py), plus the orders.
_INDEXES = (
    "CREATE INDEX directory_enterprises_region ON directory_enterprises (region_code)",
    "CREATE INDEX directory_enterprises_county ON directory_enterprises (county_code)",
    "CREATE INDEX directory_enterprises_kind ON directory_enterprises (kind)",
    "CREATE INDEX directory_enterprises_leading ON directory_enterprises (leading_level) "
    "WHERE leading_level IS NOT NULL",
    "CREATE INDEX directory_enterprises_order ON directory_enterprises (name, enterprise_id)",
    "CREATE INDEX directory_villages_category ON directory_villages (category, village_code)",
    "CREATE INDEX directory_villages_former_poverty ON directory_villages (village_code) "
    "WHERE former_poverty_village",
    "CREATE INDEX directory_agreements_village ON directory_agreements (village_code, status)",
    "CREATE INDEX directory_agreements_enterprise ON directory_agreements (enterprise_id, status)",
    "CREATE INDEX directory_agreements_status ON directory_agreements (status)",
    "CREATE INDEX directory_agreements_mode ON directory_agreements (mode)",
    "CREATE INDEX directory_agreements_pathways ON directory_agreements USING gin (pathways)",
    "CREATE INDEX directory_agreements_relays ON directory_agreements (relays_agreement_id) "
    "WHERE relays_agreement_id IS NOT NULL",
    "CREATE INDEX directory_agreements_order ON directory_agreements (signed_on, agreement_id)",
    "CREATE INDEX directory_projects_village ON directory_projects (village_code)",
    "CREATE INDEX directory_projects_enterprises ON directory_projects USING gin (enterprise_ids)",
    "CREATE INDEX directory_projects_status ON directory_projects (status)",
    "CREATE INDEX directory_projects_overdue ON directory_projects (project_id) WHERE milestones_overdue > 0",
    "CREATE INDEX directory_projects_order ON directory_projects (registered_at, project_id)",
    "CREATE INDEX directory_cooperatives_village ON directory_cooperatives (village_code)",
    "CREATE INDEX directory_cooperatives_order ON directory_cooperatives (name, cooperative_id)",
    "CREATE INDEX directory_bindings_cooperative ON directory_bindings (cooperative_id, kind, active)",
    "CREATE INDEX directory_bindings_village ON directory_bindings (village_code)",
    "CREATE INDEX directory_bindings_household ON directory_bindings (household_id) "
    "WHERE household_id IS NOT NULL",
    "CREATE INDEX directory_bindings_enterprise ON directory_bindings (enterprise_id) "
    "WHERE enterprise_id IS NOT NULL",
    "CREATE INDEX directory_bindings_order ON directory_bindings (started_on, binding_id)",
)

_DROPPED = (
    "directory_bindings",
    "directory_cooperatives",
    "directory_project_investments",
    "directory_project_milestones",
    "directory_projects",
    "directory_agreements",
    "directory_village_incomes",
    "directory_villages",
    "directory_enterprises",
)


def upgrade() -> None:
    for statement in (*_TABLES, *_INDEXES):
        op.execute(statement)


def downgrade() -> None:
    for table in _DROPPED:
        op.execute(f"DROP TABLE {table}")
