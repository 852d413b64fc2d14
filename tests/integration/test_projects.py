"""Projects through the pairing API on real PostgreSQL and NATS: register, invest, reach, flag
overdue (once, whoever checks), complete; and every refusal answered without writing anything."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
from sqlalchemy import text

from services.pairing.app import create as pairing_app
from services.pairing.projects.scheduler import check_overdue
from shared.auth import Role
from shared.clock import FixedClock
from shared.runtime.rebuild import rebuild_projection
from shared.service import Runtime
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.pairing import village_code
from tests.support.projects import pair, project_body, tranche

PROBLEM = "application/problem+json"
VILLAGE, OTHER_VILLAGE = village_code(1), village_code(2)
OVERDUE = "pairing.project_milestone_overdue"
# 2027-01-10 10:00 in China.
START = datetime(2027, 1, 10, 2, 0, tzinfo=UTC)
SLOW_SCHEDULER = {"milestone_check_interval_s": 3600.0}  # runs once at start, then leaves it to us


COMPLETION = {
    "completed_on": "2027-09-01",
    "assets": [
        {
            "kind": "operating",
            "description": "牛舍 12 栋",
            "value_yuan": "3200000.00",
            "handed_to": "村集体",
            "handed_over_on": "2030-09-01",
        },
        {
            "kind": "public_welfare",
            "description": "进场道路",
            "value_yuan": "800000.00",
            "handed_to": "村集体",
        },
        {
            "kind": "household",
            "description": "能繁母牛 60 头",
            "value_yuan": "1000000.00",
            "handed_to": "60 户",
        },
    ],
}


def assert_problem(
    response: httpx.Response, status: int, rule: str | None = None, field: str | None = None
) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    if rule is not None:
        assert problem["rule"] == rule, problem
        assert problem["type"].endswith("/" + rule)
    if field is not None:
        assert field in [e["field"] for e in problem["errors"]], problem
    return problem


def runtime_of(app: Any) -> Runtime:
    return app.state.runtime  # type: ignore[no-any-return]


async def event_count(runtime: Runtime) -> int:
    async with runtime.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM events"))).scalar_one())


async def overdue_events(runtime: Runtime, project_id: str) -> list[dict[str, Any]]:
    return [e.data for e in await runtime.store.load(f"project-{project_id}") if e.type == OVERDUE]


async def schedule(runtime: Runtime, project_id: str) -> list[tuple[str, date]]:
    """The open milestones the scheduler's projection holds for the project."""
    sql = text(
        "SELECT milestone_id, due_on FROM project_milestone_schedule WHERE project_id = :p ORDER BY due_on"
    )
    async with runtime.engine.connect() as conn:
        return [(m, d) for m, d in await conn.execute(sql, {"p": uuid.UUID(project_id)})]


def schedule_is(runtime: Runtime, project_id: str, expected: list[tuple[str, date]]) -> Callable[[], Any]:
    async def check() -> bool:
        return await schedule(runtime, project_id) == expected

    return check


