"""The export of monitored households to the provincial platform on a running monitoring service:
households flagged by an imported batch, one taken through enrolment and help, one erased, one
whose risk was eliminated; CSV and XLSX in the documented layout; ID numbers masked for every
role but ``platform`` (the files are scanned for every ID number of the batch)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from typing import Any

import httpx
import openpyxl

from services.monitoring.app import create
from services.monitoring.personal import mask_id
from services.monitoring.platform.layout import EXPORT_HEADERS, IMPORT_HEADERS
from services.monitoring.platform.reader import XLSX_TYPE
from shared.auth import Role
from shared.clock import FixedClock
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.monitoring import annual_survey, citizen_id, quarterly_survey, village_code

STATUSES = ("脱贫户", "一般农户", "低收入户")
ROWS = 20


def batch_csv() -> bytes:
    """Households 0..19 of villages 0..4; every fourth (0, 4, 8, 12, 16) below the line: flagged."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(IMPORT_HEADERS)
    for i in range(ROWS):
        income = "5200.00" if i % 4 == 0 else "12000.00"
        row = {"村代码": village_code(i % 5), "户主姓名": f"户主{i}", "户主身份证号": citizen_id(i)}
        row |= {"户类型": STATUSES[i % 3], "家庭人口": 3, "季度": "2026Q3", "家庭人均纯收入(元)": income}
        row |= {"调查日期": "2026-09-28", "联系电话": f"1390000{i:04d}"}
        writer.writerow([row.get(h, "") for h in IMPORT_HEADERS])
    return buffer.getvalue().encode()


