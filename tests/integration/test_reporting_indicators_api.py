"""Entering indicator values over HTTP (``PUT /indicators/{code}``) against real PostgreSQL and
JetStream: the value shows in the indicators sheet once projected; refusals write nothing."""

from __future__ import annotations

from datetime import date

from services.reporting.app import create as reporting_app
from services.reporting.tables.indicators import BY_CODE
from shared.auth import Role
from shared.clock import FixedClock
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.desk import COUNTY, noon_in_china

TODAY = date(2026, 5, 4)


async def test_a_county_officer_enters_a_value_and_the_sheet_shows_it(settings: Settings) -> None:
    app = reporting_app(settings, FixedClock(noon_in_china(TODAY)))
    officer = token(settings, Role.county_officer, COUNTY)
    async with running(app) as client:
        pool = app.state.runtime.store.pool

        async def stored() -> list[tuple[str, int]]:
            rows = await pool.fetch(
                "SELECT stream_id, stream_version FROM events WHERE stream_id LIKE 'indicators-%' "
                "ORDER BY stream_id, stream_version"
            )
            return [(r["stream_id"], r["stream_version"]) for r in rows]

        listed = await client.get("/indicators", headers=officer)
        assert listed.status_code == 200, listed.text
        assert {i["code"] for i in listed.json()["items"]} == set(BY_CODE)

        body = {"region_code": COUNTY, "year": TODAY.year, "current": "5.1", "note": "区统计局"}
        refusals = [
            (await client.put("/indicators/gdp_growth_rate", json=body, headers=token(
                settings, Role.federation_officer, COUNTY)), 403),
            (await client.put("/indicators/gdp_growth_rate", json=body, headers=token(
                settings, Role.county_officer, "150603")), 403),
            (await client.put("/indicators/no_such_indicator", json=body, headers=officer), 404),
            (await client.put("/indicators/dropout_rate", json=body, headers=officer), 422),
            (await client.put("/indicators/gdp_growth_rate", json={"region_code": COUNTY, "year": TODAY.year},
                              headers=officer), 422),
            (await client.put("/indicators/village_collective_income", json={
                "region_code": COUNTY, "year": TODAY.year, "baseline": "100"}, headers=officer), 422),
        ]  # fmt: skip
        for response, status in refusals:
            assert response.status_code == status, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
        assert refusals[3][0].json()["errors"] == [
            {"field": "current", "reason": refusals[3][0].json()["detail"]}
        ]
        assert refusals[5][0].json()["errors"][0]["field"] == "baseline"  # given in words in the plan
        assert await stored() == []

        entered = await client.put("/indicators/gdp_growth_rate", json=body, headers=officer)
        assert entered.status_code == 200, entered.text
        assert entered.json()["current"] == "5.1"
        # A later entry giving only the target keeps the current value entered before.
        target = {"region_code": COUNTY, "year": TODAY.year, "target": "5.5"}
        retargeted = await client.put("/indicators/gdp_growth_rate", json=target, headers=officer)
        assert retargeted.status_code == 200, retargeted.text
        assert (retargeted.json()["current"], retargeted.json()["target"]) == ("5.1", "5.5")
        assert await stored() == [(f"indicators-{COUNTY}", 1), (f"indicators-{COUNTY}", 2)]

        async def row() -> dict[str, object]:
            sheet = await client.get("/tables/indicators", headers=officer)
            assert sheet.status_code == 200, sheet.text
            return next(r for r in sheet.json()["rows"] if r["code"] == "gdp_growth_rate")

        async def projected() -> bool:
            return (await row())["target"] == "5.5"

        await wait_until(projected, 15, "the entered values in the indicators sheet")
        shown = await row()
        assert (shown["current"], shown["source"], shown["note"]) == ("5.1", f"填报（{COUNTY}）", "区统计局")
        assert shown["baseline"] == BY_CODE["gdp_growth_rate"].baseline
