"""Who may do what (DESIGN §5), and refusals as problem details that write nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from services.pairing.app import create as pairing_app
from services.pairing.domain import enterprise_id_for
from services.reporting.app import create as reporting_app
from shared.auth import Role, issue_token
from shared.service import Runtime
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.pairing import agreement_body, enterprise_body, village_body, village_code

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["title"] and problem["detail"]
    assert problem["instance"] == response.request.url.path
    return problem


async def event_count(runtime: Runtime) -> int:
    async with runtime.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM events"))).scalar_one())


async def test_village_officers_read_only_their_own_village(settings: Settings) -> None:
    officer = token(settings, Role.federation_officer, "150602")
    a, b = village_code(1), village_code(2)
    pairing, reporting = pairing_app(settings), reporting_app(settings)
    async with running(pairing) as p, running(reporting) as r:
        for n in (1, 2):
            assert (await p.post("/villages", json=village_body(n), headers=officer)).status_code == 201

        async def both_in_ledger() -> bool:
            statuses = [
                (await r.get(f"/ledgers/villages/{code}", headers=officer)).status_code for code in (a, b)
            ]
            return statuses == [200, 200]

        await wait_until(both_in_ledger, 10, "both villages in the ledger")

        village_a = token(settings, Role.village_officer, a)
        own = await r.get(f"/ledgers/villages/{a}", headers=village_a)
        assert own.status_code == 200
        assert own.json()["village"]["village_code"] == a

        other = await r.get(f"/ledgers/villages/{b}", headers=village_a)
        problem = assert_problem(other, 403)
        assert problem["title"] == "Outside your region"
        assert b in problem["detail"]
        assert "agreements" not in problem and "village" not in problem  # nothing leaks

        # A township officer sees its township's villages, not the next township's.
        township = token(settings, Role.township_officer, a[:9])
        assert (await r.get(f"/ledgers/villages/{a}", headers=township)).status_code == 200
        next_township = village_code(1000)  # township 101 instead of 100
        assert next_township[:9] != a[:9]
        assert_problem(await r.get(f"/ledgers/villages/{next_township}", headers=township), 403)

        # A county-level viewer may read; a malformed code is a 422, an unknown one a 404.
        viewer = token(settings, Role.viewer, "150602")
        assert (await r.get(f"/ledgers/villages/{b}", headers=viewer)).status_code == 200
        assert_problem(await r.get("/ledgers/villages/15060210", headers=viewer), 422)
        assert_problem(await r.get(f"/ledgers/villages/{village_code(3)}", headers=viewer), 404)


async def test_missing_or_bad_tokens_get_401(settings: Settings) -> None:
    reporting = reporting_app(settings)
    pairing = pairing_app(settings)
    url = f"/ledgers/villages/{village_code(1)}"
    async with running(reporting) as r, running(pairing) as p:
        problem = assert_problem(await r.get(url), 401)
        assert problem["title"] == "Missing token"
        assert_problem(await p.post("/villages", json=village_body(1)), 401)
        assert_problem(await r.get(url, headers={"authorization": "Basic dXNlcjpwdw=="}), 401)
        assert_problem(await r.get(url, headers={"authorization": "Bearer not-a-jwt"}), 401)

        forged = issue_token(
            b"another-secret-" + b"0" * 32,
            subject="mallory",
            role=Role.county_officer,
            region="",
            now=datetime.now(UTC),
            ttl=timedelta(hours=1),
        )
        refused = assert_problem(await r.get(url, headers={"authorization": f"Bearer {forged}"}), 401)
        assert refused["title"] == "Invalid token"

        expired = issue_token(
            settings.secret_bytes,
            subject="late",
            role=Role.county_officer,
            region="",
            now=datetime.now(UTC) - timedelta(hours=2),
            ttl=timedelta(hours=1),
        )
        assert_problem(await r.get(url, headers={"authorization": f"Bearer {expired}"}), 401)
        assert await event_count(pairing.state.runtime) == 0


async def test_roles_that_may_not_sign_get_403_and_write_nothing(settings: Settings) -> None:
    officer = token(settings, Role.federation_officer, "150602")
    pairing = pairing_app(settings)
    async with running(pairing) as p:
        enterprise = await p.post("/enterprises", json=enterprise_body(1), headers=officer)
        assert (await p.post("/villages", json=village_body(1), headers=officer)).status_code == 201
        body = agreement_body(enterprise.json()["id"], village_code(1))
        before = await event_count(pairing.state.runtime)

        for role, region in [
            (Role.viewer, "150602"),
            (Role.village_officer, village_code(1)),
            (Role.township_officer, village_code(1)[:9]),
            (Role.enterprise, "150602"),
        ]:
            refused = await p.post("/agreements", json=body, headers=token(settings, role, region))
            problem = assert_problem(refused, 403)
            assert problem["title"] == "Role not allowed"
            assert "federation_officer" in problem["detail"]

        # The right role outside its region is refused as well, naming the field.
        elsewhere = token(settings, Role.federation_officer, "150603")
        problem = assert_problem(await p.post("/agreements", json=body, headers=elsewhere), 403)
        assert problem["errors"] == [{"field": "village_code", "reason": "outside the caller's region"}]
        assert await event_count(pairing.state.runtime) == before

        # A county officer of the county may sign (DESIGN §5 lets both offices enter pairings).
        county = token(settings, Role.county_officer, "150602")
        assert (await p.post("/agreements", json=body, headers=county)).status_code == 201
        assert await event_count(pairing.state.runtime) == before + 1


async def test_invalid_body_lists_every_field_and_writes_nothing(settings: Settings) -> None:
    officer = token(settings, Role.federation_officer, "150602")
    pairing = pairing_app(settings)
    async with running(pairing) as p:
        runtime: Runtime = pairing.state.runtime
        enterprise = await p.post("/enterprises", json=enterprise_body(1), headers=officer)
        assert (await p.post("/villages", json=village_body(1), headers=officer)).status_code == 201
        before = await event_count(runtime)
        stream = f"{settings.stream_prefix}PAIRING"

        bad = {
            "enterprise_id": "not-a-uuid",
            "village_code": "15060210000",
            "signed_on": "last tuesday",
            "term_years": 0,
            "pathways": [],
            "mode": "handshake",
            "commitments": {"investment_yuan": "-5", "jobs": "many"},
            "surprise": True,
        }  # and document_ref is missing
        problem = assert_problem(await p.post("/agreements", json=bad, headers=officer), 422)
        assert problem["type"].endswith("/invalid_request")
        reasons = {e["field"]: e["reason"] for e in problem["errors"]}
        assert set(reasons) == {
            "enterprise_id",
            "village_code",
            "signed_on",
            "term_years",
            "document_ref",
            "pathways",
            "mode",
            "commitments.investment_yuan",
            "commitments.jobs",
            "surprise",
        }, reasons
        assert all(isinstance(r, str) and r for r in reasons.values())
        assert "12 digits" in reasons["village_code"]
        assert reasons["document_ref"] == "Field required"
        assert "greater than or equal to 1" in reasons["term_years"]
        assert "Extra inputs" in reasons["surprise"]
        assert not any(r.startswith("Value error") for r in reasons.values())

        # Not JSON at all, and a body that is not an object.
        broken = await p.post(
            "/agreements",
            content=b"{not json",
            headers={**officer, "content-type": "application/json"},
        )
        assert_problem(broken, 422)
        assert_problem(await p.post("/agreements", json=[1, 2], headers=officer), 422)

        # A semantically invalid but well-formed body: each pathway named once.
        twice = agreement_body(enterprise.json()["id"], village_code(1), pathways=["industry", "industry"])
        problem = assert_problem(await p.post("/agreements", json=twice, headers=officer), 422)
        assert problem["errors"] == [{"field": "pathways", "reason": "each pathway is named once"}]

        assert await event_count(runtime) == before
        # Nothing reached JetStream either, beyond the two registrations.
        await wait_until(lambda: _relayed(runtime, before), 10, "the registrations relayed")
        assert (await runtime.js.stream_info(stream)).state.messages == before


async def _relayed(runtime: Runtime, n: int) -> bool:
    return runtime.relay.stats.published >= n


async def test_bad_credit_code_is_a_422_naming_the_field(settings: Settings) -> None:
    officer = token(settings, Role.federation_officer, "150602")
    pairing = pairing_app(settings)
    async with running(pairing) as p:
        for code, reason in [
            ("91350100M000100Y44", "the check character should be 3, not 4"),
            ("91350100M000100Y4", "a unified social credit code has 18 characters"),
            ("91350100M000100YO3", "characters not allowed in a credit code: O"),
        ]:
            response = await p.post(
                "/enterprises", json=enterprise_body(1, credit_code=code), headers=officer
            )
            problem = assert_problem(response, 422)
            assert problem["errors"] == [{"field": "credit_code", "reason": reason}]
            assert "credit_code" in problem["detail"]
        assert await event_count(pairing.state.runtime) == 0

        # The same enterprise with a valid code is registered, once.
        assert (await p.post("/enterprises", json=enterprise_body(1), headers=officer)).status_code == 201
        again = assert_problem(await p.post("/enterprises", json=enterprise_body(1), headers=officer), 409)
        assert again["rule"] == "enterprise_registered_once"
        assert again["errors"][0]["field"] == "credit_code"
        assert await event_count(pairing.state.runtime) == 1


async def test_nul_characters_are_refused_before_any_handler(settings: Settings) -> None:
    """PostgreSQL text holds no U+0000: found by the property-based API test as a 500."""
    officer = token(settings, Role.federation_officer, "150602")
    app = pairing_app(settings)
    async with running(app) as client:
        listed = await client.get("/enterprises", params={"q": "a\x00b"}, headers=officer)
        assert listed.status_code == 422, listed.text
        assert listed.headers["content-type"] == "application/problem+json"
        assert listed.json()["rule"] == "no_nul_characters"
        assert listed.json()["errors"][0]["field"] == "query"

        body = enterprise_body(1, name="企业\x00一")
        refused = await client.post("/enterprises", json=body, headers=officer)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body"
        assert (
            await app.state.runtime.store.load(f"enterprise-{enterprise_id_for(body['credit_code'])}") == []
        )

        # A backslash followed by "u0000" is ordinary text.
        literal = await client.post(
            "/enterprises", json=enterprise_body(1, name="企业\\u0000"), headers=officer
        )
        assert literal.status_code == 201, literal.text