class Steps:
    """The API calls of the procedure, each by the role whose step it is."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.as_role = {role: token(settings, role, "150602") for role in Role}

    async def post(self, role: Role, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(path, json=body, headers=self.as_role[role])
        assert response.status_code in (200, 201), f"{path}: {response.text}"
        result: dict[str, Any] = response.json()
        return result

    async def household_of(self, n: int) -> str:
        found = await self.post(Role.county_officer, "/households/lookup", {"id_number": citizen_id(n)})
        return str(found["household_id"])

    async def enrol(self, household: str, category: str) -> None:
        h = f"/households/{household}"
        await self.post(Role.township_officer, f"{h}/verification", _verify("2026-10-05", ["illness"]))
        await self.post(Role.village_officer, f"{h}/deliberation", _deliberate("2026-10-08"))
        await self.post(
            Role.township_officer, f"{h}/review", {"reviewed_on": "2026-10-13", "opinion": "同意"}
        )
        await self.post(
            Role.county_officer, f"{h}/approval", {"approved_on": "2026-10-15", "category": category}
        )

    async def help(self, household: str) -> None:
        h = f"/households/{household}"
        contact = {
            "name": "李四",
            "unit": "某某镇人民政府",
            "phone": "13800001111",
            "assigned_on": "2026-10-16",
        }
        await self.post(Role.township_officer, f"{h}/contact", contact)
        measure = {"measure": "health", "risk_type": "illness", "description": "医疗救助"}
        await self.post(
            Role.township_officer,
            f"{h}/assistance-plans",
            {"planned_on": "2026-10-17", "measures": [measure]},
        )
        delivery = {
            "measure": "health",
            "delivered_on": "2026-10-18",
            "description": "救助金",
            "amount_yuan": "500.50",
        }
        await self.post(Role.village_officer, f"{h}/assistance-deliveries", delivery)

    async def eliminate(self, household: str) -> None:
        h = f"/households/{household}"
        for period, income in (("2026Q4", 12000), ("2027Q1", 12500)):
            await self.post(Role.village_officer, f"{h}/surveys", quarterly_survey(period, income))
        await self.post(Role.village_officer, f"{h}/surveys", annual_survey(2026))
        await self.post(Role.village_officer, f"{h}/elimination-proposal", {"proposed_on": "2027-04-01"})
        await self.post(Role.township_officer, f"{h}/verification", _verify("2027-04-02", []))
        await self.post(Role.village_officer, f"{h}/deliberation", _deliberate("2027-04-03"))
        await self.post(
            Role.township_officer, f"{h}/review", {"reviewed_on": "2027-04-08", "opinion": "同意"}
        )
        await self.post(Role.county_officer, f"{h}/approval", {"approved_on": "2027-04-09"})


def _verify(on: str, risks: list[str]) -> dict[str, Any]:
    return {"verified_on": on, "risk_types": risks, "findings": "入户核实"}


def _deliberate(on: str) -> dict[str, Any]:
    return {"deliberated_on": on, "votes_for": 9, "votes_against": 1, "notice_from": on}


async def export(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> httpx.Response:
    return await client.get("/exports/monitored-households", params=params, headers=headers, timeout=60)


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.content.startswith("\ufeff".encode())
    reader = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
    header = next(reader)
    assert header == EXPORT_HEADERS
    return [dict(zip(header, row, strict=True)) for row in reader]


def xlsx_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_TYPE
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    values = [
        ["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)
    ]
    assert values[0] == EXPORT_HEADERS
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def no_id_in_clear(content: bytes) -> None:
    """Neither in the bytes nor, for an XLSX, in any of its (compressed) parts."""
    parts = [content]
    if content.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts += [archive.read(name) for name in archive.namelist()]
    for i in range(ROWS):
        number = citizen_id(i).encode()
        assert not any(number in part or number[:14] in part for part in parts), f"ID number {i} in clear"


async def test_monitored_households_exported_in_the_layout_masked_unless_platform(settings: Settings) -> None:
    clock = FixedClock(datetime(2026, 11, 2, 2, tzinfo=UTC))
    platform = token(settings, Role.platform, "15")
    county = token(settings, Role.county_officer, "150602")
    app = create(settings, clock)
    async with running(app) as client:
        imported = await client.post(
            "/imports/surveys",
            files={"file": ("批次.csv", batch_csv(), "text/csv")},
            params={"batch_id": "GS-E-1"},
            headers=platform,
        )
        assert imported.status_code == 200 and imported.json()["flagged"] == 5, imported.text
        steps = Steps(client, settings)
        enrolled, erased, eliminated = [await steps.household_of(n) for n in (0, 4, 8)]
        await steps.enrol(enrolled, "unstable_after_exit")  # household 0: 脱贫户
        await steps.help(enrolled)
        await steps.enrol(eliminated, "marginal_at_risk")  # household 8: 低收入户
        await steps.post(Role.county_officer, f"/households/{erased}/erasure", {"reason": "本人申请"})
        clock.set(datetime(2027, 4, 10, 2, tzinfo=UTC))
        await steps.eliminate(eliminated)

        async def projected() -> bool:
            rows = csv_rows(await export(client, county, include_eliminated="true"))
            by_id = {row["户编号"]: row for row in rows}
            return (
                len(rows) == 5
                and by_id.get(enrolled, {}).get("帮扶次数") == "1"
                and by_id.get(eliminated, {}).get("监测阶段") == "风险已消除"
                and by_id.get(erased, {}).get("个人信息状态") == "已删除"
            )

        await wait_until(projected, 60, "the monitored households in the read model")

        current = await export(client, county)
        rows = csv_rows(current)
        no_id_in_clear(current.content)
        assert [row["村代码"] for row in rows] == sorted(row["村代码"] for row in rows)
        assert eliminated not in {row["户编号"] for row in rows} and len(rows) == 4
        by_id = {row["户编号"]: row for row in rows}
        assert by_id[enrolled] == {
            "户编号": enrolled,
            "村代码": village_code(0),
            "户主姓名": "户主0",
            "户主身份证号": mask_id(citizen_id(0)),
            "户类型": "脱贫户",
            "家庭人口": "1",
            "监测阶段": "监测帮扶中",
            "监测对象类别": "脱贫不稳定户",
            "风险类型": "因病",
            "识别来源": "监测规则预警",
            "识别日期": "2026-09-28",
            "纳入日期": "2026-10-15",
            "帮扶联系人": "李四",
            "联系人单位": "某某镇人民政府",
            "联系人电话": "13800001111",
            "帮扶措施": "健康帮扶",
            "帮扶次数": "1",
            "帮扶金额(元)": "500.50",
            "风险消除日期": "",
            "个人信息状态": "",
        }
        assert (by_id[erased]["户主姓名"], by_id[erased]["户主身份证号"]) == ("", "")
        assert by_id[erased]["监测阶段"] == "待入户核实"
        flagged = [row for row in rows if row["户编号"] not in (enrolled, erased)]
        assert {row["户主姓名"] for row in flagged} == {"户主12", "户主16"}
        assert all(
            row["风险类型"] == "收入骤减或低于监测范围" and row["帮扶金额(元)"] == "0.00" for row in flagged
        )

        with_eliminated = {
            row["户编号"]: row for row in csv_rows(await export(client, county, include_eliminated="true"))
        }
        assert with_eliminated[eliminated]["监测阶段"] == "风险已消除"
        assert with_eliminated[eliminated]["风险消除日期"] == "2027-04-09"

        township = await export(client, token(settings, Role.township_officer, "150602"), format="xlsx")
        no_id_in_clear(township.content)
        assert {row["户主身份证号"] for row in xlsx_rows(township)} == {
            mask_id(citizen_id(n)) for n in (0, 12, 16)
        } | {""}
        viewer = await export(client, token(settings, Role.viewer, "15"), region="150602")
        no_id_in_clear(viewer.content)

        full = xlsx_rows(await export(client, platform, format="xlsx", region="1506"))
        assert {row["户主身份证号"]: row["户主姓名"] for row in full} == {
            citizen_id(0): "户主0",
            citizen_id(12): "户主12",
            citizen_id(16): "户主16",
            "": "",
        }
        full_csv = csv_rows(await export(client, platform))
        assert {row["户主身份证号"] for row in full_csv} == {citizen_id(n) for n in (0, 12, 16)} | {""}

        village = csv_rows(await export(client, county, region=village_code(0)))
        assert [row["户编号"] for row in village] == [enrolled]
        outside = await export(client, county, region="150603")
        assert outside.status_code == 403 and outside.headers["content-type"] == "application/problem+json"
        assert (await export(client, token(settings, Role.village_officer, "150602"))).status_code == 403
        assert (await export(client, county, region="15x")).status_code == 422
        assert (await export(client, county, format="pdf")).status_code == 422
