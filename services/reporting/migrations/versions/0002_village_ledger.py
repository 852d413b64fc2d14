"""The village ledger (村级台账) read model."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ledger_villages (
            village_code char(12) PRIMARY KEY,
            name text NOT NULL,
            category text NOT NULL,
            former_poverty_village boolean NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE ledger_enterprises (
            enterprise_id uuid PRIMARY KEY,
            name text NOT NULL,
            credit_code text NOT NULL,
            kind text NOT NULL,
            county_code char(6) NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE ledger_agreements (
            agreement_id uuid PRIMARY KEY,
            village_code char(12) NOT NULL,
            enterprise_id uuid NOT NULL,
            signed_on date NOT NULL,
            term_years integer NOT NULL,
            document_ref text NOT NULL,
            pathways text[] NOT NULL,
            mode text NOT NULL,
            investment_yuan numeric(16, 2) NOT NULL,
            jobs integer NOT NULL,
            trainees integer NOT NULL,
            purchases_yuan numeric(16, 2) NOT NULL,
            donations_yuan numeric(16, 2) NOT NULL,
            status text NOT NULL,
            signed_event_at timestamptz NOT NULL,
            projected_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """
    )
    op.execute("CREATE INDEX ledger_agreements_village ON ledger_agreements (village_code)")


def downgrade() -> None:
    op.execute("DROP TABLE ledger_agreements")
    op.execute("DROP TABLE ledger_enterprises")
    op.execute("DROP TABLE ledger_villages")
