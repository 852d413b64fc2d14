"""Engines and databases: each service owns one database on the configured server."""

from __future__ import annotations

import contextlib
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.settings import async_url

# A transaction left idle holds back the relay of its own database (shared/messaging/relay.py).
# Custom plans always: asyncpg prepares every statement, and PostgreSQL's generic plan for it,
# chosen after five runs while a service's tables are still nearly empty, is a sequential scan
# kept for the life of the connection; as `events` grew, each command's load scanned the whole
# table (one benchmark run in three, PostgreSQL's CPU tripled: bench/README.md). Planning these
# short statements costs far less than one such scan.
SERVER_SETTINGS = {"idle_in_transaction_session_timeout": "60000", "plan_cache_mode": "force_custom_plan"}


def create_engine(url: str, *, application: str, pool_size: int = 10) -> AsyncEngine:
    """An engine of up to ``2 * pool_size`` connections, each kept once opened.

    (It was ``pool_size`` kept plus as many "overflow" ones, which SQLAlchemy closes as soon as
    they are returned: with more than ``pool_size`` requests in flight, connections were opened
    and closed all the time, a new server process and a handshake each; bench/.)
    """
    engine = create_async_engine(
        async_url(url),
        pool_size=2 * pool_size,
        max_overflow=0,
        connect_args={"server_settings": {**SERVER_SETTINGS, "application_name": application}},
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


async def create_pool(url: str, *, application: str, size: int = 10) -> asyncpg.Pool:
    """A raw asyncpg pool for the hot paths (the event store), beside the engine."""
    pool = await asyncpg.create_pool(
        asyncpg_dsn(url),
        min_size=1,
        max_size=size,
        server_settings={**SERVER_SETTINGS, "application_name": application},
        reset=_session_state_untouched,
    )
    assert pool is not None
    return pool


async def _session_state_untouched(conn: asyncpg.Connection) -> None:
    """Pool users leave no session state (no SET, LISTEN, cursors or advisory locks), so the
    default reset's round trip on every release (``RESET ALL; UNLISTEN *; …``: 9 % of a
    command's time, bench/) is skipped. asyncpg still rolls back a transaction left open."""


def _refuse_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """The pool's pre-ping, without its round trips: a pooled connection the server closed (a
    restart, a terminated backend) is replaced at checkout. asyncpg notices the closed socket as
    it happens, so this costs nothing, where ``pool_pre_ping`` spent three round trips (BEGIN,
    ``;``, ROLLBACK) on every checkout: over a third of a command's database time (bench/)."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def asyncpg_dsn(url: str) -> str:
    """A libpq-style DSN asyncpg accepts (a unix-socket directory stays in ``?host=``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def ensure_database(server_url: str, database: str) -> None:
    """Create ``database`` on the server unless it exists (CREATE DATABASE cannot run in a transaction)."""
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            # another instance of the service may create it first
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


async def drop_database(server_url: str, database: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()
