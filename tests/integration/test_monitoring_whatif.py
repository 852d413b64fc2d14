"""What-if against the real running service: five households surveyed over four quarters (and
one comparison quarter before them), a proposed line and rule setting, and the numbers worked
out by hand. Lines configured: 7600 yuan in 2025, 7900 in 2026 (the settings' defaults).

| household | 2025Q2 | 2025Q3 | 2025Q4 | 2026Q1 | 2026Q2 | annual 2025       |
|-----------|--------|--------|--------|--------|--------|-------------------|
| W1        |        | 9000   | 9000   | 9000   | 9000   |                   |
| W2        | 20000  | 12000  | 12000  | 12000  | 12000  |                   |
| W3        |        | 7000   | 7000   | 7000   | 7000   |                   |
| W4        |        | 9600   | 9600   | 9600   | 9600   | housing not safe  |
| W5        |        |        | 9200   |        | 9200   |                   |

In force: W3 is below the line every quarter; W4's annual survey lacks a guarantee (every
quarter of 2025 and 2026); W2's 2026Q2 fell 40 % from 2025Q2 (more than 30 %).
Proposed: line 9500 every year, guarantees off, income drop above 50 %: W1, W3 and W5 (when
surveyed) fall below the line; W4 and W2 are no longer flagged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import text

from services.monitoring import queries
from services.monitoring.app import create as monitoring_app
from services.monitoring.projections import Households
from shared.auth import Role
from shared.clock import FixedClock
from shared.service import Runtime
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.isolation import cleanup, isolated_settings
from tests.support.monitoring import annual_survey, household_body, quarterly_survey, village_code

CLOCK = FixedClock(datetime(2026, 11, 2, 2, tzinfo=UTC))
V1, V_OTHER_TOWNSHIP = village_code(1), village_code(1000)
QUARTERS = ("2025Q3", "2025Q4", "2026Q1", "2026Q2")
INCOMES: dict[str, dict[str, int]] = {
    "W1": dict.fromkeys(QUARTERS, 9000),
    "W2": {"2025Q2": 20000, **dict.fromkeys(QUARTERS, 12000)},
    "W3": dict.fromkeys(QUARTERS, 7000),
    "W4": dict.fromkeys(QUARTERS, 9600),
    "W5": {"2025Q4": 9200, "2026Q2": 9200},
}
PROPOSAL = {
    "from_period": "2025Q3",
    "to_period": "2026Q2",
    "monitoring_line": "9500",
    "rules": {"guarantees": False, "income_drop_share": "0.5"},
}


@dataclass
class World:
    client: httpx.AsyncClient
    runtime: Runtime
    settings: Settings
    ids: dict[str, str]

    async def what_if(
        self, body: dict[str, Any], role: Role = Role.county_officer, region: str = "150602"
    ) -> httpx.Response:
        return await self.client.post(
            "/risk-rules/what-if", json=body, headers=token(self.settings, role, region)
        )

    async def ok(self, body: dict[str, Any], **caller: Any) -> Any:
        response = await self.what_if(body, **caller)
        assert response.status_code == 200, response.text
        return response.json()

    def letters(self, quarter: dict[str, Any]) -> list[str]:
        """The households a quarter lists, by letter (the list itself is ordered by id)."""
        by_id = {household_id: letter for letter, household_id in self.ids.items()}
        listed = [h["household_id"] for h in quarter["flagged"]]
        assert listed == sorted(listed)
        return sorted(by_id[household_id] for household_id in listed)

    def entry(self, quarter: dict[str, Any], letter: str) -> dict[str, Any]:
        return next(h for h in quarter["flagged"] if h["household_id"] == self.ids[letter])


async def caught_up(runtime: Runtime) -> bool:
    async with runtime.engine.connect() as conn:
        behind = (
            await conn.execute(
                text(
                    """
                    SELECT count(*) FROM (
                        SELECT stream_id, max(stream_version) AS v FROM events GROUP BY stream_id) e
                    LEFT JOIN consumer_checkpoints c ON c.consumer = :consumer AND c.stream_id = e.stream_id
                    WHERE c.version IS DISTINCT FROM e.v
                    """
                ),
                {"consumer": Households.name},
            )
        ).scalar()
    return behind == 0


async def build_world(client: httpx.AsyncClient, settings: Settings) -> dict[str, str]:
    village = token(settings, Role.village_officer, "150602")
    ids: dict[str, str] = {}
    for n, (letter, incomes) in enumerate(INCOMES.items(), start=1):
        response = await client.post("/households", json=household_body(40 + n, V1), headers=village)
        assert response.status_code == 201, response.text
        ids[letter] = response.json()["id"]
        for period, income in incomes.items():
            await record(client, ids[letter], quarterly_survey(period, income), village)
    await record(client, ids["W4"], annual_survey(2025, housing_safe=False), village)
    # Elsewhere in the county: surveyed in every quarter, counted only when the region holds it.
    response = await client.post("/households", json=household_body(50, V_OTHER_TOWNSHIP), headers=village)
    ids["X"] = response.json()["id"]
    for period in QUARTERS:
        await record(client, ids["X"], quarterly_survey(period, 5000), village)
    return ids


async def record(client: httpx.AsyncClient, household_id: str, survey: dict[str, Any], headers: Any) -> None:
    response = await client.post(f"/households/{household_id}/surveys", json=survey, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["recorded"] is True


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(database_url: str, nats_url: str) -> AsyncIterator[World]:
    settings = isolated_settings(database_url, nats_url)
    try:
        app = monitoring_app(settings, clock=CLOCK)
        async with running(app) as client:
            runtime: Runtime = app.state.runtime
            ids = await build_world(client, settings)
            await wait_until(lambda: caught_up(runtime), 30, "the households projection caught up")
            yield World(client, runtime, settings, ids)
    finally:
        await cleanup(settings)


async def event_count(runtime: Runtime) -> int:
    async with runtime.store.pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM events"))


async def test_the_proposal_flags_the_households_worked_out_by_hand(world: World) -> None:
    before = await event_count(world.runtime)
    result = await world.ok({**PROPOSAL, "region": V1[:9]})
    assert await event_count(world.runtime) == before  # no flag raised, nothing written

    counts = [
        (
            q["period"],
            q["surveyed"],
            q["flagged_current"],
            q["flagged_proposed"],
            q["newly_flagged"],
            q["no_longer_flagged"],
        )
        for q in result["quarters"]
    ]
    assert counts == [
        ("2025Q3", 4, 2, 2, 1, 1),  # now W3, W4; proposed W1, W3
        ("2025Q4", 5, 2, 3, 2, 1),  # now W3, W4; proposed W1, W3, W5
        ("2026Q1", 4, 2, 2, 1, 1),
        ("2026Q2", 5, 3, 3, 2, 2),  # now W2 (drop), W3, W4; proposed W1, W3, W5
    ]
    assert [world.letters(q) for q in result["quarters"]] == [
        ["W1", "W3"],
        ["W1", "W3", "W5"],
        ["W1", "W3"],
        ["W1", "W3", "W5"],
    ]
    w1, w3 = (world.entry(result["quarters"][0], letter) for letter in ("W1", "W3"))
    assert w1 == {
        "household_id": world.ids["W1"],
        "village_code": V1,
        "period": "2025Q3",
        "rules": ["income_below_line"],
        "risk_types": ["income_drop"],
        "flagged_now": False,
    }
    assert w3["flagged_now"] is True
    assert result["truncated"] is False and not any(q["truncated"] for q in result["quarters"])
    assert result["proposed_rules"]["guarantees"] is False
    assert result["proposed_rules"]["income_drop_share"] == "0.5"
    assert result["current_rules"]["guarantees"] is True
    assert (result["region"], result["monitoring_line"]) == (V1[:9], "9500")


async def test_without_a_proposal_both_columns_agree(world: World) -> None:
    result = await world.ok({"from_period": "2025Q3", "to_period": "2026Q2", "region": V1[:9]})
    for quarter in result["quarters"]:
        assert quarter["flagged_proposed"] == quarter["flagged_current"]
        assert quarter["newly_flagged"] == quarter["no_longer_flagged"] == 0
        assert all(h["flagged_now"] for h in quarter["flagged"])
    assert [world.letters(q) for q in result["quarters"]] == [
        ["W3", "W4"],
        ["W3", "W4"],
        ["W3", "W4"],
        ["W2", "W3", "W4"],
    ]
    w2 = world.entry(result["quarters"][3], "W2")
    assert (w2["rules"], w2["risk_types"]) == (["income_drop"], ["income_drop"])
    w4 = world.entry(result["quarters"][0], "W4")
    assert (w4["rules"], w4["risk_types"]) == (["guarantees"], ["housing_safety"])


async def test_a_line_for_one_year_leaves_the_others_configured(world: World) -> None:
    body = {
        "from_period": "2025Q3",
        "to_period": "2026Q2",
        "region": V1[:9],
        "monitoring_lines": {"2025": "9500"},
    }
    result = await world.ok(body)
    # 2025 under 9500: W1, W3 (and W5 in Q4), W4 still by its annual survey; 2026 as configured.
    assert [world.letters(q) for q in result["quarters"]] == [
        ["W1", "W3", "W4"],
        ["W1", "W3", "W4", "W5"],
        ["W3", "W4"],
        ["W2", "W3", "W4"],
    ]


async def test_the_region_decides_which_households_count(world: World) -> None:
    county = await world.ok(PROPOSAL)  # the caller's region: the whole county, X included
    assert [q["surveyed"] for q in county["quarters"]] == [5, 6, 5, 6]
    township = await world.ok(PROPOSAL, role=Role.township_officer, region=V_OTHER_TOWNSHIP[:9])
    assert [(q["surveyed"], q["flagged_proposed"]) for q in township["quarters"]] == [(1, 1)] * 4
    refused = await world.what_if({**PROPOSAL, "region": V1[:9]}, Role.township_officer, V_OTHER_TOWNSHIP[:9])
    assert refused.status_code == 403


async def test_lists_are_capped_and_say_so(world: World) -> None:
    result = await world.ok({**PROPOSAL, "region": V1[:9], "limit": 2})
    assert [len(q["flagged"]) for q in result["quarters"]] == [2, 2, 2, 2]
    assert [q["truncated"] for q in result["quarters"]] == [False, True, False, True]
    assert [q["flagged_proposed"] for q in result["quarters"]] == [2, 3, 2, 3]  # counts stay whole
    assert result["truncated"] is True


async def test_who_may_ask_and_what_is_refused(world: World) -> None:
    assert (await world.what_if(PROPOSAL, Role.village_officer)).status_code == 403
    assert (await world.what_if(PROPOSAL, Role.enterprise)).status_code == 403
    for role in (Role.viewer, Role.platform, Role.township_officer):
        assert (await world.what_if(PROPOSAL, role)).status_code == 200, role
    for bad in (
        {"to_period": "2025Q2"},  # before from_period
        {"from_period": "2025Q5"},
        {"monitoring_lines": {"2025": "9000"}},  # and monitoring_line: both kinds
        {"monitoring_line": "-1"},
        {"rules": {"nonsense": True}},
        {"rules": {"income_drop_share": "2"}},
        {"from_period": "2010Q1"},  # more than 40 quarters
        {"limit": 0},
        {"colour": "red"},
    ):
        response = await world.what_if({**PROPOSAL, **bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_surveys_stream_in_batches_of_whole_households(world: World) -> None:
    batches = [
        batch
        async for batch in queries.survey_batches(
            world.runtime.engine, "150602", "2024Q3", "2026Q2", households=2
        )
    ]
    assert [len(b) for b in batches] == [2, 2, 2]
    stored = [s for b in batches for s in b]
    by_id = {str(s.household_id): s for s in stored}
    assert len(by_id) == 6 and sorted(by_id) == [str(s.household_id) for s in stored]
    w2 = queries.surveyed_household(by_id[world.ids["W2"]])
    assert sorted(w2.quarterly) == ["2025Q2", *QUARTERS] and w2.annual == {}
    w4 = queries.surveyed_household(by_id[world.ids["W4"]])
    assert list(w4.annual) == [2025] and w4.annual[2025].housing_safe is False
    # The comparison year's quarters only from first_quarter on; annual surveys of any year up to the last.
    later = [s async for b in queries.survey_batches(world.runtime.engine, V1, "2026Q1", "2026Q2") for s in b]
    assert {p for s in later for p, _, _ in s.rows} == {"2026Q1", "2026Q2", "2025"}
