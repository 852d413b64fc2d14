"""The monitoring read API against the real running service: households go in and through their
procedures by the command endpoints; the list, the detail with its personal fields, the lookup
by ID number, the surveys and the history are read back once the projection has caught up.

The module's tests read one world built once (six households, see ``build_world``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import text

from services.monitoring.app import create as monitoring_app
from services.monitoring.personal import mask_id
from services.monitoring.projections import Households
from shared.auth import Role
from shared.clock import FixedClock
from shared.runtime.rebuild import rebuild_projection
from shared.service import Runtime
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.isolation import cleanup, isolated_settings
from tests.support.monitoring import annual_survey, citizen_id, household_body, quarterly_survey, village_code

CLOCK = FixedClock(datetime(2026, 11, 2, 2, tzinfo=UTC))  # 2026-11-02 in China
V1, V2, V3 = village_code(1), village_code(2), village_code(1000)  # V3 in another township
TOWNSHIP_1, TOWNSHIP_2 = V1[:9], V3[:9]
# Households by letter: the number their test data is made from, their village and status.
HOUSEHOLDS = {
    "A": (11, V1, "former_poor"),  # enrolled, contact, plan, two deliveries: monitored
    "B": (12, V1, "ordinary"),  # flagged on the urgent path: flagged
    "C": (13, V2, "ordinary"),  # flagged, rejected at verification: no stage
    "D": (14, V3, "low_income"),  # surveyed only, one survey corrected
    "E": (15, V1, "ordinary"),  # erased
    "F": (16, V2, "ordinary"),  # enrolled, eliminated, followed up, flagged again and rejected
}


@dataclass
class World:
    client: httpx.AsyncClient
    runtime: Runtime
    settings: Settings
    ids: dict[str, str]

    def headers(self, role: Role = Role.county_officer, region: str = "150602") -> dict[str, str]:
        return token(self.settings, role, region)

    async def get(
        self, path: str, *, as_role: Role = Role.county_officer, as_region: str = "150602", **params: Any
    ) -> httpx.Response:
        """GET ``path`` with ``params`` as a caller of ``as_role`` in ``as_region``."""
        return await self.client.get(path, params=params, headers=self.headers(as_role, as_region))

    async def ok(self, path: str, **params: Any) -> Any:
        response = await self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    async def listed(self, **params: Any) -> list[str]:
        """The letters of the households the list answers, in its order."""
        letters = {household_id: letter for letter, household_id in self.ids.items()}
        page = await self.ok("/households", **params)
        return [letters[item["household_id"]] for item in page["items"]]


async def call(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str], status: int = 200
) -> Any:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


async def caught_up(runtime: Runtime) -> bool:
    """The projection has applied every event of every stream in the store."""
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


async def settle(runtime: Runtime) -> None:
    await wait_until(lambda: caught_up(runtime), 30, "the households projection caught up with the store")
    async with runtime.engine.connect() as conn:
        dead = await conn.execute(
            text("SELECT count(*) FROM dead_letters WHERE consumer = :c"), {"c": Households.name}
        )
        assert dead.scalar() == 0


async def build_world(client: httpx.AsyncClient, settings: Settings) -> dict[str, str]:
    village = token(settings, Role.village_officer, "150602")
    township = token(settings, Role.township_officer, "150602")
    county = token(settings, Role.county_officer, "150602")
    ids: dict[str, str] = {}
    for letter, (n, code, status) in HOUSEHOLDS.items():
        body = household_body(n, code, status=status)
        ids[letter] = (await call(client, "/households", body, village, 201))["id"]

    def at(letter: str, step: str) -> str:
        return f"/households/{ids[letter]}/{step}"

    # A: through enrolment, then help.
    await call(
        client,
        at("A", "flags"),
        {"source": "cadre_visit", "risk_types": ["illness"], "flagged_on": "2026-09-01"},
        village,
        201,
    )
    await call(
        client,
        at("A", "verification"),
        {"verified_on": "2026-09-03", "risk_types": ["illness", "schooling"], "findings": "慢性病、学费"},
        township,
    )
    await deliberate(client, at("A", "deliberation"), "2026-09-05", village)
    await call(client, at("A", "review"), {"reviewed_on": "2026-09-12", "opinion": "同意"}, township)
    await call(
        client, at("A", "approval"), {"approved_on": "2026-09-15", "category": "unstable_after_exit"}, county
    )
    await call(
        client,
        at("A", "contact"),
        {"name": "王干部", "unit": "某镇人民政府", "phone": "13800001111", "assigned_on": "2026-09-20"},
        township,
    )
    plan = {
        "planned_on": "2026-09-21",
        "measures": [
            {"measure": "health", "risk_type": "illness", "description": "家庭医生签约"},
            {"measure": "education", "risk_type": "schooling", "description": "雨露计划"},
            {"measure": "health", "risk_type": "illness", "description": "慢病报销"},
        ],
    }
    await call(client, at("A", "assistance-plans"), plan, township, 201)
    for measure, day, amount in (("health", "2026-10-01", "500.00"), ("education", "2026-10-15", "1000.50")):
        delivery = {"measure": measure, "delivered_on": day, "description": "落实", "amount_yuan": amount}
        await call(client, at("A", "assistance-deliveries"), delivery, village, 201)

    # B: urgent path, waits for verification.
    urgent = {"source": "cadre_visit", "risk_types": ["disaster"], "flagged_on": "2026-10-20", "urgent": True}
    await call(client, at("B", "flags"), urgent, village, 201)

    # C: self-declared, rejected at verification.
    declared = {"source": "self_declared", "risk_types": ["illness"], "flagged_on": "2026-10-01"}
    await call(client, at("C", "flags"), declared, village, 201)
    await call(client, at("C", "rejection"), {"rejected_on": "2026-10-02", "reason": "收入达标"}, township)

    # D: two quarters surveyed, the second corrected.
    for survey in (
        quarterly_survey("2026Q1", 12000),
        quarterly_survey("2026Q2", 11000),
        quarterly_survey("2026Q2", 11500),
    ):
        await call(client, at("D", "surveys"), survey, village)

    # E: erased.
    await call(client, at("E", "erasure"), {"reason": "本人申请删除"}, county)

    # F: enrolled, risk eliminated, followed up; flagged again and rejected.
    await call(client, at("F", "surveys"), annual_survey(2025), village)
    flag = {"source": "cadre_visit", "risk_types": ["unstable_employment"], "flagged_on": "2026-01-05"}
    await call(client, at("F", "flags"), flag, village, 201)
    verified = {"verified_on": "2026-01-06", "risk_types": ["unstable_employment"], "findings": "务工不稳"}
    await call(client, at("F", "verification"), verified, township)
    await deliberate(client, at("F", "deliberation"), "2026-01-07", village)
    await call(client, at("F", "review"), {"reviewed_on": "2026-01-12", "opinion": "同意"}, township)
    await call(
        client, at("F", "approval"), {"approved_on": "2026-01-15", "category": "marginal_at_risk"}, county
    )
    for survey in (quarterly_survey("2026Q2", 9000), quarterly_survey("2026Q3", 9100)):
        await call(client, at("F", "surveys"), survey, village)
    await call(client, at("F", "elimination-proposal"), {"proposed_on": "2026-10-08"}, village)
    await call(
        client, at("F", "verification"), {"verified_on": "2026-10-09", "findings": "收入稳定"}, township
    )
    await deliberate(client, at("F", "deliberation"), "2026-10-10", village)
    await call(client, at("F", "review"), {"reviewed_on": "2026-10-15", "opinion": "同意"}, township)
    stage = await call(client, at("F", "approval"), {"approved_on": "2026-10-16"}, county)
    assert stage["stage"] == "eliminated"
    await call(
        client,
        at("F", "followups"),
        {"visited_on": "2026-10-20", "stable": True, "note": "稳定"},
        village,
        201,
    )
    again = {"source": "cadre_visit", "risk_types": ["illness"], "flagged_on": "2026-10-25"}
    await call(client, at("F", "flags"), again, village, 201)
    await call(client, at("F", "rejection"), {"rejected_on": "2026-10-26", "reason": "已参保"}, township)
    return ids


async def deliberate(client: httpx.AsyncClient, path: str, day: str, headers: dict[str, str]) -> None:
    body = {"deliberated_on": day, "votes_for": 20, "votes_against": 1, "notice_from": day}
    await call(client, path, body, headers)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(database_url: str, nats_url: str) -> AsyncIterator[World]:
    settings = isolated_settings(database_url, nats_url)
    try:
        app = monitoring_app(settings, clock=CLOCK)
        async with running(app) as client:
            runtime: Runtime = app.state.runtime
            ids = await build_world(client, settings)
            await settle(runtime)
            yield World(client, runtime, settings, ids)
    finally:
        await cleanup(settings)


def personal_values(n: int, members: int = 3) -> list[str]:
    """The names, ID numbers and phone ``household_body(n)`` registers, in clear."""
    ids = [citizen_id(n * 10 + k) for k in range(members)]
    names = [f"户主{n}", *(f"成员{n}-{k}" for k in range(1, members))]
    return [*ids, *names, f"1390000{n:04d}"]


# --- the list -------------------------------------------------------------------------------


async def test_the_list_shows_each_household_as_its_events_left_it(world: World) -> None:
    page = await world.ok("/households")
    assert page["total"] == 6 and (page["page"], page["page_size"]) == (1, 20)
    rows = {item["household_id"]: item for item in page["items"]}
    a, f = rows[world.ids["A"]], rows[world.ids["F"]]
    assert a == {
        "household_id": world.ids["A"],
        "village_code": V1,
        "status": "former_poor",
        "members": 3,
        "stage": "monitored",
        "flagged": False,
        "flag": {
            "flag_id": a["flag"]["flag_id"],
            "source": "cadre_visit",
            "urgent": False,
            "rules": [],
            "flagged_on": "2026-09-01",
        },
        "category": "unstable_after_exit",
        "risk_types": ["illness", "schooling"],  # verification's, not the flag's
        "enrolled_on": "2026-09-15",
        "contact_due_on": "2026-09-30",
        "contact": {
            "name": "王干部",
            "unit": "某镇人民政府",
            "phone": "13800001111",
            "assigned_on": "2026-09-20",
        },
        "measures": ["education", "health"],
        "deliveries": 2,
        "delivered_yuan": "1500.50",
        "eliminated_on": None,
        "times_eliminated": 0,
        "last_followup_on": None,
        "erased": False,
    }
    # F's risk was eliminated; the flag raised afterwards was rejected: back to `eliminated`.
    assert (f["stage"], f["category"], f["flag"], f["flagged"]) == ("eliminated", None, None, False)
    assert (f["eliminated_on"], f["times_eliminated"], f["last_followup_on"]) == (
        "2026-10-16",
        1,
        "2026-10-20",
    )
    assert f["risk_types"] == []  # the rejected flag's risks were not confirmed
    c = rows[world.ids["C"]]
    assert (c["stage"], c["flag"], c["risk_types"]) == (None, None, [])
    b = rows[world.ids["B"]]
    assert (b["stage"], b["flagged"], b["flag"]["urgent"], b["risk_types"]) == (
        "flagged",
        True,
        True,
        ["disaster"],
    )
    assert rows[world.ids["E"]]["erased"] is True
    # Ordered by village, then id; no personal field of any household anywhere in the list.
    assert [(i["village_code"], i["household_id"]) for i in page["items"]] == sorted(
        (i["village_code"], i["household_id"]) for i in page["items"]
    )
    listing = json.dumps(page, ensure_ascii=False)
    for n, *_ in HOUSEHOLDS.values():
        for value in personal_values(n):
            assert value not in listing


async def test_filters(world: World) -> None:
    assert await world.listed(stage="monitored") == ["A"]
    assert await world.listed(stage="eliminated") == ["F"]
    assert await world.listed(category="unstable_after_exit") == ["A"]
    assert await world.listed(risk_type="schooling") == ["A"]
    assert await world.listed(status="low_income") == ["D"]
    assert sorted(await world.listed(village_code=V2)) == ["C", "F"]
    assert await world.listed(flagged="true") == ["B"]
    assert sorted(await world.listed(flagged="false")) == ["A", "C", "D", "E", "F"]
    assert await world.listed(region=TOWNSHIP_2) == ["D"]
    assert await world.listed(region=TOWNSHIP_1, stage="flagged", flagged="true") == ["B"]
    assert await world.listed(village_code=V3, status="former_poor") == []


async def test_pages_partition_the_list(world: World) -> None:
    everything = await world.listed()
    pages = [await world.ok("/households", page=p, page_size=4) for p in (1, 2, 3)]
    assert [p["total"] for p in pages] == [6, 6, 6]
    assert [len(p["items"]) for p in pages] == [4, 2, 0]
    assert [i["household_id"] for p in pages for i in p["items"]] == [world.ids[x] for x in everything]


async def test_bad_filters_are_refused(world: World) -> None:
    for params in ({"stage": "sleeping"}, {"page_size": 0}, {"region": "15x"}, {"colour": "red"}):
        response = await world.get("/households", **params)
        assert response.status_code == 422, params


# --- region and role ------------------------------------------------------------------------


async def test_a_township_reads_its_own_households_only(world: World) -> None:
    other = {"as_role": Role.township_officer, "as_region": TOWNSHIP_2}
    page = await world.ok("/households", **other)
    assert [i["household_id"] for i in page["items"]] == [world.ids["D"]] and page["total"] == 1
    assert (await world.get("/households", region=TOWNSHIP_1, **other)).status_code == 403
    assert (await world.get("/households", region="15", **other)).status_code == 403
    for path in ("", "/surveys", "/history"):
        response = await world.get(f"/households/{world.ids['A']}{path}", **other)
        assert response.status_code == 403, path
        assert response.json()["title"] == "Outside your region"
    assert (await world.get(f"/households/{world.ids['D']}", **other)).status_code == 200
    lookup = await world.client.post(
        "/households/lookup",
        json={"id_number": citizen_id(110)},
        headers=world.headers(Role.township_officer, TOWNSHIP_2),
    )
    assert lookup.status_code == 403


async def test_roles_outside_monitoring_read_nothing(world: World) -> None:
    for role in (Role.enterprise, Role.federation_officer):
        assert (await world.get("/households", as_role=role)).status_code == 403
        assert (await world.get(f"/households/{world.ids['A']}", as_role=role)).status_code == 403
    assert (await world.get("/households", as_role=Role.viewer)).status_code == 200
    assert (await world.client.get("/households")).status_code == 401


# --- the detail -----------------------------------------------------------------------------


async def test_the_detail_masks_id_numbers_and_the_phone_except_for_the_platform(world: World) -> None:
    path = f"/households/{world.ids['A']}"
    masked = await world.ok(path)
    assert masked["stage"] == "monitored" and masked["erased"] is False
    assert masked["head_name"] == "户主11"
    assert masked["phone"] == "139****0011"
    assert [(m["member_no"], m["name"], m["id_number"]) for m in masked["member_details"]] == [
        (1, "户主11", mask_id(citizen_id(110))),
        (2, "成员11-1", mask_id(citizen_id(111))),
        (3, "成员11-2", mask_id(citizen_id(112))),
    ]
    assert masked["member_details"][1]["chronic_illness"] is True
    text_of = json.dumps(masked, ensure_ascii=False)
    assert citizen_id(110) not in text_of and "13900000011" not in text_of and "sealed" not in text_of

    full = await world.ok(path, as_role=Role.platform, as_region="15")
    assert [m["id_number"] for m in full["member_details"]] == [citizen_id(110 + k) for k in range(3)]
    assert full["phone"] == "13900000011"
    assert {k: v for k, v in full.items() if k not in ("member_details", "phone")} == {
        k: v for k, v in masked.items() if k not in ("member_details", "phone")
    }


async def test_an_erased_household_reads_as_erased_never_as_ciphertext(world: World) -> None:
    detail = await world.ok(f"/households/{world.ids['E']}", as_role=Role.platform, as_region="15")
    assert detail["erased"] is True
    assert (detail["head_name"], detail["phone"]) == (None, None)
    assert [(m["name"], m["id_number"]) for m in detail["member_details"]] == [(None, None)] * 3
    assert [m["relation"] for m in detail["member_details"]] == ["head", "spouse", "child"]
    text_of = json.dumps(detail, ensure_ascii=False)
    assert '"v1.' not in text_of and "sealed" not in text_of
    for value in personal_values(15):
        assert value not in text_of
    # The ID index forgot its numbers too.
    response = await world.client.post(
        "/households/lookup", json={"id_number": citizen_id(150)}, headers=world.headers()
    )
    assert response.status_code == 404


async def test_an_unknown_household_is_not_found(world: World) -> None:
    for path in ("", "/surveys", "/history"):
        response = await world.get(f"/households/0193f7c2-0000-7000-8000-000000000000{path}")
        assert response.status_code == 404, path


# --- lookup ---------------------------------------------------------------------------------


async def test_lookup_by_any_members_id_number(world: World) -> None:
    async def lookup(id_number: str) -> httpx.Response:
        return await world.client.post(
            "/households/lookup", json={"id_number": id_number}, headers=world.headers()
        )

    assert (await lookup(citizen_id(110))).json() == {"household_id": world.ids["A"]}
    assert (await lookup(citizen_id(142))).json() == {"household_id": world.ids["D"]}
    assert (await lookup(citizen_id(999_990))).status_code == 404
    wrong_check = citizen_id(110)[:-1] + ("0" if citizen_id(110)[-1] != "0" else "1")
    assert (await lookup(wrong_check)).status_code == 422
    assert (
        await world.client.post(
            "/households/lookup", json={"id_number": citizen_id(110), "x": 1}, headers=world.headers()
        )
    ).status_code == 422


# --- surveys and history --------------------------------------------------------------------


async def test_surveys_hold_the_latest_correction_of_each_period(world: World) -> None:
    d = await world.ok(f"/households/{world.ids['D']}/surveys")
    assert [(s["period"], s["kind"], s["quarterly"]["per_capita_net_income_yuan"]) for s in d["surveys"]] == [
        ("2026Q1", "quarterly", "12000"),
        ("2026Q2", "quarterly", "11500"),
    ]
    f = await world.ok(f"/households/{world.ids['F']}/surveys")
    assert [(s["period"], s["kind"]) for s in f["surveys"]] == [
        ("2025", "annual"),
        ("2026Q2", "quarterly"),
        ("2026Q3", "quarterly"),
    ]
    assert f["surveys"][0]["annual"]["housing_safe"] is True and f["surveys"][0]["quarterly"] is None
    assert (await world.ok(f"/households/{world.ids['A']}/surveys"))["surveys"] == []


async def test_the_history_is_a_timeline_without_sealed_fields(world: World) -> None:
    history = await world.ok(f"/households/{world.ids['A']}/history", as_role=Role.viewer)
    events = history["events"]
    assert [e["type"].split(".")[1] for e in events] == [
        "household_registered",
        "household_flagged",
        "household_verified",
        "household_deliberated",
        "household_reviewed",
        "household_enrolled",
        "contact_assigned",
        "assistance_planned",
        "assistance_delivered",
        "assistance_delivered",
    ]
    assert [e["stream_version"] for e in events] == list(range(1, 11))
    assert [e["actor_role"] for e in events[:3]] == ["village_officer", "village_officer", "township_officer"]
    registered = events[0]["data"]
    assert registered["village_code"] == V1 and len(registered["members"]) == 3
    assert registered["members"][0]["relation"] == "head"
    text_of = json.dumps(history, ensure_ascii=False)
    assert "sealed" not in text_of and '"v1.' not in text_of
    for value in personal_values(11):
        assert value not in text_of


# --- rebuild --------------------------------------------------------------------------------

SNAPSHOTS = {
    "monitoring_households": "SELECT * FROM monitoring_households ORDER BY household_id",
    "monitoring_surveys": "SELECT * FROM monitoring_surveys ORDER BY household_id, period",
}


async def snapshot(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    async with runtime.engine.connect() as conn:
        return {
            table: [tuple(r) for r in (await conn.execute(text(sql))).all()]
            for table, sql in SNAPSHOTS.items()
        }


async def test_the_rebuilt_read_model_equals_the_live_one(world: World) -> None:
    live = await snapshot(world.runtime)
    assert [len(live[t]) for t in SNAPSHOTS] == [6, 5]
    replayed = await rebuild_projection(Households.name, world.settings)
    async with world.runtime.store.pool.acquire() as conn:
        assert replayed == await conn.fetchval("SELECT count(*) FROM events")
    await settle(world.runtime)
    assert await snapshot(world.runtime) == live
