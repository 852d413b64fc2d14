"""Table downloads and the dashboard summary of a real reporting service (PostgreSQL, JetStream),
fed by the pairing service: each file holds the numbers ``GET /tables/{name}`` answers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from openpyxl import load_workbook

from services.pairing.app import create as pairing_app
from services.reporting.app import create as reporting_app
from services.reporting.facts.model import Facts
from services.reporting.tables.registry import TABLES, Options, table
from services.reporting.tables.table import Column, Kind, Table, percent, totals_row
from shared.auth import Role
from shared.clock import FixedClock
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.desk import COUNTY, START, noon_in_china
from tests.support.pairing import village_code
from tests.support.projects import VILLAGE, pair, project_body, tranche

NAME = "test-export-villages"
TITLE = "测试导出：各村帮扶情况"
COLUMNS = (
    Column("village_code", "村代码"),
    Column("village", "村（社区）"),
    Column("agreements", "协议数", Kind.integer, summed=True),
    Column("invested", "已到位投资（元）", Kind.yuan, summed=True),
    Column("share", "投资占比（%）", Kind.percent),
    Column("signed_on", "首次签约日期", Kind.date),
)


def _villages(facts: Facts, options: Options) -> Table:
    """Per village, from the facts: a table with a column of every kind."""
    total = sum((i.amount_yuan for i in facts.investments), Decimal(0))
    rows = []
    for village in facts.villages:
        code = village.village_code
        signed = sorted(a.signed_on for a in facts.agreements if a.village_code == code)
        invested = sum((i.amount_yuan for i in facts.investments if i.village_code == code), Decimal("0.00"))
        rows.append(
            {
                "village_code": code,
                "village": village.name,
                "agreements": len(signed),
                "invested": invested,
                "share": percent(invested, total),
                "signed_on": signed[0] if signed else None,
            }
        )
    return Table(NAME, TITLE, COLUMNS, tuple(rows), totals_row(COLUMNS, rows), ("测试表。",))


@pytest.fixture
def villages_table() -> Iterator[str]:
    table(NAME, TITLE)(_villages)
    try:
        yield NAME
    finally:
        TABLES.pop(NAME, None)


async def test_downloads_hold_the_numbers_of_the_table(settings: Settings, villages_table: str) -> None:
    clock = FixedClock(noon_in_china(START))
    officer = token(settings, Role.federation_officer, COUNTY)
    pairing, reporting = pairing_app(settings, clock), reporting_app(settings, clock)
    async with running(pairing) as pclient, running(reporting) as rclient:
        paired = await pair(pclient, officer)
        project = (await pclient.post("/projects", json=project_body(paired), headers=officer)).json()["id"]
        for amount, day in (("2000000.00", "2026-01-02"), ("123456.78", "2026-01-04")):
            invested = await pclient.post(
                f"/projects/{project}/investments", json=tranche(amount, day), headers=officer
            )
            assert invested.status_code == 201, invested.text
        query = {"region": COUNTY, "period": "2026H1"}

        async def settled() -> bool:
            answer = await rclient.get(f"/tables/{NAME}", params=query, headers=officer)
            return answer.status_code == 200 and answer.json()["totals"]["invested"] == "2123456.78"

        await wait_until(settled, 15, "both tranches in the reporting tables")
        body = (await rclient.get(f"/tables/{NAME}", params=query, headers=officer)).json()
        assert [r["village_code"] for r in body["rows"]] == [village_code(1), village_code(2)]

        stem = f"_{COUNTY}_2026H1_{START.isoformat()}"
        got_csv = await rclient.get(f"/exports/tables/{NAME}.csv", params=query, headers=officer)
        assert got_csv.status_code == 200, got_csv.text
        assert got_csv.headers["content-type"] == "text/csv; charset=utf-8"
        _assert_disposition(got_csv, f"{NAME}{stem}.csv", f"{TITLE}{stem}.csv")
        lines = list(csv.reader(io.StringIO(got_csv.content.decode("utf-8-sig"))))
        assert lines[0] == [c["header"] for c in body["columns"]]
        assert lines[1:] == [_csv_row(body["columns"], r) for r in [*body["rows"], body["totals"]]]

        got_xlsx = await rclient.get(f"/exports/tables/{NAME}.xlsx", params=query, headers=officer)
        assert got_xlsx.status_code == 200, got_xlsx.text
        assert got_xlsx.headers["content-type"] == (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        _assert_disposition(got_xlsx, f"{NAME}{stem}.xlsx", f"{TITLE}{stem}.xlsx")
        sheet = load_workbook(io.BytesIO(got_xlsx.content)).worksheets[0]
        assert sheet["A1"].value == TITLE
        assert [c.value for c in sheet[3]] == [c["header"] for c in body["columns"]]
        cells = [
            [c.value for c in row] for row in sheet.iter_rows(min_row=4, max_row=3 + len(body["rows"]) + 1)
        ]
        assert cells == [_xlsx_row(body["columns"], r) for r in [*body["rows"], body["totals"]]]

        listed = (await rclient.get("/tables", headers=officer)).json()["items"]
        everything = await rclient.get("/exports/report.xlsx", params=query, headers=officer)
        assert everything.status_code == 200, everything.text
        sheets = load_workbook(io.BytesIO(everything.content)).worksheets
        assert [s["A1"].value for s in sheets] == [t["title"] for t in listed]
        for listed_table, sheet in zip(listed, sheets, strict=True):  # every table the service has
            whole = {**query, "page_size": 5000}
            answer = (
                await rclient.get(f"/tables/{listed_table['name']}", params=whole, headers=officer)
            ).json()
            assert [c.value for c in sheet[3]] == [c["header"] for c in answer["columns"]]
            every = [*answer["rows"], *([answer["totals"]] if answer["totals"] is not None else [])]
            written = sheet.iter_rows(min_row=4, max_row=3 + len(every), max_col=len(answer["columns"]))
            assert [[c.value for c in row] for row in written] == [
                _xlsx_row(answer["columns"], r) for r in every
            ]
            name = listed_table["name"]
            got = await rclient.get(f"/exports/tables/{name}.csv", params=query, headers=officer)
            lines = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
            assert lines == [
                [c["header"] for c in answer["columns"]],
                *(_csv_row(answer["columns"], r) for r in every),
            ]
        assert "report" in everything.headers["content-disposition"]

        chosen = await rclient.get(
            "/exports/report.xlsx", params={**query, "tables": f"{NAME},{NAME}"}, headers=officer
        )
        assert [s["A1"].value for s in load_workbook(io.BytesIO(chosen.content)).worksheets] == [TITLE]

        township = {"region": village_code(2)[:9], "period": "2026H1"}
        narrower = await rclient.get(f"/exports/tables/{NAME}.csv", params=township, headers=officer)
        assert [line[0] for line in csv.reader(io.StringIO(narrower.content.decode("utf-8-sig")))][1:] == [
            r["village_code"] for r in body["rows"] if r["village_code"].startswith(township["region"])
        ] + ["合计"]


async def test_downloads_refuse_what_the_table_api_refuses(settings: Settings, villages_table: str) -> None:
    clock = FixedClock(noon_in_china(START))
    village = token(settings, Role.village_officer, VILLAGE)
    async with running(reporting_app(settings, clock)) as client:
        assert (await client.get(f"/exports/tables/{NAME}.csv")).status_code == 401
        assert (await client.get("/exports/tables/nothing-here.csv", headers=village)).status_code == 404
        unknown = await client.get("/exports/report.xlsx", params={"tables": f"{NAME},nope"}, headers=village)
        assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
        outside = await client.get(f"/exports/tables/{NAME}.xlsx", params={"region": COUNTY}, headers=village)
        assert outside.status_code == 403
        paged = await client.get(f"/exports/tables/{NAME}.csv", params={"page": 2}, headers=village)
        assert paged.status_code == 422
        own = await client.get(f"/exports/tables/{NAME}.csv", headers=village)
        assert own.status_code == 200 and f"_{VILLAGE}_" in own.headers["content-disposition"]


async def test_dashboard_summary_counts_what_was_entered(settings: Settings) -> None:
    clock = FixedClock(noon_in_china(START))
    officer = token(settings, Role.federation_officer, COUNTY)
    pairing, reporting = pairing_app(settings, clock), reporting_app(settings, clock)
    async with running(pairing) as pclient, running(reporting) as rclient:
        paired = await pair(pclient, officer)
        project = (await pclient.post("/projects", json=project_body(paired), headers=officer)).json()["id"]
        await pclient.post(
            f"/projects/{project}/investments", json=tranche("750000.50", "2026-01-03"), headers=officer
        )

        async def summary(region: str) -> dict[str, Any]:
            answer = await rclient.get("/dashboard/summary", params={"region": region}, headers=officer)
            assert answer.status_code == 200, answer.text
            result: dict[str, Any] = answer.json()
            return result

        async def settled() -> bool:
            return (await summary(COUNTY))["figures"]["invested_yuan"] == "750000.50"

        await wait_until(settled, 15, "the investment in the summary")
        county = await summary(COUNTY)
        assert county["figures"] | {"coverage_percent": None} == {
            "villages": 2,
            "enterprises": 2,
            "active_agreements": 2,
            "projects": 1,
            "invested_yuan": "750000.50",
            "monitored": 0,
            "eligible": 0,
            "bound": 0,
            "coverage_percent": None,
        }
        assert county["child_level"] == "乡镇" and county["scope"] == COUNTY
        assert village_code(1)[:9] == village_code(2)[:9]  # both villages lie in one township
        [only] = county["children"]
        assert (only["code"], only["villages"], only["active_agreements"], only["invested_yuan"]) == (
            VILLAGE[:9],
            2,
            2,
            "750000.50",
        )

        township = await summary(VILLAGE[:9])
        assert township["child_level"] == "村"
        by_village = {c["code"]: c for c in township["children"]}
        assert by_village[VILLAGE]["name"] == "村1" and by_village[VILLAGE]["invested_yuan"] == "750000.50"
        village = await summary(VILLAGE)
        assert (
            village["child_level"] is None and village["children"] == [] and village["region_name"] == "村1"
        )

        page = await rclient.get("/dashboard")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self' covers it
        script = await rclient.get("/dashboard/static/app.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert (await rclient.get("/dashboard/static/..%2Fapi.py")).status_code in (404, 422)
        assert (await rclient.get("/dashboard/static/missing.js")).status_code == 404


def _assert_disposition(response: httpx.Response, ascii_name: str, name: str) -> None:
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="{ascii_name}"' in disposition
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition


def _csv_row(columns: list[dict[str, str]], row: dict[str, Any]) -> list[str]:
    """How the JSON's value reads in the CSV: amounts with two places, rates with one, nothing as ''."""
    cells = []
    for column in columns:
        value = row.get(column["key"])
        if value is None:
            cells.append("")
        elif column["kind"] == "yuan":
            cells.append(f"{Decimal(value):.2f}")
        elif column["kind"] == "percent":
            cells.append(f"{Decimal(str(value)):.1f}")
        else:
            cells.append(str(value))
    return cells


def _xlsx_row(columns: list[dict[str, str]], row: dict[str, Any]) -> list[Any]:
    """What openpyxl reads back for the JSON's value: numbers as numbers, dates as datetimes."""
    cells: list[Any] = []
    for column in columns:
        value = row.get(column["key"])
        if value is None or value == "":  # an empty text is an empty cell
            cells.append(None)
        elif column["kind"] == "yuan":
            cells.append(float(Decimal(value)))
        elif column["kind"] == "percent":
            cells.append(float(Decimal(str(value)) / 100))
        elif column["kind"] == "date":
            cells.append(datetime.fromisoformat(value))
        else:
            cells.append(value)
    return cells
