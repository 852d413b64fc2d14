"""The provincial platform's survey import on a running monitoring service (PostgreSQL and NATS):
100,000 rows with a sprinkling of bad ones, each reported; good rows imported, households made or
matched by ID number; the same batch again changes nothing; a fixed batch adds only the fixed rows;
dry runs, XLSX, roles, regions and two imports of one batch at once."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import httpx
import openpyxl

from services.monitoring.app import create
from services.monitoring.domain import household_stream
from services.monitoring.platform.layout import IMPORT_HEADERS
from services.monitoring.platform.reader import XLSX_TYPE
from shared.auth import Role
from shared.clock import FixedClock
from shared.db.engine import asyncpg_dsn
from shared.service import Runtime
from shared.settings import Settings
from tests.support.apps import running, token
from tests.support.monitoring import citizen_id, household_body, village_code

NOW = datetime(2026, 11, 2, 2, tzinfo=UTC)  # 2026-11-02 in China
STATUSES = ("脱贫户", "一般农户", "低收入户")
PROBLEM = "application/problem+json"
CLEAR_ID = re.compile(r"\d{17}[\dX]")


def survey_row(i: int, **overrides: Any) -> dict[str, Any]:
    """Row ``i`` of a batch: household ``i`` of 300 villages; every tenth below the monitoring line."""
    row = {
        "批次内序号": i + 1,
        "村代码": village_code(i % 300),
        "户主姓名": f"户主{i}",
        "户主身份证号": citizen_id(i),
        "户类型": STATUSES[i % 3],
        "家庭人口": 1 + i % 6,
        "季度": "2026Q3",
        "家庭人均纯收入(元)": "5200.00" if i % 10 == 0 else f"{9000 + i % 5000}.50",
        "医疗自付支出(元)": "1200" if i % 7 == 0 else "",
        "调查日期": "2026-09-28",
        "联系电话": f"139{i:08d}",
    }
    row.update(overrides)
    return row


def bad_rows(rows: list[dict[str, Any]], every: int) -> dict[int, tuple[str, str]]:
    """Break rows ``every`` apart in six ways, in place: row index -> (column, rule)."""
    broken: dict[int, tuple[str, str]] = {}
    for n, i in enumerate(range(every // 2, len(rows) - 1, every)):
        kind = n % 6
        if kind == 0:
            good = rows[i]["户主身份证号"]
            rows[i]["户主身份证号"] = good[:-1] + ("1" if good[-1] != "1" else "2")
            broken[i] = ("户主身份证号", "value_valid")
        elif kind == 1:
            rows[i]["户类型"] = "贫困户"
            broken[i] = ("户类型", "value_format")
        elif kind == 2:
            rows[i]["季度"] = "2026Q5"
            broken[i] = ("季度", "value_format")
        elif kind == 3:
            rows[i]["家庭人口"] = -3
            broken[i] = ("家庭人口", "value_valid")
        elif kind == 4:
            rows[i]["村代码"] = village_code(i % 300, county="150699")
            broken[i] = ("村代码", "village_code_of_this_deployment")
        else:  # the next row repeats this row's head and quarter: neither is imported
            rows[i + 1]["户主身份证号"] = rows[i]["户主身份证号"]
            broken[i] = broken[i + 1] = ("户主身份证号", "once_in_batch")
    return broken


def csv_bytes(rows: Iterable[dict[str, Any]], headers: list[str] = IMPORT_HEADERS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows([row.get(h, "") for h in headers] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode()


def xlsx_bytes(rows: Iterable[dict[str, Any]]) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("季度监测")
    sheet.append(IMPORT_HEADERS)
    for row in rows:
        sheet.append([row.get(h) for h in IMPORT_HEADERS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def upload(
    client: httpx.AsyncClient,
    data: bytes,
    headers: dict[str, str],
    filename: str = "季度监测.csv",
    content_type: str = "text/csv",
    form: dict[str, str] | None = None,
    **params: Any,
) -> httpx.Response:
    return await client.post(
        "/imports/surveys",
        files={"file": (filename, data, content_type)},
        data=form or {},
        params=params,
        headers=headers,
        timeout=600,
    )


def report_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text[:3000]
    assert not CLEAR_ID.search(response.text), "an ID number in clear in the report"
    body: dict[str, Any] = response.json()
    return body


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:3000]
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    return body


async def event_counts(settings: Settings) -> dict[str, int]:
    conn = await asyncpg.connect(asyncpg_dsn(settings.service_database_url("monitoring")))
    try:
        rows = await conn.fetch("SELECT type, count(*) FROM events GROUP BY type")
        return {row[0].split(".")[1]: row[1] for row in rows}
    finally:
        await conn.close()


async def stored_rows(settings: Settings, table: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(settings.service_database_url("monitoring")))
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await conn.close()


async def quiet(runtime: Runtime) -> None:
    """Stop the relay and the projector: the import's own assertions read the event store, and on a
    2-core machine publishing and projecting 200,000 events beside it doubles the test's time."""
    for task in runtime.tasks:
        task.cancel()
    await asyncio.gather(*(consumer.stop() for consumer in runtime.consumers))


