"""Property-based requests from each service's own OpenAPI document (schemathesis): whatever a
caller sends, the service answers with a client error or success, never a 500.

The service runs as a real child process (uvicorn) on real PostgreSQL and NATS, with a few real
records, so that some generated requests reach the domain rules and the store, not only validation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from shared.auth import Role
from shared.settings import Settings
from tests.support.apps import ServiceProcess, token
from tests.support.isolation import cleanup, isolated_settings
from tests.support.monitoring import household_body, quarterly_survey
from tests.support.pairing import agreement_body, enterprise_body, village_body, village_code


@pytest.fixture(scope="module")
async def pairing_service(
    database_url: str, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[ServiceProcess, Settings]]:
    settings = isolated_settings(database_url, nats_url)
    process = await ServiceProcess("pairing", settings, Path(tmp_path_factory.mktemp("fuzz"))).start()
    try:
        headers = officer(settings)
        async with httpx.AsyncClient(base_url=process.url, headers=headers) as client:
            enterprise = (await client.post("/enterprises", json=enterprise_body(1))).json()["id"]
            await client.post("/villages", json=village_body(1))
            await client.post("/agreements", json=agreement_body(enterprise, village_code(1)))
        yield process, settings
    finally:
        process.stop()
        await cleanup(settings)


@pytest.fixture(scope="module")
async def monitoring_service(
    database_url: str, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[ServiceProcess, Settings]]:
    settings = isolated_settings(database_url, nats_url)
    process = await ServiceProcess("monitoring", settings, Path(tmp_path_factory.mktemp("fuzz"))).start()
    try:
        headers = token(settings, Role.village_officer, "15")
        async with httpx.AsyncClient(base_url=process.url, headers=headers) as client:
            household = (await client.post("/households", json=household_body(1))).json()["id"]
            await client.post(f"/households/{household}/surveys", json=quarterly_survey("2026Q2", 3000))
        yield process, settings
    finally:
        process.stop()
        await cleanup(settings)


def officer(settings: Settings) -> dict[str, str]:
    return token(settings, Role.federation_officer, "15")


def test_no_request_makes_the_pairing_api_fail(pairing_service: tuple[ServiceProcess, Settings]) -> None:
    process, settings = pairing_service
    assert_no_server_error(process, officer(settings), min_operations=5)


def test_no_request_makes_the_monitoring_api_fail(
    monitoring_service: tuple[ServiceProcess, Settings],
) -> None:
    process, settings = monitoring_service
    assert_no_server_error(process, token(settings, Role.county_officer, "15"), min_operations=15)


def assert_no_server_error(process: ServiceProcess, headers: dict[str, str], min_operations: int) -> None:
    # schemathesis' own pytest plumbing (from_fixture/parametrize) does not run on pytest 9:
    # drive each operation's hypothesis strategy directly.
    api = schemathesis.openapi.from_url(f"{process.url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= min_operations

    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def no_server_error(case: Any) -> None:
            response = case.call(base_url=process.url, headers=headers, timeout=30)
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:2000]}"

        no_server_error()
