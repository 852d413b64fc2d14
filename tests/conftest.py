"""Fixtures: real PostgreSQL and NATS JetStream, and settings isolated per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from shared.runtime.embedded import NatsServer, Postgres
from shared.settings import Settings
from tests.support import servers
from tests.support.isolation import cleanup, isolated_settings


@pytest.fixture(scope="session")
def servers_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="session")
def database_url(servers_dir: Path) -> Iterator[str]:
    url, embedded = servers.postgres_url(servers_dir)
    yield url
    if isinstance(embedded, Postgres):
        embedded.stop()


@pytest.fixture(scope="session")
def nats_url(servers_dir: Path) -> Iterator[str]:
    url, embedded = servers.nats_url(servers_dir)
    yield url
    if isinstance(embedded, NatsServer):
        embedded.stop()


@pytest.fixture
async def settings(database_url: str, nats_url: str) -> AsyncIterator[Settings]:
    """Settings of one test: its own databases, subject root and streams, dropped afterwards."""
    value = isolated_settings(database_url, nats_url)
    yield value
    await cleanup(value)


@pytest.fixture
async def make_settings(database_url: str, nats_url: str) -> AsyncIterator[Callable[..., Settings]]:
    """For tests that need settings with overrides (e.g. their own NATS server)."""
    made: list[Settings] = []

    def make(**overrides: object) -> Settings:
        servers = {"database_url": database_url, "nats_url": nats_url}
        servers.update((k, str(overrides.pop(k))) for k in list(servers) if k in overrides)
        value = isolated_settings(servers["database_url"], servers["nats_url"], **overrides)
        made.append(value)
        return value

    yield make
    for value in made:
        await cleanup(value)