async def test_100000_rows_every_bad_row_reported_good_rows_imported_and_once_only(
    make_settings: Any,
) -> None:
    settings = make_settings(counties="150602,150603")
    platform = token(settings, Role.platform, "15")
    rows = [survey_row(i) for i in range(100_000)]
    broken = bad_rows(rows, every=2000)
    assert len(broken) == 58
    data = csv_bytes(rows)
    good = [i for i in range(len(rows)) if i not in broken]
    flagged = sum(1 for i in good if i % 10 == 0)
    app = create(settings, FixedClock(NOW))
    async with running(app) as client:
        await quiet(app.state.runtime)

        report = report_of(await upload(client, data, platform, batch_id="GS-2026Q3-0001"))
        assert {(e["row"], e["column"], e["rule"]) for e in report["errors"]} == {
            (i + 2, column, rule) for i, (column, rule) in broken.items()
        }
        assert all(e["reason"] and e["field"] for e in report["errors"])
        assert {k: v for k, v in report.items() if k != "errors"} == {
            "batch_id": "GS-2026Q3-0001",
            "dry_run": False,
            "rows": 100_000,
            "imported": len(good),
            "unchanged": 0,
            "households_created": len(good),
            "flagged": flagged,
            "rejected": len(broken),
            "events_written": 2 * len(good) + flagged,
        }
        stored = {
            "household_registered": len(good),
            "household_surveyed": len(good),
            "household_flagged": flagged,
        }
        assert await event_counts(settings) == stored

        again = report_of(await upload(client, data, platform, batch_id="GS-2026Q3-0001"))
        assert (again["imported"], again["unchanged"], again["households_created"]) == (0, len(good), 0)
        assert (again["flagged"], again["events_written"], again["rejected"]) == (0, 0, len(broken))
        assert again["errors"] == report["errors"]
        assert await event_counts(settings) == stored


async def test_a_fixed_batch_adds_only_the_fixed_rows(settings: Settings) -> None:
    platform = token(settings, Role.platform, "15")
    fixed = [survey_row(i) for i in range(1000)]
    rows = [dict(row) for row in fixed]
    broken = bad_rows(rows, every=100)
    app = create(settings, FixedClock(NOW))
    async with running(app) as client:
        first = report_of(await upload(client, csv_bytes(rows), platform, batch_id="GS-7"))
        assert first["rejected"] == len(broken) == 11 and first["imported"] == 989
        resent = report_of(await upload(client, csv_bytes(fixed), platform, batch_id="GS-7"))
        assert (resent["imported"], resent["unchanged"], resent["households_created"]) == (11, 989, 11)
        assert resent["rejected"] == 0 and resent["errors"] == []
        counts = await event_counts(settings)
        assert counts["household_registered"] == counts["household_surveyed"] == 1000

        # A correction under a new batch number is a new survey of the same quarter.
        corrected = report_of(
            await upload(
                client,
                csv_bytes([survey_row(3, **{"家庭人均纯收入(元)": "9100"})]),
                platform,
                batch_id="GS-8",
            )
        )
        assert (corrected["imported"], corrected["households_created"]) == (1, 0)
        assert (await event_counts(settings))["household_surveyed"] == 1001


async def test_an_xlsx_batch_matches_households_on_record_by_any_members_id_number(
    settings: Settings,
) -> None:
    officer = token(settings, Role.county_officer, "150602")
    platform = token(settings, Role.platform, "15")
    app = create(settings, FixedClock(NOW))
    async with running(app) as client:
        on_record = []
        for n in (1, 2):
            response = await client.post(
                "/households", json=household_body(n, village=village_code(n)), headers=officer
            )
            assert response.status_code == 201, response.text
            on_record.append(response.json()["id"])
        rows = [
            survey_row(i, 调查日期=date(2026, 9, 28), 家庭人口=3, **{"家庭人均纯收入(元)": 9800.5})
            for i in range(100, 110)
        ]
        rows[0].update({"户主身份证号": citizen_id(10), "村代码": village_code(1)})  # household 1's head
        rows[1].update({"户主身份证号": citizen_id(21), "村代码": village_code(2)})  # household 2's spouse
        rows[2]["户主身份证号"] = float(rows[2]["户主身份证号"])  # a number cell: digits lost
        report = report_of(
            await upload(client, xlsx_bytes(rows), platform, "季度监测.xlsx", XLSX_TYPE, batch_id="GS-X-1")
        )
        assert [(e["row"], e["column"], e["rule"]) for e in report["errors"]] == [
            (4, "户主身份证号", "value_format")
        ]
        assert (report["imported"], report["households_created"], report["flagged"]) == (9, 7, 0)

        runtime: Runtime = app.state.runtime
        for household_id in on_record:
            history = await runtime.store.load(household_stream(uuid.UUID(household_id)))
            surveyed = [e for e in history if e.type == "monitoring.household_surveyed"]
            assert len(surveyed) == 1 and surveyed[0].data["batch_id"] == "GS-X-1"
            assert surveyed[0].data["quarterly"]["per_capita_net_income_yuan"] == "9800.50"
            assert surveyed[0].causation_id == "survey-import:GS-X-1"
        assert (await event_counts(settings))["household_registered"] == 2 + 7


