"""The ledger import on a real running pairing service (PostgreSQL and NATS): all or nothing per
file, every rejected row reported, a re-upload writes nothing, and the refusals as problem details."""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import date
from typing import Any

import httpx
import openpyxl
from sqlalchemy import text

from services.pairing.app import create as pairing_app
from services.pairing.domain import village_stream
from services.pairing.ledger_import.layout import COLUMNS
from services.pairing.ledger_import.reader import XLSX_TYPE
from shared.auth import Role
from shared.eventstore.store import EventStore, EventStoreSession
from shared.service import Runtime
from shared.settings import Settings
from tests.support.apps import running, token
from tests.support.pairing import credit_code, enterprise_body, village_body, village_code

HEADERS = [c.header for c in COLUMNS]
PROBLEM = "application/problem+json"
COUNTIES = "150602,150603"  # the deployment serves 150603 too; the officer's region is 150602
KINDS = ["民营企业", "国有企业", "商会", "农业龙头企业"]
CATEGORIES = ["重点帮扶村", "示范村", "整体推进村"]
MODES = ["订单合作", "龙头带动", "农旅融合", "劳务合作"]


def ledger_row(i: int) -> dict[str, Any]:
    """Row ``i`` of a ledger of 1,000 villages × 5 enterprises (2,500 enterprises, each on 2 rows).

    XLSX cells as an officer's spreadsheet has them: real dates, numbers for counts and yuan.
    """
    v, e = i // 5 + 1, i % 2500 + 1
    return {
        "序号": i + 1,
        "企业名称": f"企业{e}",
        "统一社会信用代码": credit_code(e),
        "企业类型": KINDS[e % len(KINDS)],
        "企业注册地区县代码": "150602",
        "联系人": f"联系人{e}",
        "联系电话": 13800000000 + e,
        "龙头企业级别": "省级" if e % 7 == 0 else None,
        "村名称": f"村{v}",
        "村统计用区划代码": village_code(v),
        "村类别": CATEGORIES[v % len(CATEGORIES)],
        "是否脱贫村": "是" if v % 2 else "否",
        "签约日期": date(2025, i % 12 + 1, i % 28 + 1),
        "协议期限（年）": 3,
        "协议文号": f"XC-2025-{i:05d}",
        "帮扶途径": "产业、就业" if i % 3 else "消费帮扶；公益",
        "振兴模式": MODES[i % len(MODES)],
        "投资额（元）": 150000.5 + i,
        "就业（人）": i % 40,
        "培训（人）": i % 9,
        "消费帮扶（元）": 20000,
        "捐赠（元）": 0.1,
        "备注": None,
    }


def village_of(row: dict[str, Any], v: int) -> dict[str, Any]:
    """``row`` moved to village ``v``, with that village's columns as its own rows give them."""
    other = ledger_row((v - 1) * 5)
    return {**row, **{h: other[h] for h in ("村名称", "村统计用区划代码", "村类别", "是否脱贫村")}}


