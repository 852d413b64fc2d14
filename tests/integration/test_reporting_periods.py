"""Closing a half-year period against real PostgreSQL and JetStream: the filing is taken once, kept
as filed, announced once with its hashes, and set beside the tables as corrected since."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from services.pairing.app import create as pairing_app
from services.reporting.app import create as reporting_app
from services.reporting.facts.load import load_facts
from services.reporting.filing import canonical, digests
from services.reporting.periods import HalfYear
from services.reporting.tables.registry import TABLES
from shared.auth import Role
from shared.clock import FixedClock
from shared.events.subjects import stream_for
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.desk import COUNTY, START, noon_in_china
from tests.support.infra import body, read_stream
from tests.support.projects import VILLAGE, pair, project_body, tranche
from tests.support.reporting import invested_in_period_table

H1, H2 = HalfYear(2026, 1), HalfYear(2026, 2)
INVESTED = "test-periods-invested"
ON_TIME, LATE = Decimal("2000000.00"), Decimal("300000.00")
REAL = ("progress", "statistics")  # the filed tables with in-period investment (进度表, 统计表)


@pytest.fixture
def invested_table() -> Iterator[str]:
    with invested_in_period_table(INVESTED) as name:
        yield name


def in_period_column(filed: list[dict[str, Any]], name: str) -> list[Decimal]:
    """The 本期完成投资 of every row of the real progress or statistics table."""
    (found,) = [t for t in filed if t["name"] == name]
    return [Decimal(r["investment_in_period"]) for r in found["rows"]]


def invested_row(filed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    (mine,) = [t for t in filed if t["name"] == INVESTED]
    return mine["rows"]  # type: ignore[no-any-return]


async def test_closing_a_period_files_its_tables_once(settings: Settings, invested_table: str) -> None:
    clock = FixedClock(noon_in_china(START))
    federation = token(settings, Role.federation_officer, COUNTY)
    county = token(settings, Role.county_officer, COUNTY)
    pairing, reporting = pairing_app(settings, clock), reporting_app(settings, clock)
    async with running(pairing) as pclient, running(reporting) as client:
        runtime = reporting.state.runtime

        async def investments(n: int) -> bool:
            facts = await load_facts(runtime.engine, COUNTY, datetime.now(UTC) + timedelta(days=400))
            return len(facts.investments) == n

        paired = await pair(pclient, federation)
        created = await pclient.post("/projects", json=project_body(paired), headers=federation)
        assert created.status_code == 201, created.text
        project = created.json()["id"]
        invested = await pclient.post(
            f"/projects/{project}/investments",
            json=tranche(str(ON_TIME), START.isoformat()),
            headers=federation,
        )
        assert invested.status_code == 201, invested.text
        await wait_until(lambda: investments(1), 15, "the first tranche in the reporting facts")

        # -- refusals before anything is closed --------------------------------------------------
        clock.set(noon_in_china(date(2026, 6, 15)))
        close_h1 = f"/periods/{COUNTY}/2026H1/close"
        for role in (Role.township_officer, Role.federation_officer, Role.viewer):
            refused = await client.post(close_h1, headers=token(settings, role, COUNTY))
            assert refused.status_code == 403, (role, refused.text)
        other_county = await client.post(close_h1, headers=token(settings, Role.county_officer, "150603"))
        assert other_county.status_code == 403
        for path in (f"/periods/{COUNTY}/2026H3/close", f"/periods/{COUNTY[:5]}/2026H1/close"):
            malformed = await client.post(path, headers=county)
            assert malformed.status_code == 422, malformed.text
            assert malformed.headers["content-type"] == "application/problem+json"
        early = await client.post(f"/periods/{COUNTY}/2026H2/close", headers=county)
        assert early.status_code == 422 and early.json()["rule"] == "period_started", early.text
        assert (await client.get(f"/periods/{COUNTY}/2026H1", headers=county)).status_code == 404

        # -- close 2026H1, before its due day -----------------------------------------------------
        closed = await client.post(close_h1, headers=county)
        assert closed.status_code == 200, closed.text
        closing = closed.json()
        assert closing["period"] == "2026H1" and closing["county_code"] == COUNTY
        assert closing["due_on"] == H1.due_on.isoformat() and closing["late"] is False
        assert datetime.fromisoformat(closing["closed_at"]) == clock.now()
        filed_names = [r.name for r in TABLES.values() if r.filed]
        assert sorted(closing["tables"]) == sorted(filed_names)

        again = await client.post(close_h1, headers=county)
        assert again.status_code == 409 and again.json()["rule"] == "period_closed_once", again.text

        async def checked_against_the_event() -> bool:
            body = (await client.get(f"/periods/{COUNTY}/2026H1", headers=county)).json()
            return body["matches_event"] is True

        await wait_until(checked_against_the_event, 10, "the filing's hashes checked against the event")
        as_filed = (await client.get(f"/periods/{COUNTY}/2026H1", headers=county)).json()
        assert as_filed["tables"] == closing["tables"] == digests(as_filed["filed"])
        assert invested_row(as_filed["filed"]) == [{"village": VILLAGE, "invested_yuan": str(ON_TIME)}]
        for name in REAL:
            assert in_period_column(as_filed["filed"], name) == [ON_TIME], name

        async def listed() -> bool:
            answer = await client.get("/periods", params={"region": COUNTY}, headers=county)
            return answer.json()["total"] == 1

        await wait_until(listed, 15, "the closing in period_closings")
        township = token(settings, Role.township_officer, VILLAGE[:9])
        (seen,) = (await client.get("/periods", headers=township)).json()["items"]
        assert seen == closing  # a township sees that its county filed …
        assert (
            await client.get(f"/periods/{COUNTY}/2026H1", headers=township)
        ).status_code == 403  # … not what

        # -- a tranche invested in H1 but recorded after H1 was closed ----------------------------
        clock.set(noon_in_china(date(2026, 7, 10)))
        late_on = date(2026, 6, 10)
        late = await pclient.post(
            f"/projects/{project}/investments",
            json=tranche(str(LATE), late_on.isoformat()),
            headers=federation,
        )
        assert late.status_code == 201, late.text
        await wait_until(lambda: investments(2), 15, "the late tranche in the reporting facts")

        still = (await client.get(f"/periods/{COUNTY}/2026H1", headers=county)).json()
        assert canonical(still) == canonical(as_filed)  # exactly what was filed

        async def in_period(period: HalfYear) -> list[tuple[str, Decimal]]:
            got = await client.get(f"/tables/{INVESTED}", params={"period": period.name}, headers=county)
            assert got.status_code == 200, got.text
            return [(r["village"], Decimal(str(r["invested_yuan"]))) for r in got.json()["rows"]]

        assert await in_period(H1) == [(VILLAGE, ON_TIME)]  # the filed period is not rewritten
        assert await in_period(H2) == [(VILLAGE, LATE)]  # the late tranche counts in the next period
        for name in REAL:
            for period, expected in ((H1, ON_TIME), (H2, LATE)):
                got = await client.get(f"/tables/{name}", params={"period": period.name}, headers=county)
                rows = got.json()["rows"]
                assert [Decimal(str(r["investment_in_period"])) for r in rows] == [expected], (name, period)

        compared = await client.get(f"/periods/{COUNTY}/2026H1/comparison", headers=county)
        assert compared.status_code == 200, compared.text
        result = compared.json()
        assert result["tables"] == closing["tables"]
        by_name = {t["name"]: t for t in result["comparison"]}
        assert set(by_name) == set(filed_names)
        mine = by_name[INVESTED]
        assert mine["status"] == "changed" and mine["filed_sha256"] == closing["tables"][INVESTED]
        (village_row,) = mine["rows"]
        assert village_row["status"] == "changed"
        assert village_row["cells"] == [
            {
                "column": "invested_yuan",
                "filed": str(ON_TIME),
                "corrected": str(ON_TIME + LATE),
                "difference": str(LATE),
            }
        ]
        assert mine["totals"]["cells"][0]["corrected"] == str(ON_TIME + LATE)
        for name in REAL:
            (changed,) = by_name[name]["rows"]
            cells = {c["column"]: c for c in changed["cells"]}
            in_period_cell = cells["investment_in_period"]
            assert Decimal(in_period_cell["filed"]) == ON_TIME, name
            assert Decimal(in_period_cell["corrected"]) == ON_TIME + LATE, name
            assert Decimal(in_period_cell["difference"]) == LATE, name

        # -- two concurrent closes of 2026H2, after its due day: one wins ------------------------
        clock.set(noon_in_china(date(2026, 12, 25)))
        close_h2 = f"/periods/{COUNTY}/2026H2/close"
        answers = await asyncio.gather(*(client.post(close_h2, headers=county) for _ in range(2)))
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        (won,) = [a.json() for a in answers if a.status_code == 200]
        assert won["late"] is True and won["due_on"] == H2.due_on.isoformat()
        h2_filed = (await client.get(f"/periods/{COUNTY}/2026H2", headers=county)).json()
        assert invested_row(h2_filed["filed"]) == [{"village": VILLAGE, "invested_yuan": str(LATE)}]
        async with runtime.engine.connect() as conn:
            filings = (
                await conn.execute(
                    text("SELECT period FROM period_filings WHERE county_code = :c ORDER BY period"),
                    {"c": COUNTY},
                )
            ).scalars()
            assert list(filings) == ["2026H1", "2026H2"]  # the losing close left no filing behind

        # -- announced once each on the REPORTING stream, with the filing's hashes ----------------
        async def both_listed() -> bool:
            answer = await client.get("/periods", params={"region": COUNTY}, headers=county)
            return answer.json()["total"] == 2

        await wait_until(both_listed, 15, "both closings in period_closings")
        messages = [body(m) for m in await read_stream(runtime.js, stream_for(settings, "reporting"))]
        closed_events = [m for m in messages if m["type"] == "reporting.period_closed"]
        assert [(e["stream_id"], e["stream_version"]) for e in closed_events] == [
            (f"period-{COUNTY}-2026H1", 1),
            (f"period-{COUNTY}-2026H2", 1),
        ]
        h1_event = closed_events[0]
        assert h1_event["region_code"] == COUNTY.ljust(12, "0")
        assert h1_event["data"]["tables"] == digests(as_filed["filed"])
        assert h1_event["data"]["filing_id"] == as_filed["filing_id"]
        assert closed_events[1]["data"]["tables"] == digests(h2_filed["filed"])
