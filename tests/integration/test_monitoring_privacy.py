"""Personal data of households, on real PostgreSQL and NATS.

- Erasure (crypto-shredding): the key and the ID index rows go, every event stays, the sealed
  fields read as nothing through any key, API, export or replay, and every count stays the same.
- No citizen ID number (nor name, nor phone) in clear in any published event, log line, stored
  row, or export for a non-platform role: a scenario through a real service process, then a scan.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import pytest
from fastapi import FastAPI

from services.monitoring import keys, personal
from services.monitoring.app import create as monitoring_app
from services.monitoring.config import monitoring_config
from services.monitoring.domain import Household, household_stream
from services.monitoring.projections import Households
from shared.auth import Role
from shared.clock import FixedClock, SystemClock, china_date
from shared.db.engine import asyncpg_dsn
from shared.events.subjects import stream_for
from shared.eventstore.repository import rebuild
from shared.runtime.rebuild import rebuild_projection
from shared.settings import Settings
from tests.support.apps import ServiceProcess, running, token, wait_until
from tests.support.desk import START, Desk, noon_in_china
from tests.support.monitoring import annual_survey, citizen_id, household_body, quarterly_survey

COUNTY = "150602"


def body_of(n: int, members: int = 3) -> dict[str, Any]:
    """A household whose names are its own (no name is a part of another's)."""
    body = household_body(n, members=members)
    for k, member in enumerate(body["members"]):
        member["name"] = f"隐私{n:02d}甲{k}乙"
    return body


def personal_strings(body: dict[str, Any]) -> list[str]:
    return [
        *(m["name"] for m in body["members"]),
        *(m["id_number"].upper() for m in body["members"]),
        *([body["phone"]] if body.get("phone") else []),
    ]


def forms(value: str) -> set[str]:
    """A value as it would show in text: itself, and JSON-escaped (``\\uXXXX``) for the names."""
    return {value, value.lower(), json.dumps(value)[1:-1]}


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    return [s for s in secrets if any(form in text for form in forms(s))]


def has_route(app: FastAPI, method: str, path: str) -> bool:
    return method.lower() in app.openapi()["paths"].get(path, {})


async def caught_up(conn: asyncpg.Connection) -> bool:
    """Every stream's last event is behind the projection's checkpoint."""
    behind = await conn.fetchval(
        """
        SELECT count(*) FROM (SELECT stream_id, max(stream_version) AS v FROM events GROUP BY stream_id) e
        WHERE NOT EXISTS (
            SELECT 1 FROM consumer_checkpoints c WHERE c.stream_id = e.stream_id AND c.version >= e.v
        )
        """
    )
    return int(behind) == 0


# -- erasure -----------------------------------------------------------------------------------------


@pytest.fixture
async def desk(settings: Settings) -> AsyncIterator[Desk]:
    clock = FixedClock(noon_in_china(START))
    app = monitoring_app(settings, clock)
    async with running(app) as client:
        yield Desk(app, client, clock, settings)


async def statistics(desk: Desk) -> dict[str, int]:
    """The counts a report shows: households by stage, category, status and risk type; what-if's."""
    filters: list[dict[str, str]] = [{}]
    filters += [{"stage": s} for s in ("flagged", "monitored", "verified", "eliminated")]
    filters += [
        {"category": c} for c in ("unstable_after_exit", "marginal_at_risk", "sudden_severe_hardship")
    ]
    filters += [{"status": s} for s in ("former_poor", "ordinary", "low_income")]
    filters += [{"risk_type": "illness"}, {"risk_type": "income_drop"}, {"flagged": "true"}]
    counts = {}
    for params in filters:
        response = await desk.client.get("/households", params=params, headers=desk.tokens[Role.viewer])
        assert response.status_code == 200, response.text
        counts[json.dumps(params)] = response.json()["total"]
    # what a proposed line would have flagged, from the stored surveys
    proposal = {"from_period": "2025Q4", "to_period": "2025Q4", "monitoring_line": "9500"}
    response = await desk.client.post("/risk-rules/what-if", json=proposal, headers=desk.tokens[Role.viewer])
    assert response.status_code == 200, response.text
    [quarter] = response.json()["quarters"]
    for name in ("surveyed", "flagged_proposed", "flagged_current", "newly_flagged"):
        counts[f"what-if {name}"] = quarter[name]
    return counts


async def test_an_erasure_leaves_the_events_and_the_counts_and_nothing_personal(desk: Desk) -> None:
    bodies = {n: body_of(n) for n in range(1, 6)}
    ids = {n: await desk.ok("/households", body, Role.village_officer, 201) for n, body in bodies.items()}
    hid = {n: created["id"] for n, created in ids.items()}
    for n in bodies:
        await desk.survey(hid[n], annual_survey(2025))
        await desk.survey(hid[n], quarterly_survey("2025Q4", 7000 if n <= 3 else 9000))  # 1-3 flagged
    for n in (1, 2):
        await desk.verify(hid[n])
        await desk.deliberate(hid[n])
        await desk.review(hid[n])
        await desk.approve(hid[n])
    plan = {
        "planned_on": desk.next_day(),
        "measures": [{"measure": "health", "risk_type": "illness", "description": "家庭医生签约"}],
    }
    await desk.ok(f"/households/{hid[1]}/assistance-plans", plan, Role.township_officer, 201)
    # a second generation of sealed members: a child born
    update = {k: v for k, v in body_of(1, members=4).items() if k != "village_code"}
    bodies[1] = {**bodies[1], "members": update["members"]}
    updated = await desk.client.put(
        f"/households/{hid[1]}/members", json=update, headers=desk.tokens[Role.village_officer]
    )
    assert updated.status_code == 200, updated.text
    assert updated.json() == {
        "household_id": hid[1],
        "stage": "monitored",
        "events": ["monitoring.household_members_updated"],
    }

    erased_id = uuid.UUID(hid[1])
    secrets = personal_strings(bodies[1])
    masked = [personal.mask_id(m["id_number"]) for m in bodies[1]["members"]]
    runtime = desk.app.state.runtime
    masters = monitoring_config(desk.settings).masters
    pool: asyncpg.Pool = runtime.store.pool

    async with pool.acquire() as conn:
        await wait_until(lambda: caught_up(conn), 60, "the read model to catch up")
    before_stats = await statistics(desk)
    assert before_stats['{"stage": "monitored"}'] == 2 and before_stats['{"stage": "flagged"}'] == 1
    assert before_stats["what-if surveyed"] == 5 and before_stats["what-if flagged_proposed"] == 5
    stream_before = [e.model_dump_json() for e in await runtime.store.load(household_stream(erased_id))]
    async with pool.acquire() as conn:
        total_before = await conn.fetchval("SELECT count(*) FROM events")
        key = (await keys.fetch_keys(conn, masters, [erased_id]))[erased_id]
    sealed_values = sealed_fields(await runtime.store.load(household_stream(erased_id)))
    assert len(sealed_values) == 2 + 3 + 4  # two phones, three then four members
    readable = [personal.unseal(key, erased_id, value) for value in sealed_values]  # before: readable
    assert {
        "name": bodies[1]["members"][0]["name"],
        "id_number": bodies[1]["members"][0]["id_number"],
    } in readable

    # the API shows them before, to the platform in full and masked to the county
    head_id = bodies[1]["members"][0]["id_number"]
    assert has_route(desk.app, "GET", "/households/{household_id}")
    full = await desk.client.get(f"/households/{erased_id}", headers=desk.tokens[Role.platform])
    assert full.status_code == 200 and head_id in full.text
    county = await desk.client.get(f"/households/{erased_id}", headers=desk.tokens[Role.county_officer])
    assert head_id not in county.text and masked[0] in county.text
    exports_before = await exports(desk)

    erased = await desk.ok(
        f"/households/{erased_id}/erasure", {"reason": "本人申请删除个人信息"}, Role.county_officer
    )
    assert erased == {
        "household_id": hid[1],
        "stage": "monitored",
        "events": ["monitoring.personal_data_erased"],
    }
    again = await desk.ok(f"/households/{erased_id}/erasure", {"reason": "again"}, Role.county_officer)
    assert again == {"household_id": hid[1], "stage": "monitored", "events": []}

    async with pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM household_keys WHERE household_id = $1", erased_id) == 0
        )
        assert (
            await conn.fetchval("SELECT count(*) FROM person_index WHERE household_id = $1", erased_id) == 0
        )
        assert await conn.fetchval("SELECT count(*) FROM household_keys") == 4
        assert await conn.fetchval("SELECT count(*) FROM events") == total_before + 1
        others = await keys.fetch_keys(conn, masters, [uuid.UUID(h) for h in hid.values()])
    assert erased_id not in others and len(others) == 4

    # every event is still there, unchanged, and one more says what happened
    stored = await runtime.store.load(household_stream(erased_id))
    assert [e.model_dump_json() for e in stored[:-1]] == stream_before
    assert stored[-1].type == "monitoring.personal_data_erased"
    # no key that is left reads its sealed fields
    for value in sealed_values:
        with pytest.raises(personal.Unreadable):
            personal.unseal(None, erased_id, value)
        for other_key in others.values():
            with pytest.raises(personal.Unreadable):
                personal.unseal(other_key, erased_id, value)
    for n in (2, 3, 4, 5):  # the other households read as before
        other_id = uuid.UUID(hid[n])
        [registered] = [
            e for e in await runtime.store.load(household_stream(other_id)) if "registered" in e.type
        ]
        head = personal.unseal(others[other_id], other_id, registered.data["members"][0]["sealed"])
        assert head["id_number"] == bodies[n]["members"][0]["id_number"]

    # replay: the household as it was, its personal data gone
    replayed = rebuild(Household, stored)
    assert (replayed.stage, replayed.category, replayed.erased) == ("monitored", "unstable_after_exit", True)
    assert len(replayed.members) == 4 and replayed.version == len(stored)

    # the ID numbers find nothing; the household's procedure goes on, its members cannot change
    alert = {"department": "health", "risk_types": ["illness"], "alerted_on": desk.today.isoformat()}
    for member in bodies[1]["members"]:
        lost = await desk.post(
            "/department-alerts", {**alert, "id_number": member["id_number"]}, Role.platform
        )
        assert lost.status_code == 404
    no_update = await desk.client.put(
        f"/households/{erased_id}/members", json=update, headers=desk.tokens[Role.village_officer]
    )
    assert no_update.status_code == 409 and no_update.json()["rule"] == "personal_data_erased"

    # through the read API: no personal field; every count as before
    async with pool.acquire() as conn:
        await wait_until(lambda: caught_up(conn), 60, "the read model to catch up")
    assert await statistics(desk) == before_stats
    assert has_route(desk.app, "GET", "/households/{household_id}")
    for role in (Role.platform, Role.county_officer, Role.village_officer, Role.viewer):
        detail = await desk.client.get(f"/households/{erased_id}", headers=desk.tokens[role])
        assert detail.status_code == 200, detail.text
        assert leaks(detail.text, secrets + masked) == []
        found = detail.json()
        assert found["erased"] is True and found["head_name"] is None and found["phone"] is None
        assert found["stage"] == "monitored" and found["category"] == "unstable_after_exit"
        assert len(found["member_details"]) == 4
        assert all(m["name"] is None and m["id_number"] is None for m in found["member_details"])
    listed = await desk.client.get(
        "/households", params={"page_size": 50}, headers=desk.tokens[Role.platform]
    )
    assert leaks(listed.text, secrets + masked) == []
    [row] = [item for item in listed.json()["items"] if item["household_id"] == str(erased_id)]
    assert row["erased"] is True and row["members"] == 4
    assert has_route(desk.app, "POST", "/households/lookup")
    for member in bodies[1]["members"]:
        lookup = await desk.client.post(
            "/households/lookup",
            json={"id_number": member["id_number"]},
            headers=desk.tokens[Role.platform],
        )
        assert lookup.status_code == 404
    kept = await desk.client.post(
        "/households/lookup",
        json={"id_number": bodies[2]["members"][1]["id_number"]},
        headers=desk.tokens[Role.county_officer],
    )
    assert kept.status_code == 200 and kept.json()["household_id"] == hid[2]
    assert has_route(desk.app, "GET", "/households/{household_id}/history")
    history = await desk.client.get(f"/households/{erased_id}/history", headers=desk.tokens[Role.platform])
    assert history.status_code == 200 and len(history.json()["events"]) == len(stored)
    assert leaks(history.text, secrets + masked) == [] and "v1." not in history.text
    exports_after = await exports(desk)
    for role, (before, after) in {r: (exports_before[r], exports_after[r]) for r in exports_after}.items():
        assert len(after) == len(before), role  # the same households, row for row
        assert leaks("\n".join(",".join(row) for row in after), secrets + masked) == [], role
        [row] = [r for r in after if r[0] == str(erased_id)]
        assert "已删除" in row and row[2] == row[3] == ""
        [was] = [r for r in before if r[0] == str(erased_id)]
        assert row[4:-1] == was[4:-1], role  # every other column as it was
    assert any(head_id in row for row in exports_before[Role.platform])
    assert any(masked[0] in row for row in exports_before[Role.county_officer])

    # the read model replayed from the published stream: the same counts, the household erased
    async with pool.acquire() as conn:
        events = int(await conn.fetchval("SELECT count(*) FROM events"))

    async def all_published() -> bool:
        stream = stream_for(desk.settings, "monitoring").name
        return int((await runtime.js.stream_info(stream)).state.messages) == events

    await wait_until(all_published, 60, "the relay to publish every event")
    assert await rebuild_projection(Households.name, desk.settings) == events
    async with pool.acquire() as conn:
        await wait_until(lambda: caught_up(conn), 60, "the rebuilt read model")
    assert await statistics(desk) == before_stats
    detail = await desk.client.get(f"/households/{erased_id}", headers=desk.tokens[Role.platform])
    assert detail.json()["erased"] is True and leaks(detail.text, secrets + masked) == []

    # the household's procedure goes on after the erasure
    delivery = {"measure": "health", "delivered_on": desk.next_day(), "description": "签约服务"}
    await desk.ok(f"/households/{erased_id}/assistance-deliveries", delivery, Role.village_officer, 201)