def bad_rows(rows: list[dict[str, Any]]) -> dict[int, tuple[dict[str, Any], str, str]]:
    """Twenty rows broken in twenty ways: index -> (the bad row, its column, the rule it breaks)."""
    wrong_check = credit_code(11)[:-1] + ("1" if credit_code(11)[-1] != "1" else "2")
    changes: dict[int, tuple[dict[str, Any], str, str]] = {
        10: ({"统一社会信用代码": wrong_check}, "统一社会信用代码", "value_valid"),
        20: ({"企业名称": ""}, "企业名称", "required_value"),
        30: ({"企业类型": "外资企业"}, "企业类型", "value_format"),
        50: ({"联系电话": "电话号码"}, "联系电话", "value_valid"),
        60: ({"龙头企业级别": "乡级"}, "龙头企业级别", "value_format"),
        70: ({"村统计用区划代码": "15060210000"}, "村统计用区划代码", "value_valid"),
        80: (
            {"村统计用区划代码": village_code(80, county="150699")},
            "村统计用区划代码",
            "village_code_of_this_deployment",
        ),
        90: (
            {"村统计用区划代码": village_code(90, county="150603")},
            "村统计用区划代码",
            "within_caller_region",
        ),
        100: ({"村类别": "贫困村"}, "村类别", "value_format"),
        120: ({"签约日期": "2025/13/01"}, "签约日期", "value_format"),
        130: ({"协议期限（年）": 11}, "协议期限（年）", "value_valid"),
        140: ({"帮扶途径": "产业、旅游"}, "帮扶途径", "value_format"),
        150: ({"振兴模式": "其他"}, "振兴模式", "value_format"),
        160: ({"投资额（元）": 100.555}, "投资额（元）", "value_format"),
        170: ({"就业（人）": -3}, "就业（人）", "value_valid"),
        # Enterprise 181 was first named on row 180 (index 180) under its own name.
        2680: ({"企业名称": "另一个名字"}, "企业名称", "enterprise_consistent"),
        197: ({"村名称": "另一个村"}, "村名称", "village_consistent"),
        212: ({**{h: rows[211][h] for h in HEADERS if h != "序号"}}, "协议文号", "agreement_once_in_file"),
        # Village 301 already has five enterprises (indices 1500–1504): a sixth is refused.
        3990: (village_of(rows[3990], 301), "村统计用区划代码", "at_most_n_active_enterprises_per_village"),
        # Enterprise 1496 already has an agreement with village 300 (index 1495).
        3995: (village_of(rows[3995], 300), "统一社会信用代码", "one_active_agreement_per_pair"),
    }
    assert len(changes) == 20
    return {i: ({**rows[i], **change}, column, rule) for i, (change, column, rule) in changes.items()}


def xlsx(rows: Iterable[dict[str, Any]], headers: list[str] = HEADERS) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("结对台账")
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h) for h in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: Iterable[dict[str, Any]], headers: list[str] = HEADERS, bom: bool = True) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if row.get(h) is None else _csv_cell(row[h]) for h in headers])
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode()


