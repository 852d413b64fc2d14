"""Cooperatives and 双绑 bindings through HTTP on a running pairing service; refusals write nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import text

from services.pairing.app import create as pairing_app
from services.pairing.cooperatives.domain import cooperative_id_for, cooperative_stream
from shared.auth import Role
from shared.service import Runtime
from shared.settings import Settings
from tests.support.apps import running, token
from tests.support.pairing import credit_code, enterprise_body, village_code

PROBLEM = "application/problem+json"
COUNTY = "150602"


def cooperative_body(n: int, village: str | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        "code": credit_code(900 + n),
        "name": f"合作社{n}",
        "village_code": village or village_code(n),
        "leading_industry": "肉羊养殖",
        **overrides,
    }


def household_binding(household: uuid.UUID, village: str, **overrides: Any) -> dict[str, Any]:
    return {
        "kind": "cooperative_household",
        "household_id": str(household),
        "household_village_code": village,
        "form": "equity",
        "started_on": "2026-03-01",
        "ends_on": "2028-12-31",
        **overrides,
    }


def enterprise_binding(enterprise_id: str, **overrides: Any) -> dict[str, Any]:
    body = {"kind": "enterprise_cooperative", "enterprise_id": enterprise_id, "form": "order"}
    return {**body, "started_on": "2026-03-01", **overrides}


def assert_problem(response: httpx.Response, status: int, rule: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert problem["instance"] == response.request.url.path
    if rule is not None:
        assert problem["rule"] == rule, problem
        assert problem["type"].endswith("/" + rule)
    return problem


def fields(problem: dict[str, Any]) -> list[str]:
    return [e["field"] for e in problem["errors"]]


async def stream_types(runtime: Runtime, stream_id: str) -> list[str]:
    async with runtime.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT type FROM events WHERE stream_id = :s ORDER BY stream_version"), {"s": stream_id}
        )
        return [row[0] for row in rows]


async def event_count(runtime: Runtime) -> int:
    async with runtime.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM events"))).scalar_one())


async def register(client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]) -> str:
    response = await client.post("/cooperatives", json=body, headers=headers)
    assert response.status_code == 201, response.text
    cooperative_id: str = response.json()["id"]
    assert response.headers["location"] == f"/cooperatives/{cooperative_id}"
    return cooperative_id


async def bind(
    client: httpx.AsyncClient, cooperative: str, body: dict[str, Any], headers: dict[str, str]
) -> str:
    response = await client.post(f"/cooperatives/{cooperative}/bindings", json=body, headers=headers)
    assert response.status_code == 201, response.text
    binding_id: str = response.json()["id"]
    assert uuid.UUID(binding_id).version == 7
    return binding_id


async def test_a_household_binds_to_several_cooperatives_once_each(settings: Settings) -> None:
    officer = token(settings, Role.county_officer, COUNTY)
    app = pairing_app(settings)
    async with running(app) as p:
        runtime: Runtime = app.state.runtime
        a = await register(p, cooperative_body(1), officer)
        b = await register(p, cooperative_body(2), officer)
        assert a == str(cooperative_id_for(credit_code(901)))
        stream_a = cooperative_stream(uuid.UUID(a))

        # The same credit code again is the same cooperative.
        again = await p.post("/cooperatives", json=cooperative_body(1, name="改名"), headers=officer)
        assert fields(assert_problem(again, 409, "cooperative_registered_once")) == ["code"]
        assert await stream_types(runtime, stream_a) == ["pairing.cooperative_registered"]

        household, home = uuid.uuid4(), village_code(3)
        first = await bind(p, a, household_binding(household, home), officer)
        await bind(p, b, household_binding(household, home, form="labour"), officer)

        twice = await p.post(
            f"/cooperatives/{a}/bindings", json=household_binding(household, home), headers=officer
        )
        assert fields(assert_problem(twice, 409, "one_active_binding_per_household")) == ["household_id"]
        assert await stream_types(runtime, stream_a) == [
            "pairing.cooperative_registered",
            "pairing.binding_established",
        ]

        state = await p.get(f"/cooperatives/{a}", headers=officer)
        assert state.status_code == 200, state.text
        view = state.json()
        assert (view["cooperative_id"], view["code"], view["village_code"]) == (
            a,
            credit_code(901),
            village_code(1),
        )
        assert view["leading_industry"] == "肉羊养殖" and view["version"] == 2
        assert view["bindings"] == [
            {
                "binding_id": first,
                "kind": "cooperative_household",
                "household_id": str(household),
                "household_village_code": home,
                "enterprise_id": None,
                "form": "equity",
                "started_on": "2026-03-01",
                "ends_on": "2028-12-31",
                "status": "active",
                "ended_on": None,
                "end_reason": None,
            }
        ]
        other = (await p.get(f"/cooperatives/{b}", headers=officer)).json()
        assert [(x["household_id"], x["form"]) for x in other["bindings"]] == [(str(household), "labour")]


async def test_ending_a_binding_then_binding_again(settings: Settings) -> None:
    officer = token(settings, Role.federation_officer, COUNTY)
    app = pairing_app(settings)
    async with running(app) as p:
        runtime: Runtime = app.state.runtime
        a = await register(p, cooperative_body(1), officer)
        stream = cooperative_stream(uuid.UUID(a))
        household = uuid.uuid4()
        first = await bind(p, a, household_binding(household, village_code(1)), officer)
        end_url = f"/cooperatives/{a}/bindings/{first}/end"

        early = await p.post(end_url, json={"ended_on": "2026-02-28", "reason": "退社"}, headers=officer)
        assert fields(assert_problem(early, 422, "ended_after_start")) == ["ended_on"]

        ended = await p.post(end_url, json={"ended_on": "2026-06-30", "reason": "退社"}, headers=officer)
        assert ended.status_code == 200, ended.text
        assert ended.json()["status"] == "ended"
        assert (ended.json()["ended_on"], ended.json()["end_reason"]) == ("2026-06-30", "退社")

        twice = await p.post(end_url, json={"ended_on": "2026-07-01", "reason": "again"}, headers=officer)
        assert fields(assert_problem(twice, 409, "only_active_bindings_end")) == ["binding_id"]
        unknown = await p.post(
            f"/cooperatives/{a}/bindings/{uuid.uuid4()}/end",
            json={"ended_on": "2026-07-01", "reason": "x"},
            headers=officer,
        )
        assert fields(assert_problem(unknown, 404, "binding_must_exist")) == ["binding_id"]
        assert await stream_types(runtime, stream) == [
            "pairing.cooperative_registered",
            "pairing.binding_established",
            "pairing.binding_ended",
        ]

        second = await bind(
            p, a, household_binding(household, village_code(1), started_on="2026-07-01"), officer
        )
        view = (await p.get(f"/cooperatives/{a}", headers=officer)).json()
        assert [(x["binding_id"], x["status"]) for x in view["bindings"]] == [
            (first, "ended"),
            (second, "active"),
        ]
        assert view["version"] == 4


async def test_only_registered_leading_enterprises_bind_a_cooperative(settings: Settings) -> None:
    officer = token(settings, Role.federation_officer, COUNTY)
    app = pairing_app(settings)
    async with running(app) as p:
        runtime: Runtime = app.state.runtime
        leading = await p.post(
            "/enterprises", json=enterprise_body(1, leading_level="county"), headers=officer
        )
        ordinary = await p.post("/enterprises", json=enterprise_body(2), headers=officer)
        assert (leading.status_code, ordinary.status_code) == (201, 201)
        a = await register(p, cooperative_body(1), officer)
        url = f"/cooperatives/{a}/bindings"
        before = await event_count(runtime)

        refused = await p.post(url, json=enterprise_binding(ordinary.json()["id"]), headers=officer)
        assert fields(assert_problem(refused, 422, "enterprise_must_be_leading")) == ["enterprise_id"]
        missing = await p.post(url, json=enterprise_binding(str(uuid.uuid4())), headers=officer)
        assert fields(assert_problem(missing, 404, "enterprise_must_exist")) == ["enterprise_id"]
        nowhere = await p.post(
            f"/cooperatives/{uuid.uuid4()}/bindings",
            json=enterprise_binding(leading.json()["id"]),
            headers=officer,
        )
        assert fields(assert_problem(nowhere, 404, "cooperative_must_exist")) == ["cooperative_id"]
        assert await event_count(runtime) == before

        binding = await bind(p, a, enterprise_binding(leading.json()["id"]), officer)
        twice = await p.post(
            url, json=enterprise_binding(leading.json()["id"], form="custody"), headers=officer
        )
        assert fields(assert_problem(twice, 409, "one_active_binding_per_enterprise")) == ["enterprise_id"]
        assert await event_count(runtime) == before + 1

        [view] = (await p.get(f"/cooperatives/{a}", headers=officer)).json()["bindings"]
        assert view["binding_id"] == binding
        assert (view["kind"], view["enterprise_id"], view["household_id"]) == (
            "enterprise_cooperative",
            leading.json()["id"],
            None,
        )
        # The enterprise's own stream is read, never written.
        enterprise_stream = f"enterprise-{leading.json()['id']}"
        assert await stream_types(runtime, enterprise_stream) == ["pairing.enterprise_registered"]


async def test_concurrent_bindings_of_one_household_leave_one(settings: Settings) -> None:
    officer = token(settings, Role.county_officer, COUNTY)
    app = pairing_app(settings)
    async with running(app) as p:
        runtime: Runtime = app.state.runtime
        a = await register(p, cooperative_body(1), officer)
        body = household_binding(uuid.uuid4(), village_code(1))
        responses = await asyncio.gather(
            *(p.post(f"/cooperatives/{a}/bindings", json=body, headers=officer) for _ in range(4))
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201, 409, 409, 409], [r.text for r in responses]
        assert await stream_types(runtime, cooperative_stream(uuid.UUID(a))) == [
            "pairing.cooperative_registered",
            "pairing.binding_established",
        ]


async def test_officers_act_inside_their_region_only(settings: Settings) -> None:
    county = token(settings, Role.county_officer, COUNTY)
    v1, v2 = village_code(1), village_code(2)
    other_township = village_code(1000)
    assert other_township[:9] != v1[:9] and v1[:9] == v2[:9]
    village_1 = token(settings, Role.village_officer, v1)
    app = pairing_app(settings)
    async with running(app) as p:
        runtime: Runtime = app.state.runtime

        # A village officer registers in its own village, not the next one.
        a = await register(p, cooperative_body(1, v1), village_1)
        outside = await p.post("/cooperatives", json=cooperative_body(2, v2), headers=village_1)
        problem = assert_problem(outside, 403)
        assert problem["errors"] == [{"field": "village_code", "reason": "outside the caller's region"}]
        before = await event_count(runtime)

        # A household binding needs both the cooperative's and the household's village covered.
        stranger = await p.post(
            f"/cooperatives/{a}/bindings", json=household_binding(uuid.uuid4(), v2), headers=village_1
        )
        assert fields(assert_problem(stranger, 403)) == ["household_village_code"]
        village_2 = token(settings, Role.village_officer, v2)
        elsewhere = await p.post(
            f"/cooperatives/{a}/bindings", json=household_binding(uuid.uuid4(), v2), headers=village_2
        )
        assert fields(assert_problem(elsewhere, 403)) == ["cooperative_id"]
        township = token(settings, Role.township_officer, v1[:9])
        far = await p.post(
            f"/cooperatives/{a}/bindings",
            json=household_binding(uuid.uuid4(), other_township),
            headers=township,
        )
        assert fields(assert_problem(far, 403)) == ["household_village_code"]
        assert await event_count(runtime) == before

        # The township officer covers both villages; the village officer may not end that binding.
        binding = await bind(p, a, household_binding(uuid.uuid4(), v2), township)
        end = {"ended_on": "2026-04-01", "reason": "迁出"}
        refused = await p.post(f"/cooperatives/{a}/bindings/{binding}/end", json=end, headers=village_1)
        assert fields(assert_problem(refused, 403)) == ["binding_id"]
        next_county = token(settings, Role.federation_officer, "150603")
        refused = await p.post(f"/cooperatives/{a}/bindings/{binding}/end", json=end, headers=next_county)
        assert fields(assert_problem(refused, 403)) == ["cooperative_id"]

        # Roles outside the four offices may read but not write.
        for role in (Role.enterprise, Role.viewer, Role.platform):
            refused = await p.post(
                "/cooperatives", json=cooperative_body(3, v1), headers=token(settings, role, "")
            )
            assert assert_problem(refused, 403)["title"] == "Role not allowed"
            read = await p.get(f"/cooperatives/{a}", headers=token(settings, role, COUNTY))
            assert read.status_code == 200 and read.json()["cooperative_id"] == a
        assert (await p.get(f"/cooperatives/{a}", headers=village_1)).status_code == 200
        unseen = await p.get(f"/cooperatives/{a}", headers=token(settings, Role.viewer, "150603"))
        assert "bindings" not in assert_problem(unseen, 403)
        assert_problem(await p.get(f"/cooperatives/{a}"), 401)
        assert_problem(await p.post("/cooperatives", json=cooperative_body(3, v1)), 401)
        assert fields(assert_problem(await p.get(f"/cooperatives/{uuid.uuid4()}", headers=county), 404)) == [
            "cooperative_id"
        ]
        assert await event_count(runtime) == before + 1


async def test_invalid_requests_are_problem_details_and_write_nothing(settings: Settings) -> None:
    officer = token(settings, Role.county_officer, COUNTY)
    app = pairing_app(settings)
    async with running(app) as p:
        runtime: Runtime = app.state.runtime
        a = await register(p, cooperative_body(1), officer)
        before = await event_count(runtime)

        bad_code = credit_code(901)[:17] + ("0" if credit_code(901)[17] != "0" else "1")
        problem = assert_problem(
            await p.post("/cooperatives", json=cooperative_body(2, code=bad_code, x=1), headers=officer), 422
        )
        assert problem["type"].endswith("/invalid_request")
        reasons = {e["field"]: e["reason"] for e in problem["errors"]}
        assert set(reasons) == {"code", "x"} and "check character" in reasons["code"]
        missing = assert_problem(await p.post("/cooperatives", json={"name": "合作社"}, headers=officer), 422)
        assert set(fields(missing)) == {"code", "village_code", "leading_industry"}

        for village in (village_code(2, county="150603"), "150602100000", "1506021"):
            response = await p.post("/cooperatives", json=cooperative_body(2, village), headers=officer)
            assert fields(assert_problem(response, 422, "village_of_this_deployment")) == ["village_code"]

        url = f"/cooperatives/{a}/bindings"
        household = uuid.uuid4()
        cases = [
            (
                household_binding(household, village_code(2), household_id=None),
                "binding_names_its_party",
                "household_id",
            ),
            (
                household_binding(household, village_code(2), enterprise_id=str(uuid.uuid4())),
                "binding_names_its_party",
                "enterprise_id",
            ),
            (
                enterprise_binding(str(uuid.uuid4()), household_id=str(household)),
                "binding_names_its_party",
                "household_id",
            ),
            (
                household_binding(household, village_code(2), ends_on="2026-02-01"),
                "planned_end_after_start",
                "ends_on",
            ),
            (
                household_binding(household, village_code(2, county="150699")),
                "village_of_this_deployment",
                "household_village_code",
            ),
        ]
        for body, rule, field in cases:
            assert fields(assert_problem(await p.post(url, json=body, headers=officer), 422, rule)) == [field]

        malformed = {
            **household_binding(household, "x"),
            "kind": "cousins",
            "form": "gift",
            "started_on": "soon",
        }
        problem = assert_problem(await p.post(url, json=malformed, headers=officer), 422)
        assert set(fields(problem)) == {"kind", "form", "started_on"}
        assert_problem(await p.get("/cooperatives/not-a-uuid", headers=officer), 422)
        no_reason = await p.post(
            f"/cooperatives/{a}/bindings/{uuid.uuid4()}/end", json={"ended_on": "2026-05-01"}, headers=officer
        )
        assert fields(assert_problem(no_reason, 422)) == ["reason"]
        assert await event_count(runtime) == before


async def test_the_openapi_document_describes_every_cooperative_endpoint(settings: Settings) -> None:
    async with running(pairing_app(settings)) as p:
        doc = (await p.get("/openapi.json")).json()
    operations = {
        ("post", "/cooperatives"): "201",
        ("post", "/cooperatives/{cooperative_id}/bindings"): "201",
        ("post", "/cooperatives/{cooperative_id}/bindings/{binding_id}/end"): "200",
        ("get", "/cooperatives/{cooperative_id}"): "200",
    }
    for (method, path), success in operations.items():
        operation = doc["paths"][path][method]
        assert operation["summary"] and operation["description"], path
        assert "cooperatives" in operation["tags"]
        assert operation["responses"][success]["content"]["application/json"]["schema"]["$ref"], path
        for refusal in ("401", "403", "422"):
            ref = operation["responses"][refusal]["content"]["application/json"]["schema"]["$ref"]
            problem = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
            assert {"type", "title", "status", "detail", "rule", "errors"} <= set(problem["properties"])
    body = doc["components"]["schemas"]["EstablishBinding"]
    assert {"kind", "household_id", "household_village_code", "enterprise_id"} <= set(body["properties"])
    assert body["examples"]
