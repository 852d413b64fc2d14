"""Each test gets its own databases, subject root and stream names, and leaves nothing behind."""

from __future__ import annotations

import contextlib
import itertools
import json
import os

import asyncpg
import nats

from shared.db.engine import asyncpg_dsn
from shared.settings import Settings

RUN_ID = f"t{os.getpid()}"
_counter = itertools.count(1)
TEST_SECRET = "test-secret-" + "0" * 32
TEST_PERSONAL_DATA_KEY = "test-personal-data-key-" + "1" * 32


def isolated_settings(database_url: str, nats_url: str, **overrides: object) -> Settings:
    n = next(_counter)
    tag = f"{RUN_ID}n{n}"
    values: dict[str, object] = {
        "database_url": database_url,
        "database_prefix": f"{tag}_",
        "nats_url": nats_url,
        "subject_root": tag,
        "stream_prefix": f"{tag.upper()}_",
        "auth_secret": TEST_SECRET,
        "personal_data_key": TEST_PERSONAL_DATA_KEY,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process read the same settings (every one set; one that
    is None is left out, as the string "None" would be read as a value)."""
    return {
        f"XINGCUN_{name.upper()}": json.dumps(value, default=str)
        if isinstance(value, dict | list)
        else str(value)
        for name, value in settings.model_dump().items()
        if value is not None
    }


async def cleanup(settings: Settings) -> None:
    """Drop the test's databases and delete its streams."""
    with contextlib.suppress(Exception):
        conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
        try:
            names = await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1", settings.database_prefix + "%"
            )
            for row in names:
                await conn.execute(f'DROP DATABASE IF EXISTS "{row[0]}" WITH (FORCE)')
        finally:
            await conn.close()
    with contextlib.suppress(Exception):
        nc = await nats.connect(
            settings.nats_url, max_reconnect_attempts=1, allow_reconnect=False, connect_timeout=3
        )
        try:
            js = nc.jetstream()
            for info in await js.streams_info():
                if info.config.name.startswith(settings.stream_prefix):
                    await js.delete_stream(info.config.name)
        finally:
            await nc.close()