def _csv_cell(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


async def upload(
    client: httpx.AsyncClient,
    data: bytes,
    headers: dict[str, str],
    filename: str = "结对台账.xlsx",
    content_type: str = XLSX_TYPE,
    **params: Any,
) -> httpx.Response:
    return await client.post(
        "/imports/ledger",
        files={"file": (filename, data, content_type)},
        params=params,
        headers=headers,
        timeout=120,
    )


async def counts(runtime: Runtime) -> dict[str, int]:
    async with runtime.engine.connect() as conn:
        rows = await conn.execute(text("SELECT type, count(*) FROM events GROUP BY type"))
        return {type_.split(".")[1]: int(n) for type_, n in rows}


def problem_of(response: httpx.Response, status: int, rule: str) -> dict[str, Any]:
    assert response.status_code == status, response.text[:3000]
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["rule"] == rule, problem
    assert problem["instance"] == "/imports/ledger" or problem["instance"].startswith("/imports/ledger")
    return problem


async def test_a_5000_row_ledger_is_imported_whole_or_not_at_all_and_only_once(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(counties=COUNTIES)
    officer = token(settings, Role.county_officer, "150602")
    good = [ledger_row(i) for i in range(5000)]
    broken = bad_rows(good)
    bad = [broken[i][0] if i in broken else row for i, row in enumerate(good)]
    app = pairing_app(settings)
    async with running(app) as client:
        runtime: Runtime = app.state.runtime

        refused = problem_of(await upload(client, xlsx(bad), officer), 422, "ledger_rows_valid")
        assert (refused["rows"], refused["rejected_rows"]) == (5000, 20)
        assert refused["detail"] == "20 of 5000 rows were rejected; nothing was imported"
        reported = {(e["row"], e["column"], e["rule"]) for e in refused["errors"]}
        expected = {(i + 2, column, rule) for i, (_, column, rule) in broken.items()}
        assert reported == expected
        assert all(e["reason"] and e["field"] for e in refused["errors"])
        by_row = {e["row"]: e for e in refused["errors"]}
        assert by_row[162]["value"] == "100.555" and "at most 2 decimals" in by_row[162]["reason"]
        assert "row 182" in by_row[2682]["reason"] and "row 213" in by_row[214]["reason"]
        assert "XC-2025-01495" in by_row[3997]["reason"]
        assert await counts(runtime) == {}

        rehearsal = await upload(client, xlsx(good), officer, dry_run="true")
        assert rehearsal.status_code == 200, rehearsal.text[:3000]
        assert rehearsal.json()["created"] == {"enterprises": 2500, "villages": 1000, "agreements": 5000}
        assert rehearsal.json()["events_written"] == 0
        assert await counts(runtime) == {}

        imported = await upload(client, xlsx(good), officer)
        assert imported.status_code == 200, imported.text[:3000]
        body = imported.json()
        assert body["dry_run"] is False and body["rows"] == 5000
        assert body["created"] == {"enterprises": 2500, "villages": 1000, "agreements": 5000}
        assert body["existing"] == {"enterprises": 0, "villages": 0, "agreements": 0}
        assert body["events_written"] == 8500 and body["warnings"] == []
        assert await counts(runtime) == {
            "enterprise_registered": 2500,
            "village_registered": 1000,
            "agreement_signed": 5000,
        }
        village = await runtime.store.load(village_stream(village_code(1)))
        assert [e.stream_version for e in village] == [1, 2, 3, 4, 5, 6]
        assert village[1].data["commitments"]["investment_yuan"] == "150000.50"
        assert village[1].data["commitments"]["donations_yuan"] == "0.10"
        assert village[1].data["signed_on"] == "2025-01-01"
        assert village[1].causation_id and village[1].causation_id.startswith("ledger-import:sha256:")

        again = await upload(client, xlsx(good), officer)
        assert again.status_code == 200, again.text[:3000]
        assert again.json()["created"] == {"enterprises": 0, "villages": 0, "agreements": 0}
        assert again.json()["existing"] == {"enterprises": 2500, "villages": 1000, "agreements": 5000}
        assert again.json()["rows_already_imported"] == 5000 and again.json()["events_written"] == 0
        assert sum((await counts(runtime)).values()) == 8500


def small_ledger(n: int, first: int = 0) -> list[dict[str, Any]]:
    return [ledger_row(i) for i in range(first, first + n)]


async def test_a_csv_ledger_is_imported_and_a_bad_csv_row_refuses_it(settings: Settings) -> None:
    officer = token(settings, Role.federation_officer, "150602")
    app = pairing_app(settings)
    async with running(app) as client:
        bad = small_ledger(10)
        bad[3] = {**bad[3], "投资额（元）": "12.345"}
        refused = problem_of(
            await upload(client, csv_bytes(bad), officer, "台账.csv", "text/csv"), 422, "ledger_rows_valid"
        )
        assert [(e["row"], e["column"], e["rule"]) for e in refused["errors"]] == [
            (5, "投资额（元）", "value_format")
        ]
        assert await counts(app.state.runtime) == {}

        for data in (csv_bytes(small_ledger(10)), csv_bytes(small_ledger(5, first=10), bom=False)):
            imported = await upload(client, data, officer, "台账.csv", "application/octet-stream")
            assert imported.status_code == 200, imported.text
        assert (await counts(app.state.runtime))["agreement_signed"] == 15
        stored = await app.state.runtime.store.load(village_stream(village_code(1)))
        assert stored[1].data["commitments"]["investment_yuan"] == "150000.50"


async def test_a_header_error_refuses_the_file_before_any_row(settings: Settings) -> None:
    officer = token(settings, Role.county_officer, "150602")
    headers = [h for h in HEADERS if h != "协议文号"] + ["负责人"]
    app = pairing_app(settings)
    async with running(app) as client:
        refused = problem_of(
            await upload(client, xlsx(small_ledger(3), headers), officer), 422, "ledger_layout"
        )
        assert {(e["row"], e["column"], e["rule"]) for e in refused["errors"]} == {
            (1, "协议文号", "ledger_layout"),
            (1, "负责人", "ledger_layout"),
        }
        missing = next(e for e in refused["errors"] if e["column"] == "协议文号")
        assert missing["reason"] == "required column missing"
        assert await counts(app.state.runtime) == {}


async def test_the_template_round_trips(settings: Settings) -> None:
    officer = token(settings, Role.county_officer, "150602")
    app = pairing_app(settings)
    async with running(app) as client:
        downloaded = await client.get("/imports/ledger/template.xlsx", headers=officer)
        assert downloaded.status_code == 200
        assert downloaded.headers["content-type"] == XLSX_TYPE
        assert "attachment" in downloaded.headers["content-disposition"]

        as_downloaded = await upload(client, downloaded.content, officer)
        problem_of(as_downloaded, 422, "ledger_has_rows")

        workbook = openpyxl.load_workbook(io.BytesIO(downloaded.content))
        sheet = workbook.worksheets[0]
        assert [cell.value for cell in sheet[1]] == HEADERS
        filled = ledger_row(0)
        for position, header in enumerate(HEADERS, start=1):
            sheet.cell(2, position).value = filled[header]
        buffer = io.BytesIO()
        workbook.save(buffer)
        imported = await upload(client, buffer.getvalue(), officer)
        assert imported.status_code == 200, imported.text
        assert imported.json()["created"] == {"enterprises": 1, "villages": 1, "agreements": 1}
        assert (await counts(app.state.runtime))["agreement_signed"] == 1


async def test_what_is_stored_is_used_differences_are_warnings_and_the_pair_rule_holds(
    settings: Settings,
) -> None:
    officer = token(settings, Role.federation_officer, "150602")
    app = pairing_app(settings)
    async with running(app) as client:
        enterprise = await client.post(
            "/enterprises", json=enterprise_body(1, name="旧名称"), headers=officer
        )
        assert enterprise.status_code == 201
        assert (
            await client.post("/villages", json=village_body(1, category="overall_advance"), headers=officer)
        ).status_code == 201
        agreement = {
            "enterprise_id": enterprise.json()["id"],
            "village_code": village_code(1),
            "signed_on": "2025-06-01",
            "term_years": 2,
            "document_ref": "API-1",
            "pathways": ["industry"],
            "mode": "order_farming",
        }
        assert (await client.post("/agreements", json=agreement, headers=officer)).status_code == 201
        before = await counts(app.state.runtime)

        rows = small_ledger(5)  # village 1 with enterprises 1–5; enterprise 1 signed already via the API
        refused = problem_of(await upload(client, xlsx(rows), officer), 422, "ledger_rows_valid")
        assert [(e["row"], e["rule"], e["field"]) for e in refused["errors"]] == [
            (2, "one_active_agreement_per_pair", "credit_code")
        ]
        assert "API-1" in refused["errors"][0]["reason"]
        assert await counts(app.state.runtime) == before

        imported = await upload(client, xlsx(rows[1:]), officer, dry_run="false")
        assert imported.status_code == 200, imported.text
        body = imported.json()
        assert body["created"] == {"enterprises": 4, "villages": 0, "agreements": 4}
        assert body["existing"] == {"enterprises": 0, "villages": 1, "agreements": 0}
        assert {(w["row"], w["column"], w["value"], w["stored"]) for w in body["warnings"]} == {
            (2, "村类别", CATEGORIES[1], "整体推进村"),
            (2, "是否脱贫村", "是", "否"),
        }


async def test_only_importing_roles_inside_their_region(settings: Settings) -> None:
    app = pairing_app(settings)
    data = xlsx(small_ledger(1))
    async with running(app) as client:
        for role in (Role.viewer, Role.township_officer, Role.enterprise, Role.village_officer):
            refused = await upload(client, data, token(settings, role, "150602"))
            assert refused.status_code == 403 and refused.headers["content-type"] == PROBLEM
        assert (await client.get("/imports/ledger/template.xlsx")).status_code == 401
        assert (await client.post("/imports/ledger", files={"file": ("a.xlsx", data)})).status_code == 401

        other_county = token(settings, Role.county_officer, "150603")
        refused_rows = problem_of(await upload(client, data, other_county), 422, "ledger_rows_valid")
        assert [(e["row"], e["rule"]) for e in refused_rows["errors"]] == [(2, "within_caller_region")]

        platform = await upload(client, data, token(settings, Role.platform, ""))
        assert platform.status_code == 200, platform.text
        assert (await counts(app.state.runtime))["agreement_signed"] == 1


async def test_uploads_that_are_not_a_ledger_file(settings: Settings) -> None:
    officer = token(settings, Role.county_officer, "150602")
    app = pairing_app(settings)
    async with running(app) as client:
        problem_of(
            await upload(client, b"%PDF-1.7", officer, "台账.pdf", "application/pdf"), 415, "ledger_file_type"
        )
        problem_of(
            await upload(
                client, b"\xd0\xcf\x11\xe0\xa1\xb1", officer, "台账.xls", "application/vnd.ms-excel"
            ),
            415,
            "ledger_file_type",
        )
        problem_of(await upload(client, b"PK\x03\x04 broken", officer), 422, "ledger_readable")
        gbk = "企业名称\n企业1\n".encode("gbk")
        problem_of(await upload(client, gbk, officer, "台账.csv", "text/csv"), 422, "ledger_readable")

        wrong_field = await client.post(
            "/imports/ledger", files={"ledger": ("台账.xlsx", b"x", XLSX_TYPE)}, headers=officer
        )
        assert problem_of(wrong_field, 400, "ledger_upload")["detail"].endswith("field 'file'")
        as_json = await client.post("/imports/ledger", json={"file": "x"}, headers=officer)
        problem_of(as_json, 400, "ledger_upload")

        too_large = b"0" * (20 * 1024 * 1024 + 1)
        problem_of(await upload(client, too_large, officer, "台账.csv", "text/csv"), 413, "ledger_size_limit")

        async def streamed() -> AsyncIterator[bytes]:  # no content-length: refused as it arrives
            yield b'--b\r\ncontent-disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
            for _ in range(21):
                yield b"0" * (1024 * 1024)
            yield b"\r\n--b--\r\n"

        multipart = {**officer, "content-type": "multipart/form-data; boundary=b"}
        chunked = await client.post("/imports/ledger", content=streamed(), headers=multipart)
        assert "content-length" not in chunked.request.headers
        problem_of(chunked, 413, "ledger_size_limit")
        assert await counts(app.state.runtime) == {}


class RacingStore(EventStore):
    """The store, with another writer acting between the import's read and its append."""

    def __init__(self, store: EventStore, race: Callable[[], Awaitable[None]]) -> None:
        super().__init__(store.pool, store.after_append)
        self.race: Callable[[], Awaitable[None]] | None = race

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[EventStoreSession]:
        async with super().session() as session:
            race, self.race = self.race, None
            if race is not None:
                load_many = session.load_many

                async def load_then_race(ids: Iterable[str], after_version: int = 0) -> Any:
                    loaded = await load_many(ids, after_version)
                    await race()
                    return loaded

                session.load_many = load_then_race  # type: ignore[method-assign]
            yield session


async def test_a_concurrent_writer_makes_it_a_409_with_nothing_written(settings: Settings) -> None:
    officer = token(settings, Role.county_officer, "150602")
    app = pairing_app(settings)
    async with running(app) as client:
        runtime: Runtime = app.state.runtime

        async def register_village_meanwhile() -> None:
            response = await client.post("/villages", json=village_body(1), headers=officer)
            assert response.status_code == 201

        runtime.store = RacingStore(runtime.store, register_village_meanwhile)
        conflict = await upload(client, xlsx(small_ledger(10)), officer)
        assert conflict.status_code == 409, conflict.text
        assert conflict.json()["type"].endswith("/concurrent_change")
        assert await counts(runtime) == {"village_registered": 1}

        retried = await upload(client, xlsx(small_ledger(10)), officer)
        assert retried.status_code == 200, retried.text
        assert retried.json()["existing"]["villages"] == 1
        assert (await counts(runtime))["agreement_signed"] == 10