def sealed_fields(envelopes: Iterable[Any]) -> list[str]:
    found: list[str] = []
    for envelope in envelopes:
        data = envelope.data
        if "sealed" in data:
            found.append(data["sealed"])
        found += [m["sealed"] for m in data.get("members", [])]
    return found


async def exports(desk: Desk) -> dict[Role, list[list[str]]]:
    """The CSV export's rows by role."""
    assert has_route(desk.app, "GET", "/exports/monitored-households")
    result = {}
    for role in (Role.platform, Role.county_officer):
        response = await desk.client.get("/exports/monitored-households", headers=desk.tokens[role])
        assert response.status_code == 200, response.text
        result[role] = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]
    return result


# -- no ID number in clear anywhere ------------------------------------------------------------------

LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "out": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    },
    "root": {"level": "DEBUG", "handlers": ["out"]},
}


class Officers:
    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.tokens = {role: token(settings, role, COUNTY) for role in Role}

    async def send(
        self, method: str, path: str, role: Role, body: Any = None, status: int | None = None
    ) -> Any:
        response = await self.client.request(method, path, json=body, headers=self.tokens[role])
        if status is not None:
            assert response.status_code == status, f"{method} {path}: {response.text}"
        return response


async def test_no_id_number_in_clear_in_events_logs_rows_or_masked_exports(
    settings: Settings, tmp_path: Path
) -> None:
    config = tmp_path / "logging.json"
    config.write_text(json.dumps(LOG_CONFIG))
    service = ServiceProcess(
        "monitoring", settings, tmp_path, UVICORN_LOG_CONFIG=str(config), UVICORN_LOG_LEVEL="debug"
    )
    await service.start()
    today = china_date(SystemClock().now())
    year = today.year - 1

    def day(before_today: int) -> str:
        return (today - timedelta(days=before_today)).isoformat()

    bodies = [body_of(n) for n in range(1, 5)]
    bodies[1]["members"][2]["id_number"] = citizen_id(5).lower()  # ends in x: sent in lower case
    assert citizen_id(5).endswith("X")
    renewed = body_of(3, members=4)
    renewed["members"][3]["id_number"] = citizen_id(9_001)
    invalid = bodies[0]["members"][0]["id_number"][:17] + "Y"
    wrong_check = citizen_id(9_002)[:17] + ("0" if citizen_id(9_002)[17] != "0" else "1")
    unknown = citizen_id(9_003)
    secrets = [s for body in [*bodies, renewed] for s in personal_strings(body)] + [
        invalid,
        wrong_check,
        unknown,
    ]
    id_numbers = [m["id_number"].upper() for body in [*bodies, renewed] for m in body["members"]]

    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            desk = Officers(client, settings)
            hid = []
            for body in bodies:
                created = await desk.send("POST", "/households", Role.village_officer, body, 201)
                hid.append(created.json()["id"])
            for h in hid:
                await desk.send(
                    "POST", f"/households/{h}/surveys", Role.village_officer, annual_survey(year), 200
                )
            below = await desk.send(
                "POST",
                f"/households/{hid[0]}/surveys",
                Role.village_officer,
                quarterly_survey(f"{year}Q4", 100),
                200,
            )
            assert below.json()["flag"] is not None
            # the first household through enrolment, dated in the past (the service's clock is real)
            steps = [
                ("verification", Role.township_officer, {"verified_on": day(20), "risk_types": ["illness"]}),
                ("deliberation", Role.village_officer, {"deliberated_on": day(19), "votes_for": 5}),
                ("review", Role.township_officer, {"reviewed_on": day(10), "opinion": "无异议"}),
                ("approval", Role.county_officer, {"approved_on": day(9), "category": "unstable_after_exit"}),
            ]
            for path, role, body in steps:
                extra = {"findings": "属实"} if path == "verification" else {}
                if path == "deliberation":
                    extra = {"votes_against": 0, "notice_from": day(19)}
                await desk.send("POST", f"/households/{hid[0]}/{path}", role, {**body, **extra}, 200)
            contact = {"name": "帮扶干部", "unit": "镇政府", "assigned_on": day(8)}
            await desk.send("POST", f"/households/{hid[0]}/contact", Role.township_officer, contact, 200)
            # a department alert by an ID number (given in lower case), and refusals that name numbers
            alert = {"department": "civil_affairs", "risk_types": ["illness"], "alerted_on": day(1)}
            found = await desk.send(
                "POST",
                "/department-alerts",
                Role.platform,
                {**alert, "id_number": citizen_id(5).lower()},
                201,
            )
            assert found.json()["household_id"] == hid[1]
            bad = body_of(9)
            bad["members"][0]["id_number"] = invalid
            twice = body_of(8)
            twice["members"][1]["id_number"] = bodies[2]["members"][0]["id_number"]
            refusals = [
                await desk.send(
                    "POST", "/department-alerts", Role.platform, {**alert, "id_number": unknown}, 404
                ),
                await desk.send(
                    "POST", "/department-alerts", Role.platform, {**alert, "id_number": wrong_check}, 422
                ),
                await desk.send("POST", "/households", Role.village_officer, bad, 422),
                await desk.send("POST", "/households", Role.village_officer, twice, 409),
            ]
            for refused in refusals:  # a refusal names the field, never the number
                assert leaks(refused.text, secrets) == [], refused.text
            # members change (a new number), a lookup, an erasure
            update = {k: v for k, v in renewed.items() if k != "village_code"}
            await desk.send("PUT", f"/households/{hid[2]}/members", Role.village_officer, update, 200)
            await desk.send(
                "POST", f"/households/{hid[3]}/erasure", Role.county_officer, {"reason": "申请"}, 200
            )
            paths = set((await client.get("/openapi.json")).json()["paths"])
            assert {"/households", "/households/lookup", "/households/{household_id}"} <= paths
            assert "/exports/monitored-households" in paths
            await desk.send("POST", "/households/lookup", Role.county_officer, {"id_number": unknown}, 404)
            await desk.send(
                "POST",
                "/households/lookup",
                Role.viewer,
                {"id_number": renewed["members"][3]["id_number"]},
                200,
            )

            async def listed() -> bool:
                response = await desk.send("GET", "/households", Role.viewer, status=200)
                return bool(response.json()["total"] == 4)

            await wait_until(listed, 60, "the household list")
            masked_details = []
            for role in (Role.county_officer, Role.township_officer, Role.viewer):
                for h in hid:
                    masked_details.append((await desk.send("GET", f"/households/{h}", role, status=200)).text)
            in_full = await desk.send("GET", f"/households/{hid[0]}", Role.platform, status=200)
            assert bodies[0]["members"][0]["id_number"] in in_full.text
            masked_exports: list[str] = []
            for role in (Role.county_officer, Role.township_officer, Role.viewer):
                for fmt in ("csv", "xlsx"):
                    response = await desk.send(
                        "GET",
                        f"/exports/monitored-households?format={fmt}&include_eliminated=true",
                        role,
                        None,
                        200,
                    )
                    masked_exports.append(export_text(response.content, fmt))
            response = await desk.send("GET", "/exports/monitored-households", Role.platform, None, 200)
            clear_export = export_text(response.content, "csv")
        # (a) every message of the service's stream, once the relay has published every stored event
        conn = await asyncpg.connect(asyncpg_dsn(settings.service_database_url("monitoring")))
        nc = await nats.connect(settings.nats_url)
        stored = int(await conn.fetchval("SELECT count(*) FROM events"))
        js = nc.jetstream()
        name = stream_for(settings, "monitoring").name

        async def all_published() -> bool:
            return int((await js.stream_info(name)).state.messages) >= stored

        await wait_until(all_published, 60, "the relay to publish every event")
    finally:
        service.stop()

    try:
        info = await js.stream_info(name)
        assert info.state.messages == stored == 18
        published = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(name, seq)
            published.append(message.data.decode() + json.dumps(dict(message.headers or {})))
        assert sum("household_registered" in m for m in published) == 4
        for text in published:
            assert leaks(text, secrets) == [], text[:300]

        # (c) every row of every table of the service's database (events, keys, index, read models)
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        assert {"events", "household_keys", "person_index", "monitoring_households"} <= {t[0] for t in tables}
        for table in tables:
            rows = await conn.fetch(f'SELECT t::text FROM "{table[0]}" t')
            dumped = "\n".join(r[0] for r in rows)
            assert leaks(dumped, secrets) == [], table[0]
    finally:
        await nc.close()
        await conn.close()

    # (b) the log of the service, written at DEBUG
    logs = service.log_path.read_text(errors="replace")  # the child has exited
    assert "DEBUG" in logs and "INFO" in logs
    assert leaks(logs, secrets) == []

    # (d) exports: ID numbers masked for everyone but the platform, which sees those it exchanges
    # (names are a county ledger's business; a number is not)
    for text in masked_exports:
        assert leaks(text, id_numbers) == []
        assert personal.mask_id(bodies[0]["members"][0]["id_number"]) in text
    assert bodies[0]["members"][0]["id_number"] in clear_export
    # and so is a household's detail, ID numbers and the phone masked
    phones = [body["phone"] for body in bodies]
    for text in masked_details:
        assert leaks(text, id_numbers + phones) == []
    assert personal.mask_id(bodies[0]["members"][1]["id_number"]) in masked_details[0]


def export_text(content: bytes, fmt: str) -> str:
    if fmt == "csv":
        return content.decode("utf-8-sig")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    assert sheet is not None
    return "\n".join(
        ",".join("" if c is None else str(c) for c in row) for row in sheet.iter_rows(values_only=True)
    )
