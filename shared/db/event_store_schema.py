"""DDL of the tables every service database has: its event store, relay cursor, consumer
checkpoints and dead letters. Each service's first migration (revision 0001) re-exports
``upgrade`` and ``downgrade`` from here."""

from __future__ import annotations

from alembic import op

CREATE = [
    # The event store is also the outbox: a row is "sent" once the relay's cursor has passed it.
    # transaction_id orders rows by transaction so the relay never skips a late commit (PLUMBING).
    """
    CREATE TABLE events (
        global_position bigint GENERATED ALWAYS AS IDENTITY,
        transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
        event_id uuid NOT NULL UNIQUE,
        stream_id text NOT NULL,
        stream_version integer NOT NULL CHECK (stream_version >= 1),
        type text NOT NULL,
        schema_version integer NOT NULL,
        region_code char(12) NOT NULL,
        recorded_at timestamptz NOT NULL,
        envelope json NOT NULL,
        PRIMARY KEY (stream_id, stream_version)
    )
    """,
    "CREATE INDEX events_commit_order ON events (transaction_id, global_position)",
    # No NOTIFY trigger to wake the relay: a transaction that notifies holds a cluster-wide lock
    # from its commit until its WAL is flushed, so every appending commit waited for the one
    # before it (bench/README.md). Appends wake the relay over NATS instead (AppendSignal).
    """
    CREATE TABLE relay_cursor (
        relay text PRIMARY KEY,
        last_tx xid8 NOT NULL,
        last_position bigint NOT NULL,
        relayed bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    # Last applied stream_version per (consumer, aggregate), written in the same transaction as
    # the consumer's own state change: a redelivered event finds itself already applied.
    """
    CREATE TABLE consumer_checkpoints (
        consumer text NOT NULL,
        stream_id text NOT NULL,
        version integer NOT NULL,
        PRIMARY KEY (consumer, stream_id)
    )
    """,
    """
    CREATE TABLE dead_letters (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        consumer text NOT NULL,
        subject text NOT NULL,
        stream_sequence bigint,
        event_id uuid,
        stream_id text,
        stream_version integer,
        reason text NOT NULL,
        payload text NOT NULL,
        attempts integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (consumer, stream_sequence)
    )
    """,
]

DROP = [
    "DROP TABLE dead_letters",
    "DROP TABLE consumer_checkpoints",
    "DROP TABLE relay_cursor",
    "DROP TABLE events",
]


def upgrade() -> None:
    for statement in CREATE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP:
        op.execute(statement)