async def test_a_project_from_registration_to_completion(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(**SLOW_SCHEDULER)
    officer = token(settings, Role.federation_officer, "150602")
    county = token(settings, Role.county_officer, "150602")
    clock = FixedClock(START)
    app = pairing_app(settings, clock)
    async with running(app) as client:
        runtime = runtime_of(app)
        paired = await pair(client, officer)

        created = await client.post("/projects", json=project_body(paired), headers=officer)
        assert created.status_code == 201, created.text
        project_id = created.json()["id"]
        assert uuid.UUID(project_id).version == 7
        base = f"/projects/{project_id}"

        view = (await client.get(base, headers=officer)).json()
        assert view["status"] == "in_progress" and view["version"] == 1
        assert view["village_code"] == VILLAGE and view["enterprise_ids"] == paired.enterprises
        assert view["agreement_ids"] == [paired.agreement]
        assert view["budget_yuan"] == "5000000.00" and view["invested_yuan"] == "0.00"
        assert [s["percent"] for s in view["shareholding"]] == ["10", "10", "41", "39"]
        assert [(m["milestone_id"], m["status"]) for m in view["milestones"]] == [
            ("design", "planned"),
            ("built", "planned"),
        ]

        first = await client.post(
            f"{base}/investments", json=tranche("2000000.00", "2027-02-01"), headers=officer
        )
        assert first.status_code == 201, first.text
        second = await client.post(
            f"{base}/investments", json=tranche("1450000.00", "2027-03-01", "connection"), headers=county
        )
        assert second.status_code == 201, second.text
        assert [(t["tranche"], t["amount_yuan"]) for t in second.json()["tranches"]] == [
            (1, "2000000.00"),
            (2, "1450000.00"),
        ]
        assert second.json()["invested_yuan"] == "3450000.00"

        reached = await client.post(
            f"{base}/milestones/design/reached",
            json={"reached_on": "2027-03-20", "evidence_ref": "设计批复 2027-17"},
            headers=officer,
        )
        assert reached.status_code == 201, reached.text
        design = reached.json()["milestones"][0]
        assert (design["status"], design["reached_on"], design["evidence_ref"]) == (
            "reached",
            "2027-03-20",
            "设计批复 2027-17",
        )

        # The schedule projection catches up: only "built" is still open.
        await wait_until(
            schedule_is(runtime, project_id, [("built", date(2027, 6, 30))]), 10, "the schedule projected"
        )

        # 23:59:59 on 6-30 in China: not yet overdue.
        clock.set(datetime(2027, 6, 30, 15, 59, 59, tzinfo=UTC))
        early = await client.post("/projects/overdue-check", headers=county)
        assert early.status_code == 200, early.text
        assert early.json() == {"checked_on": "2027-06-30", "flagged": []}

        # Midnight in China: overdue, flagged by the first check and by no other.
        clock.set(datetime(2027, 6, 30, 16, 0, tzinfo=UTC))
        checked = await client.post(
            "/projects/overdue-check", headers={**county, "x-correlation-id": "check-0701"}
        )
        assert checked.json() == {
            "checked_on": "2027-07-01",
            "flagged": [
                {
                    "project_id": project_id,
                    "village_code": VILLAGE,
                    "milestone_id": "built",
                    "due_on": "2027-06-30",
                    "detected_on": "2027-07-01",
                }
            ],
        }
        again = await client.post("/projects/overdue-check", headers=county)
        assert again.json()["flagged"] == []
        assert (await check_overdue(runtime)).flagged == []
        stored = await runtime.store.load(f"project-{project_id}")
        assert [e.data["milestone_id"] for e in stored if e.type == OVERDUE] == ["built"]
        flag = next(e for e in stored if e.type == OVERDUE)
        assert flag.actor.role == "county_officer" and flag.region_code == VILLAGE
        assert flag.correlation_id == "check-0701"

        built = (await client.get(base, headers=county)).json()["milestones"][1]
        assert (built["status"], built["overdue_detected_on"]) == ("overdue", "2027-07-01")

        # Reached late: still recorded, and the overdue flag is kept beside it.
        late = await client.post(
            f"{base}/milestones/built/reached",
            json={"reached_on": "2027-07-15", "evidence_ref": "竣工验收单 9"},
            headers=officer,
        )
        assert late.status_code == 201, late.text
        built = late.json()["milestones"][1]
        assert (built["status"], built["reached_on"], built["overdue_detected_on"]) == (
            "reached",
            "2027-07-15",
            "2027-07-01",
        )

        done = await client.post(f"{base}/completion", json=COMPLETION, headers=county)
        assert done.status_code == 201, done.text
        view = done.json()
        assert (view["status"], view["completed_on"]) == ("completed", "2027-09-01")
        assert [(a["kind"], a["handed_to"], a["handed_over_on"]) for a in view["assets"]] == [
            ("operating", "村集体", "2030-09-01"),
            ("public_welfare", "村集体", None),
            ("household", "60 户", None),
        ]

        before = await event_count(runtime)
        assert_problem(
            await client.post(f"{base}/investments", json=tranche("1.00", "2027-09-02"), headers=officer),
            409,
            "no_investment_after_completion",
            "project_id",
        )
        assert_problem(
            await client.post(f"{base}/completion", json=COMPLETION, headers=officer),
            409,
            "project_completed_once",
            "project_id",
        )
        assert await event_count(runtime) == before

        types = [e.type.split(".")[1] for e in await runtime.store.load(f"project-{project_id}")]
        assert types == [
            "project_registered",
            "project_investment_recorded",
            "project_investment_recorded",
            "project_milestone_reached",
            "project_milestone_overdue",
            "project_milestone_reached",
            "project_completed",
        ]
        await wait_until(schedule_is(runtime, project_id, []), 10, "the schedule emptied")


async def test_the_worker_and_concurrent_checks_flag_each_milestone_once(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(milestone_check_interval_s=0.05)
    officer = token(settings, Role.federation_officer, "150602")
    platform = token(settings, Role.platform, "")
    clock = FixedClock(START)
    app = pairing_app(settings, clock)
    async with running(app) as client:
        runtime = runtime_of(app)
        paired = await pair(client, officer)
        milestones = [
            {"milestone_id": "m1", "name": "一期", "due_on": "2027-02-01"},
            {"milestone_id": "m2", "name": "二期", "due_on": "2027-03-01"},
        ]
        created = await client.post(
            "/projects", json=project_body(paired, milestones=milestones), headers=officer
        )
        project_id = created.json()["id"]
        due = [("m1", date(2027, 2, 1)), ("m2", date(2027, 3, 1))]
        await wait_until(schedule_is(runtime, project_id, due), 10, "the schedule projected")

        # Left alone, the worker flags m1 once the clock passes its date.
        clock.set(datetime(2027, 2, 15, 2, 0, tzinfo=UTC))

        async def worker_flagged(n: int) -> bool:
            return len(await overdue_events(runtime, project_id)) >= n

        await wait_until(lambda: worker_flagged(1), 10, "the worker to flag m1")
        for _ in range(2):
            response = await client.post("/projects/overdue-check", headers=platform)
            assert response.status_code == 200 and response.json()["flagged"] == []
        first = (await runtime.store.load(f"project-{project_id}"))[-1]
        assert first.type == OVERDUE and first.actor.id == "milestone-scheduler"

        # m2: the worker, three direct checks and one through HTTP all race for it.
        clock.set(datetime(2027, 3, 15, 2, 0, tzinfo=UTC))
        results = await asyncio.gather(
            check_overdue(runtime),
            check_overdue(runtime),
            check_overdue(runtime),
            client.post("/projects/overdue-check", headers=platform),
        )
        await wait_until(lambda: worker_flagged(2), 10, "m2 flagged")
        await wait_until(schedule_is(runtime, project_id, []), 10, "both flags projected")
        flagged = await overdue_events(runtime, project_id)
        assert [(f["milestone_id"], f["detected_on"]) for f in flagged] == [
            ("m1", "2027-02-15"),
            ("m2", "2027-03-15"),
        ]
        by_checks = sum(len(r.flagged) for r in results[:3]) + len(results[3].json()["flagged"])
        assert by_checks <= 1  # the worker may have won it

        # More ticks of the worker, more checks: still one flag per milestone.
        clock.set(datetime(2028, 1, 1, tzinfo=UTC))
        assert (await client.post("/projects/overdue-check", headers=platform)).json()["flagged"] == []
        assert len(await overdue_events(runtime, project_id)) == 2

        # A replay of the schedule (`xingcun rebuild milestone-schedule`) reopens nothing for good,
        # and what it may briefly reopen the aggregate refuses to flag again.
        assert await rebuild_projection("milestone-schedule", settings) >= 3
        assert await schedule(runtime, project_id) == []
        assert (await check_overdue(runtime)).flagged == []
        assert len(await overdue_events(runtime, project_id)) == 2


async def test_registration_refusals_answer_problems_and_write_nothing(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(**SLOW_SCHEDULER)
    officer = token(settings, Role.federation_officer, "150602")
    app = pairing_app(settings, FixedClock(START))
    async with running(app) as client:
        runtime = runtime_of(app)
        paired = await pair(client, officer)
        e1, e2 = paired.enterprises
        given = str(uuid.uuid4())
        assert (
            await client.post("/projects", json=project_body(paired, project_id=given), headers=officer)
        ).status_code == 201
        before = await event_count(runtime)
        body = project_body(paired)
        unknown = str(uuid.uuid4())

        cases: list[tuple[dict[str, Any], int, str, str]] = [
            ({"project_id": given}, 409, "project_registered_once", "project_id"),
            ({"budget_yuan": "5000000.01"}, 422, "funding_sums_to_budget", "funding"),
            (
                {
                    "shareholding": [
                        {"holder": h, "percent": "33.33"}
                        for h in ("village_collective", "enterprise", "villagers")
                    ]
                },
                422,
                "shareholding_sums_to_100",
                "shareholding",
            ),
            (
                {"milestones": [body["milestones"][0], {**body["milestones"][1], "milestone_id": "design"}]},
                422,
                "milestone_ids_distinct",
                "milestones.1.milestone_id",
            ),
            ({"enterprise_ids": [e1, e2, e1]}, 422, "enterprise_named_once", "enterprise_ids.2"),
            (
                {"funding": [{"source": "enterprise", "amount_yuan": "2500000.00"}] * 2},
                422,
                "funding_source_named_once",
                "funding.1.source",
            ),
            (
                {"village_code": village_code(3), "agreement_ids": []},
                404,
                "village_must_exist",
                "village_code",
            ),
            ({"enterprise_ids": [e1, unknown]}, 404, "enterprise_must_exist", "enterprise_ids.1"),
            ({"agreement_ids": [unknown]}, 404, "agreement_must_be_active_in_village", "agreement_ids.0"),
            # Village 2's agreement is active, but not in village 1.
            (
                {"agreement_ids": [paired.other_agreement]},
                404,
                "agreement_must_be_active_in_village",
                "agreement_ids.0",
            ),
            ({"enterprise_ids": [e2]}, 422, "agreement_enterprise_takes_part", "agreement_ids.0"),
        ]
        for overrides, status, rule, field in cases:
            response = await client.post("/projects", json={**body, **overrides}, headers=officer)
            assert_problem(response, status, rule, field)

        # Shape errors are answered by the request validation, naming each field.
        shapeless = {
            **body,
            "budget_yuan": "-1",
            "funding": [{"source": "lottery", "amount_yuan": "0"}],
            "surprise": 1,
        }
        problem = assert_problem(await client.post("/projects", json=shapeless, headers=officer), 422)
        assert {e["field"] for e in problem["errors"]} == {
            "budget_yuan",
            "funding.0.source",
            "funding.0.amount_yuan",
            "surprise",
        }

        # Roles and regions.
        for role, region in [(Role.viewer, "150602"), (Role.enterprise, "150602"), (Role.platform, "")]:
            denied = await client.post("/projects", json=body, headers=token(settings, role, region))
            assert assert_problem(denied, 403)["title"] == "Role not allowed"
        elsewhere = token(settings, Role.county_officer, "150603")
        problem = assert_problem(await client.post("/projects", json=body, headers=elsewhere), 403)
        assert problem["errors"] == [{"field": "village_code", "reason": "outside the caller's region"}]

        assert await event_count(runtime) == before
        # Several enterprises, no agreement: accepted.
        alone = project_body(paired, agreement_ids=[], enterprise_ids=[e2, e1])
        assert (await client.post("/projects", json=alone, headers=officer)).status_code == 201


async def test_change_refusals_answer_problems_and_write_nothing(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(**SLOW_SCHEDULER)
    officer = token(settings, Role.federation_officer, "150602")
    app = pairing_app(settings, FixedClock(START))
    async with running(app) as client:
        runtime = runtime_of(app)
        paired = await pair(client, officer)
        project_id = (await client.post("/projects", json=project_body(paired), headers=officer)).json()["id"]
        base = f"/projects/{project_id}"
        reach = {"reached_on": "2027-03-20", "evidence_ref": "设计批复"}
        assert (
            await client.post(f"{base}/milestones/design/reached", json=reach, headers=officer)
        ).status_code == 201
        before = await event_count(runtime)
        nowhere = f"/projects/{uuid.uuid4()}"

        assert_problem(
            await client.post(f"{nowhere}/investments", json=tranche("1.00", "2027-02-01"), headers=officer),
            404,
            "project_must_exist",
            "project_id",
        )
        assert_problem(
            await client.post(f"{nowhere}/milestones/design/reached", json=reach, headers=officer),
            404,
            "project_must_exist",
        )
        assert_problem(await client.post(f"{nowhere}/completion", json=COMPLETION, headers=officer), 404)
        assert_problem(await client.get(nowhere, headers=officer), 404, "project_must_exist")
        assert_problem(await client.get("/projects/not-a-uuid", headers=officer), 422)

        for amount in ("0", "-5.00"):
            assert_problem(
                await client.post(f"{base}/investments", json=tranche(amount, "2027-02-01"), headers=officer),
                422,
                "investment_amount_positive",
                "amount_yuan",
            )
        assert_problem(
            await client.post(f"{base}/milestones/harvest/reached", json=reach, headers=officer),
            404,
            "milestone_must_exist",
            "milestone_id",
        )
        assert_problem(
            await client.post(f"{base}/milestones/design/reached", json=reach, headers=officer),
            409,
            "milestone_reached_once",
            "milestone_id",
        )
        early = {**COMPLETION, "assets": [{**COMPLETION["assets"][0], "handed_over_on": "2027-08-01"}]}
        assert_problem(
            await client.post(f"{base}/completion", json=early, headers=officer),
            422,
            "handover_not_before_completion",
            "assets.0.handed_over_on",
        )

        # Roles and regions: enterprises and viewers may not change it; another county may not see it.
        for role in (Role.enterprise, Role.viewer, Role.platform):
            denied = await client.post(
                f"{base}/investments",
                json=tranche("1.00", "2027-02-01"),
                headers=token(settings, role, "150602"),
            )
            assert_problem(denied, 403)
        elsewhere = token(settings, Role.county_officer, "150603")
        for response in (
            await client.post(f"{base}/investments", json=tranche("1.00", "2027-02-01"), headers=elsewhere),
            await client.post(f"{base}/completion", json=COMPLETION, headers=elsewhere),
            await client.get(base, headers=elsewhere),
        ):
            problem = assert_problem(response, 403)
            assert problem["errors"] == [{"field": "project_id", "reason": "outside the caller's region"}]
        assert_problem(
            await client.post("/projects/overdue-check", headers=officer), 403
        )  # county officers and the platform only

        assert await event_count(runtime) == before

        # Any role reads inside its region: the township's officer, a viewer of the county.
        for role, region in [(Role.township_officer, VILLAGE[:9]), (Role.viewer, "150602")]:
            read = await client.get(base, headers=token(settings, role, region))
            assert read.status_code == 200 and read.json()["project_id"] == project_id


def test_the_openapi_document_describes_every_project_endpoint(settings: Settings) -> None:
    spec = pairing_app(settings).openapi()
    operations = [
        (path, method, op)
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
        if "projects" in op.get("tags", [])
    ]
    assert {(p, m) for p, m, _ in operations} == {
        ("/projects", "post"),
        ("/projects/{project_id}/investments", "post"),
        ("/projects/{project_id}/milestones/{milestone_id}/reached", "post"),
        ("/projects/{project_id}/completion", "post"),
        ("/projects/{project_id}", "get"),
        ("/projects/overdue-check", "post"),
    }
    for path, method, op in operations:
        assert op["summary"] and op["description"], (path, method)
        ok = next(code for code in op["responses"] if code.startswith("2"))
        schema = op["responses"][ok]["content"]["application/json"]["schema"]
        assert "$ref" in schema, (path, method)
        assert "403" in op["responses"], (path, method)


async def test_an_enterprise_records_investment_and_milestones_of_its_own_projects_only(
    settings: Settings,
) -> None:
    officer = token(settings, Role.federation_officer, "150602")
    app = pairing_app(settings)
    async with running(app) as client:
        paired = await pair(client, officer)
        registered = await client.post("/projects", json=project_body(paired), headers=officer)
        assert registered.status_code == 201, registered.text
        base = f"/projects/{registered.json()['id']}"
        builder = token(settings, Role.enterprise, "150602", enterprise_id=paired.enterprises[0])
        stranger = token(settings, Role.enterprise, "150602", enterprise_id=str(uuid.uuid4()))
        before = await event_count(runtime_of(app))

        problem = assert_problem(
            await client.post(f"{base}/investments", json=tranche("1.00", "2027-02-01"), headers=stranger),
            403,
        )
        assert problem["errors"] == [
            {"field": "project_id", "reason": "the token's enterprise does not build this project"}
        ]
        assert_problem(await client.post(f"{base}/completion", json=COMPLETION, headers=builder), 403)
        assert_problem(await client.post("/projects", json=project_body(paired), headers=builder), 403)
        assert await event_count(runtime_of(app)) == before

        invested = await client.post(
            f"{base}/investments", json=tranche("250000.00", "2027-02-01"), headers=builder
        )
        assert invested.status_code == 201, invested.text
        reached = await client.post(
            f"{base}/milestones/design/reached",
            json={"reached_on": "2027-03-20", "evidence_ref": "验收单-1"},
            headers=builder,
        )
        assert reached.status_code == 201, reached.text
        assert reached.json()["invested_yuan"] == "250000.00"
        stored = await runtime_of(app).store.load(f"project-{registered.json()['id']}")
        assert stored[-1].actor.role == "enterprise"
