"""Delivery: the alerts the router found recipients for, one row per (alert, recipient, channel
address) to deliver, and every try of each. The service's own state, not a projection: a
delivery's row is written before anything is sent and decides that it is sent at most once.
``notification_delivered`` and ``notification_failed`` are its public record."""

from alembic import op

revision = "0003"
down_revision = "0002"

_STATEMENTS = (
    """
    CREATE TABLE alerts (
        alert_id uuid PRIMARY KEY,
        alert_type text NOT NULL,
        region_code text NOT NULL,
        occurred_at timestamptz NOT NULL,
        message jsonb NOT NULL,
        envelope jsonb,
        correlation_id text,
        routed_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE deliveries (
        delivery_id uuid PRIMARY KEY,
        alert_id uuid NOT NULL REFERENCES alerts (alert_id),
        alert_type text NOT NULL,
        region_code text NOT NULL,
        recipient_id uuid NOT NULL,
        recipient_name text NOT NULL,
        channel text NOT NULL,
        address text NOT NULL,
        secret_ref text,
        status text NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        events integer NOT NULL DEFAULT 0,
        -- tries made before the last resend: a resend starts a fresh count
        resent_after integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        lease_until timestamptz,
        failure text,
        last_error text,
        created_at timestamptz NOT NULL,
        finished_at timestamptz
    )
    """,
    "CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending'",
    "CREATE INDEX deliveries_sending ON deliveries (lease_until) WHERE status = 'sending'",
    "CREATE INDEX deliveries_alert ON deliveries (alert_id)",
    "CREATE INDEX deliveries_recipient ON deliveries (recipient_id, created_at)",
    "CREATE INDEX deliveries_region ON deliveries (region_code text_pattern_ops, created_at)",
    "CREATE INDEX deliveries_status ON deliveries (status, created_at)",
    """
    CREATE TABLE delivery_attempts (
        delivery_id uuid NOT NULL REFERENCES deliveries (delivery_id),
        attempt integer NOT NULL,
        started_at timestamptz NOT NULL,
        finished_at timestamptz,
        outcome text,
        error text,
        PRIMARY KEY (delivery_id, attempt)
    )
    """,
)


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("delivery_attempts", "deliveries", "alerts"):
        op.execute(f"DROP TABLE {table}")