async def test_a_dry_run_writes_nothing_and_says_what_the_import_will_do(settings: Settings) -> None:
    platform = token(settings, Role.platform, "15")
    rows = [survey_row(i) for i in range(300)]
    rows[5]["季度"] = "2026年第三季度"
    rows[7]["户类型"] = "困难户"
    data = csv_bytes(rows)
    app = create(settings, FixedClock(NOW))
    async with running(app) as client:
        rehearsal = report_of(
            await upload(client, data, platform, form={"batch_id": "GS-D", "dry_run": "true"})
        )
        assert rehearsal["dry_run"] is True and rehearsal["events_written"] == 0
        assert await event_counts(settings) == {}
        assert (
            await stored_rows(settings, "person_index") == 0 == await stored_rows(settings, "household_keys")
        )

        imported = report_of(await upload(client, data, platform, batch_id="GS-D"))
        assert imported["events_written"] == 2 * 299 + 30
        same = ("rows", "imported", "unchanged", "households_created", "flagged", "rejected", "errors")
        assert {k: rehearsal[k] for k in same} == {k: imported[k] for k in same}
        assert rehearsal["errors"][0]["rule"] == "value_format" and rehearsal["errors"][0]["row"] == 9

        again = report_of(await upload(client, data, platform, batch_id="GS-D", dry_run="true"))
        assert (again["imported"], again["unchanged"]) == (0, 299)


async def test_roles_regions_and_refused_requests(make_settings: Any) -> None:
    settings = make_settings(counties="150602,150603")
    officer = token(settings, Role.county_officer, "150602")
    other_county = token(settings, Role.county_officer, "150603")
    app = create(settings, FixedClock(NOW))
    async with running(app) as client:
        elsewhere = household_body(5, village=village_code(5, county="150603"))
        response = await client.post("/households", json=elsewhere, headers=other_county)
        assert response.status_code == 201, response.text
        rows = [survey_row(i) for i in range(10)]
        rows[3]["村代码"] = village_code(3, county="150603")  # served, but not the officer's county
        rows[4].update({"户主身份证号": citizen_id(50)})  # household 5's head, on record in 150603
        data = csv_bytes(rows)

        for role in (Role.village_officer, Role.township_officer, Role.viewer, Role.federation_officer):
            refused = problem_of(
                await upload(client, data, token(settings, role, "150602"), batch_id="B"), 403
            )
            assert "platform" in refused["detail"]
        report = report_of(await upload(client, data, officer, batch_id="B-1"))
        assert [(e["row"], e["column"], e["rule"]) for e in report["errors"]] == [
            (5, "村代码", "within_caller_region"),
            (6, "户主身份证号", "within_caller_region"),
        ]
        assert report["imported"] == 8
        assert citizen_id(50) not in str(report)

        missing = problem_of(await upload(client, data, officer), 422)
        assert missing["errors"][0]["field"] == "batch_id"
        differ = problem_of(
            await upload(client, data, officer, form={"batch_id": "B-2"}, batch_id="B-3"), 422
        )
        assert differ["errors"][0]["field"] == "batch_id"
        layout = problem_of(
            await upload(
                client, csv_bytes(rows, headers=[*IMPORT_HEADERS[:-2], "户主电话"]), officer, batch_id="B"
            ),
            422,
        )
        assert layout["rule"] == "survey_layout" and layout["errors"][0]["row"] == 1
        empty = problem_of(await upload(client, csv_bytes([]), officer, batch_id="B"), 422)
        assert empty["rule"] == "survey_has_rows"
        xls = problem_of(
            await upload(client, b"\xd0\xcf\x11\xe0rest", officer, "批次.xls", "", batch_id="B"), 415
        )
        assert xls["rule"] == "survey_file_type"
        not_multipart = await client.post("/imports/surveys?batch_id=B", content=data, headers=officer)
        assert problem_of(not_multipart, 400)["rule"] == "survey_upload"
        assert (await event_counts(settings))["household_surveyed"] == 8


async def test_two_imports_of_one_batch_at_once_record_each_survey_once(settings: Settings) -> None:
    platform = token(settings, Role.platform, "15")
    data = csv_bytes(survey_row(i) for i in range(3000))
    app = create(settings, FixedClock(NOW))
    async with running(app) as client:
        first, second = await asyncio.gather(
            upload(client, data, platform, batch_id="GS-C"), upload(client, data, platform, batch_id="GS-C")
        )
        reports = [report_of(first), report_of(second)]
        assert sum(r["imported"] for r in reports) == 3000 == sum(r["households_created"] for r in reports)
        assert all(r["imported"] + r["unchanged"] == 3000 and r["errors"] == [] for r in reports)
        assert await event_counts(settings) == {
            "household_registered": 3000,
            "household_surveyed": 3000,
            "household_flagged": 300,
        }
        assert (
            await stored_rows(settings, "person_index")
            == 3000
            == await stored_rows(settings, "household_keys")
        )
