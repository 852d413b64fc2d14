"""The pairing directory against the real running pairing service.

Enterprises, villages and agreements go in through the HTTP API; the events other commands
emit (incomes, terminations and relays, projects, cooperatives and bindings) are appended to the
pairing event store as those commands would, and the relay and the projection pick them up.
The module's tests read one world built once; the lifecycle test builds its own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text

from services.pairing.app import create as pairing_app
from services.pairing.directory.projections import Directory
from shared.auth import Role
from shared.clock import FixedClock
from shared.events.catalogue.pairing import (
    AgreementSigned,
    AgreementTerminated,
    Asset,
    AssetKind,
    BindingEnded,
    BindingEstablished,
    BindingForm,
    BindingKind,
    Commitments,
    CooperativeRegistered,
    Funding,
    FundingSource,
    HolderKind,
    MilestonePlan,
    Mode,
    Pathway,
    ProjectCompleted,
    ProjectInvestmentRecorded,
    ProjectMilestoneOverdue,
    ProjectMilestoneReached,
    ProjectRegistered,
    Share,
    VillageIncomeRecorded,
)
from shared.events.envelope import Actor, Envelope, EventData
from shared.events.registry import decode
from shared.eventstore.context import CommandContext, wrap
from shared.ids import uuid7
from shared.runtime.rebuild import rebuild_projection
from shared.service import Runtime
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.isolation import cleanup, isolated_settings
from tests.support.pairing import agreement_body, credit_code, enterprise_body, village_body, village_code

# Before every milestone's due date: the service's scheduler finds nothing overdue on its own.
CLOCK = FixedClock(datetime(2026, 11, 1, tzinfo=UTC))
ACTOR = Actor(id="directory-test", role="federation_officer", region_code="15")

V1, V2, V3 = village_code(1), village_code(2), village_code(1000)  # V3 in another township
TOWNSHIP_1, TOWNSHIP_2 = V1[:9], V3[:9]
H1, H2, H3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()  # households


async def append(runtime: Runtime, stream_id: str, region_code: str, events: Sequence[EventData]) -> None:
    """Append ``events`` after whatever the stream holds, as a command handler would."""
    ctx = CommandContext(actor=ACTOR, now=datetime.now(UTC), correlation_id="directory-test")
    async with runtime.store.session() as s:
        version = await s.version(stream_id)
        s.append(version, wrap(ctx, stream_id, version, region_code, events))


async def scalar(runtime: Runtime, sql: str, **params: Any) -> Any:
    async with runtime.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def caught_up(runtime: Runtime) -> bool:
    """The directory has applied every event of every stream in the store."""
    behind = await scalar(
        runtime,
        """
        SELECT count(*) FROM (SELECT stream_id, max(stream_version) AS v FROM events GROUP BY stream_id) e
        LEFT JOIN consumer_checkpoints c ON c.consumer = :consumer AND c.stream_id = e.stream_id
        WHERE c.version IS DISTINCT FROM e.v
        """,
        consumer=Directory.name,
    )
    return behind == 0


async def settle(runtime: Runtime) -> None:
    await wait_until(lambda: caught_up(runtime), 20, "the directory caught up with the store")
    dead = await scalar(runtime, "SELECT count(*) FROM dead_letters WHERE consumer = :c", c=Directory.name)
    assert dead == 0


@dataclass
class World:
    client: httpx.AsyncClient
    runtime: Runtime
    settings: Settings
    ids: dict[str, str]

    def headers(self, role: Role, region: str) -> dict[str, str]:
        return token(self.settings, role, region)

    async def get(
        self, path: str, *, as_role: Role = Role.county_officer, as_region: str = "150602", **params: Any
    ) -> httpx.Response:
        """GET ``path`` with ``params`` as a caller of ``as_role`` in ``as_region`` (a county officer)."""
        return await self.client.get(path, params=params, headers=self.headers(as_role, as_region))

    async def ok(self, path: str, **params: Any) -> Any:
        response = await self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    async def listed(self, path: str, key: str, **params: Any) -> list[str]:
        return [str(item[key]) for item in (await self.ok(path, **params))["items"]]


async def register(client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: Any) -> str:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def signed(agreement_id: uuid.UUID, enterprise_id: str, village: str, relays: uuid.UUID) -> AgreementSigned:
    return AgreementSigned(
        agreement_id=agreement_id,
        enterprise_id=uuid.UUID(enterprise_id),
        village_code=village,
        signed_on=date(2027, 1, 5),
        term_years=3,
        document_ref="XC-RELAY",
        pathways=[Pathway.industry],
        mode=Mode.order_farming,
        commitments=Commitments(investment_yuan=Decimal("300000.00")),
        relays_agreement_id=relays,
    )


def terminated(agreement_id: str, enterprise_id: str, village: str, successor: uuid.UUID | None = None):
    return AgreementTerminated(
        agreement_id=uuid.UUID(agreement_id),
        enterprise_id=uuid.UUID(enterprise_id),
        village_code=village,
        terminated_on=date(2026, 12, 31),
        reason="经营困难",
        successor_agreement_id=successor,
    )


async def build_world(client: httpx.AsyncClient, runtime: Runtime, settings: Settings) -> dict[str, str]:
    federation = token(settings, Role.federation_officer, "15")
    ids: dict[str, str] = {}
    enterprises = {
        "E1": enterprise_body(1, name="绿源农业", leading_level="provincial"),
        "E2": enterprise_body(2, name="国投建设", kind="state_owned"),
        "E3": enterprise_body(
            3,
            name="远山食品",
            kind="leading_agricultural",
            leading_level="county",
            county_code="150603",
            credit_code=credit_code(3, county="150603"),
        ),
        "E4": enterprise_body(
            4, name="孤帆商贸", county_code="150603", credit_code=credit_code(4, county="150603")
        ),
    }
    for key, body in enterprises.items():
        ids[key] = await register(client, "/enterprises", body, federation)
    for code, overrides in (
        (V1, {"name": "柳树村", "former_poverty_village": True}),
        (V2, {"name": "杏花村", "category": "demonstration"}),
        (V3, {"name": "石门村", "category": "overall_advance", "former_poverty_village": True}),
    ):
        body = {**village_body(1), **overrides, "village_code": code}
        await register(client, "/villages", body, federation)
    for key, enterprise, village, overrides in (
        ("A1", "E1", V1, {}),
        ("A2", "E2", V1, {"pathways": ["consumption"], "mode": "leading_enterprise"}),
        ("A3", "E3", V3, {"mode": "agri_tourism", "signed_on": "2026-10-01"}),
    ):
        body = agreement_body(ids[enterprise], village, **overrides)
        ids[key] = await register(client, "/agreements", body, federation)

    await append(
        runtime,
        f"village-{V1}",
        V1,
        [
            VillageIncomeRecorded(village_code=V1, year=2025, income_yuan=Decimal("140000.00")),
            VillageIncomeRecorded(village_code=V1, year=2024, income_yuan=Decimal("100000.00")),
            VillageIncomeRecorded(village_code=V1, year=2025, income_yuan=Decimal("150000.50")),  # corrects
        ],
    )

    p1, p2 = uuid7(), uuid7()  # time-ordered, as the projects command makes them
    ids["P1"], ids["P2"] = str(p1), str(p2)
    await append(
        runtime,
        f"project-{p1}",
        V1,
        [
            project(p1, V1, ids["A1"], ids["E1"], "蔬菜大棚", "2000000.00", ["m1", "m2", "m3"]),
            investment(p1, V1, 1, "500000.00"),
            investment(p1, V1, 2, "250000.50"),
            ProjectMilestoneReached(
                project_id=p1,
                village_code=V1,
                milestone_id="m1",
                reached_on=date(2027, 2, 20),
                evidence_ref="验收-001",
            ),
            overdue(p1, V1, "m2"),
        ],
    )
    await append(
        runtime,
        f"project-{p2}",
        V3,
        [
            project(p2, V3, ids["A3"], ids["E3"], "民宿改造", "800000.00", ["m1"]),
            investment(p2, V3, 1, "800000.00"),
            overdue(p2, V3, "m1"),
            ProjectMilestoneReached(
                project_id=p2,
                village_code=V3,
                milestone_id="m1",
                reached_on=date(2027, 3, 10),
                evidence_ref="验收-002",
            ),
            ProjectCompleted(
                project_id=p2,
                village_code=V3,
                completed_on=date(2027, 4, 1),
                assets=[
                    Asset(
                        kind=AssetKind.operating,
                        description="民宿 6 间",
                        value_yuan=Decimal("780000.00"),
                        handed_to="石门村集体",
                    )
                ],
            ),
        ],
    )

    c1, c2 = uuid.uuid4(), uuid.uuid4()
    b1, b2, b3, b4 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ids.update(C1=str(c1), C2=str(c2), B1=str(b1), B2=str(b2), B3=str(b3), B4=str(b4))
    await append(
        runtime,
        f"cooperative-{c1}",
        V1,
        [
            CooperativeRegistered(
                cooperative_id=c1,
                code="93150602MA0001",
                name="丰收合作社",
                village_code=V1,
                leading_industry="蔬菜",
            ),
            binding(b1, c1, household=H1, village=V1),
            binding(b2, c1, household=H2, village=V1),
            binding(b3, c1, enterprise=uuid.UUID(ids["E1"])),
            BindingEnded(binding_id=b2, cooperative_id=c1, ended_on=date(2027, 1, 1), reason="外出务工"),
        ],
    )
    await append(
        runtime,
        f"cooperative-{c2}",
        V3,
        [
            CooperativeRegistered(
                cooperative_id=c2,
                code="93150602MA0002",
                name="山泉合作社",
                village_code=V3,
                leading_industry="民宿",
            ),
            binding(b4, c2, household=H3, village=V3),
        ],
    )
    await settle(runtime)
    return ids


def project(
    project_id: uuid.UUID,
    village: str,
    agreement: str,
    enterprise: str,
    name: str,
    budget: str,
    milestones: list[str],
) -> ProjectRegistered:
    return ProjectRegistered(
        project_id=project_id,
        village_code=village,
        agreement_ids=[uuid.UUID(agreement)],
        enterprise_ids=[uuid.UUID(enterprise)],
        name=name,
        industry="设施农业",
        budget_yuan=Decimal(budget),
        funding=[Funding(source=FundingSource.enterprise, amount_yuan=Decimal(budget))],
        shareholding=[Share(holder=HolderKind.village_collective, percent=Decimal(100))],
        beneficiary_households=120,
        jobs=30,
        milestones=[
            MilestonePlan(milestone_id=m, name=f"节点{m}", due_on=date(2027, 1 + 3 * n, 1))
            for n, m in enumerate(milestones)
        ],
    )


def investment(project_id: uuid.UUID, village: str, tranche: int, amount: str) -> ProjectInvestmentRecorded:
    return ProjectInvestmentRecorded(
        project_id=project_id,
        village_code=village,
        tranche=tranche,
        source=FundingSource.enterprise,
        amount_yuan=Decimal(amount),
        invested_on=date(2027, 1, tranche),
    )


def overdue(project_id: uuid.UUID, village: str, milestone: str) -> ProjectMilestoneOverdue:
    return ProjectMilestoneOverdue(
        project_id=project_id,
        village_code=village,
        milestone_id=milestone,
        due_on=date(2027, 4, 1),
        detected_on=date(2027, 4, 2),
    )


def binding(
    binding_id: uuid.UUID,
    cooperative_id: uuid.UUID,
    *,
    household: uuid.UUID | None = None,
    village: str | None = None,
    enterprise: uuid.UUID | None = None,
) -> BindingEstablished:
    return BindingEstablished(
        binding_id=binding_id,
        kind=BindingKind.cooperative_household if household else BindingKind.enterprise_cooperative,
        cooperative_id=cooperative_id,
        household_id=household,
        household_village_code=village,
        enterprise_id=enterprise,
        form=BindingForm.order if enterprise else BindingForm.equity,
        started_on=date(2026, 10, 1),
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(database_url: str, nats_url: str) -> AsyncIterator[World]:
    settings = isolated_settings(database_url, nats_url)
    try:
        app = pairing_app(settings, clock=CLOCK)
        async with running(app) as client:
            runtime: Runtime = app.state.runtime
            ids = await build_world(client, runtime, settings)
            yield World(client, runtime, settings, ids)
    finally:
        await cleanup(settings)


# --- enterprises ----------------------------------------------------------------------------


async def test_enterprises_of_the_county_and_those_paired_with_its_villages(world: World) -> None:
    ids = world.ids
    page = await world.ok("/enterprises")
    # E3 is registered in county 150603 but paired with a village here; E4 is not.
    assert {i["enterprise_id"] for i in page["items"]} == {ids["E1"], ids["E2"], ids["E3"]}
    assert (page["page"], page["page_size"], page["total"]) == (1, 20, 3)
    e1 = next(i for i in page["items"] if i["enterprise_id"] == ids["E1"])
    assert e1 == {
        "enterprise_id": ids["E1"],
        "name": "绿源农业",
        "credit_code": credit_code(1),
        "kind": "private_enterprise",
        "county_code": "150602",
        "leading": True,
        "leading_level": "provincial",
        "active_agreements": 1,
    }
    federation = await world.ok("/enterprises", as_role=Role.federation_officer, as_region="15")
    assert federation["total"] == 4
    county_150603 = await world.ok(
        "/enterprises", as_role=Role.federation_officer, as_region="15", region="150603"
    )
    assert {i["enterprise_id"] for i in county_150603["items"]} == {ids["E3"], ids["E4"]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "state_owned"}, ["E2"]),
        ({"leading": "true"}, ["E1", "E3"]),
        ({"leading": "false"}, ["E2"]),
        ({"county_code": "150603"}, ["E3"]),
        ({"q": "绿源"}, ["E1"]),
        ({"q": credit_code(2)[8:].lower()}, ["E2"]),  # case-insensitive, anywhere in the code
        ({"q": "%"}, []),  # a wildcard is taken literally
        ({"kind": "state_owned", "leading": "true"}, []),
    ],
)
async def test_enterprise_filters(world: World, params: dict[str, str], expected: list[str]) -> None:
    page = await world.ok("/enterprises", **params)
    assert sorted(i["enterprise_id"] for i in page["items"]) == sorted(world.ids[k] for k in expected)
    assert page["total"] == len(expected)


async def test_pages_partition_the_list_in_a_stable_order(world: World) -> None:
    first = await world.ok("/enterprises", page_size=2)
    second = await world.ok("/enterprises", page_size=2, page=2)
    beyond = await world.ok("/enterprises", page_size=2, page=3)
    whole = await world.ok("/enterprises", page_size=200)
    assert (first["total"], second["total"], beyond["total"]) == (3, 3, 3)
    assert (len(first["items"]), len(second["items"]), beyond["items"]) == (2, 1, [])
    assert first["items"] + second["items"] == whole["items"]
    assert (second["page"], second["page_size"]) == (2, 2)
    assert await world.ok("/enterprises", page_size=2) == first


# --- villages -------------------------------------------------------------------------------


async def test_villages_with_active_enterprises_and_latest_income(world: World) -> None:
    page = await world.ok("/villages")
    assert page["total"] == 3
    assert [v["code"] for v in page["items"]] == [V1, V2, V3]  # by code
    v1, v2, v3 = page["items"]
    assert v1 == {
        "code": V1,
        "name": "柳树村",
        "category": "key_support",
        "former_poverty_village": True,
        "active_enterprises": 2,
        "latest_income": {"year": 2025, "income_yuan": "150000.50"},
    }
    assert (v2["active_enterprises"], v2["latest_income"]) == (0, None)
    assert v3["active_enterprises"] == 1


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "demonstration"}, [V2]),
        ({"former_poverty_village": "true"}, [V1, V3]),
        ({"former_poverty_village": "false"}, [V2]),
        ({"township": TOWNSHIP_2}, [V3]),
        ({"q": "杏花"}, [V2]),
        ({"q": V3[6:]}, [V3]),
        ({"q": "村"}, [V1, V2, V3]),
        ({"township": TOWNSHIP_1, "former_poverty_village": "true"}, [V1]),
    ],
)
async def test_village_filters(world: World, params: dict[str, str], expected: list[str]) -> None:
    page = await world.ok("/villages", **params)
    assert [v["code"] for v in page["items"]] == expected
    assert page["total"] == len(expected)


async def test_a_village_with_incomes_agreements_and_projects(world: World) -> None:
    ids = world.ids
    village = await world.ok(f"/villages/{V1}")
    assert village["incomes"] == [
        {"year": 2024, "income_yuan": "100000.00"},
        {"year": 2025, "income_yuan": "150000.50"},
    ]
    assert village["latest_income"] == {"year": 2025, "income_yuan": "150000.50"}
    assert [a["agreement_id"] for a in village["agreements"]] == sorted([ids["A1"], ids["A2"]])
    assert {a["enterprise_name"] for a in village["agreements"]} == {"绿源农业", "国投建设"}
    assert [p["project_id"] for p in village["projects"]] == [ids["P1"]]

    missing = await world.get(f"/villages/{village_code(500)}")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    outside = await world.get(f"/villages/{V1}", as_role=Role.township_officer, as_region=TOWNSHIP_2)
    assert outside.status_code == 403
    assert outside.json()["errors"] == [{"field": "code", "reason": "outside the caller's region"}]
    bad = await world.get("/villages/15060210000x")
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["path.code"]


# --- agreements -----------------------------------------------------------------------------


async def test_agreements_carry_their_terms_and_status(world: World) -> None:
    ids = world.ids
    page = await world.ok("/agreements")
    assert page["total"] == 3
    # By signing date: A3 was signed a month before the others.
    assert [a["agreement_id"] for a in page["items"]] == [ids["A3"], ids["A1"], ids["A2"]]
    a2 = next(a for a in page["items"] if a["agreement_id"] == ids["A2"])
    assert a2 == {
        "agreement_id": ids["A2"],
        "village_code": V1,
        "village_name": "柳树村",
        "enterprise_id": ids["E2"],
        "enterprise_name": "国投建设",
        "signed_on": "2026-11-01",
        "term_years": 3,
        "document_ref": "XC-2026-001",
        "pathways": ["consumption"],
        "mode": "leading_enterprise",
        "commitments": {
            "investment_yuan": "1500000.00",
            "jobs": 20,
            "trainees": 5,
            "purchases_yuan": "0.00",
            "donations_yuan": "0.00",
        },
        "status": "active",
        "terminated_on": None,
        "termination_reason": None,
        "relays_agreement_id": None,
        "successor_agreement_id": None,
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"village_code": V1}, ["A1", "A2"]),
        ({"enterprise_id": "E3"}, ["A3"]),
        ({"status": "active"}, ["A1", "A2", "A3"]),
        ({"status": "terminated"}, []),
        ({"pathway": "consumption"}, ["A2"]),
        ({"pathway": "industry"}, ["A1", "A3"]),
        ({"mode": "agri_tourism"}, ["A3"]),
        ({"village_code": V1, "pathway": "industry"}, ["A1"]),
    ],
)
async def test_agreement_filters(world: World, params: dict[str, str], expected: list[str]) -> None:
    params = {k: world.ids.get(v, v) for k, v in params.items()}
    page = await world.ok("/agreements", **params)
    assert sorted(a["agreement_id"] for a in page["items"]) == sorted(world.ids[k] for k in expected)
    assert page["total"] == len(expected)


# --- projects -------------------------------------------------------------------------------


async def test_projects_with_investment_and_milestone_progress(world: World) -> None:
    ids = world.ids
    page = await world.ok("/projects")
    assert [p["project_id"] for p in page["items"]] == [ids["P1"], ids["P2"]]  # as registered
    p1, p2 = page["items"]
    assert p1 == {
        "project_id": ids["P1"],
        "village_code": V1,
        "name": "蔬菜大棚",
        "industry": "设施农业",
        "agreement_ids": [ids["A1"]],
        "enterprise_ids": [ids["E1"]],
        "budget_yuan": "2000000.00",
        "invested_yuan": "750000.50",
        "beneficiary_households": 120,
        "jobs": 30,
        "milestones_reached": 1,
        "milestones_total": 3,
        "milestones_overdue": 1,
        "overdue": True,
        "status": "in_progress",
        "completed_on": None,
        "assets_yuan": None,
    }
    # Reported overdue, then reached: no longer overdue.
    assert (p2["milestones_reached"], p2["milestones_total"], p2["overdue"]) == (1, 1, False)
    assert (p2["status"], p2["completed_on"], p2["assets_yuan"]) == ("completed", "2027-04-01", "780000.00")
    assert p2["invested_yuan"] == "800000.00"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "completed"}, ["P2"]),
        ({"status": "in_progress"}, ["P1"]),
        ({"overdue": "true"}, ["P1"]),
        ({"overdue": "false"}, ["P2"]),
        ({"village_code": V3}, ["P2"]),
        ({"enterprise_id": "E1"}, ["P1"]),
        ({"enterprise_id": "E2"}, []),
    ],
)
async def test_project_filters(world: World, params: dict[str, str], expected: list[str]) -> None:
    params = {k: world.ids.get(v, v) for k, v in params.items()}
    page = await world.ok("/projects", **params)
    assert [p["project_id"] for p in page["items"]] == [world.ids[k] for k in expected]
    assert page["total"] == len(expected)


# --- cooperatives and bindings --------------------------------------------------------------


async def test_cooperatives_count_their_active_bindings(world: World) -> None:
    ids = world.ids
    page = await world.ok("/cooperatives")
    by_id = {c["cooperative_id"]: c for c in page["items"]}
    assert by_id[ids["C1"]] == {
        "cooperative_id": ids["C1"],
        "code": "93150602MA0001",
        "name": "丰收合作社",
        "village_code": V1,
        "leading_industry": "蔬菜",
        "active_household_bindings": 1,  # H2's binding ended
        "active_enterprise_bindings": 1,
    }
    assert (
        by_id[ids["C2"]]["active_household_bindings"],
        by_id[ids["C2"]]["active_enterprise_bindings"],
    ) == (
        1,
        0,
    )
    assert await world.listed("/cooperatives", "cooperative_id", q="丰收") == [ids["C1"]]
    assert await world.listed("/cooperatives", "cooperative_id", q="ma0002") == [ids["C2"]]
    assert await world.listed("/cooperatives", "cooperative_id", village_code=V3) == [ids["C2"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"cooperative_id": "C1"}, ["B1", "B2", "B3"]),
        ({"household_id": "H2"}, ["B2"]),
        ({"enterprise_id": "E1"}, ["B3"]),
        ({"active": "false"}, ["B2"]),
        ({"active": "true", "cooperative_id": "C1"}, ["B1", "B3"]),
    ],
)
async def test_binding_filters(world: World, params: dict[str, str], expected: list[str]) -> None:
    households = {"H1": str(H1), "H2": str(H2), "H3": str(H3)}
    params = {k: world.ids.get(v, households.get(v, v)) for k, v in params.items()}
    page = await world.ok("/bindings", **params)
    assert sorted(b["binding_id"] for b in page["items"]) == sorted(world.ids[k] for k in expected)
    assert page["total"] == len(expected)


async def test_an_ended_binding_keeps_its_end(world: World) -> None:
    [ended] = (await world.ok("/bindings", active="false"))["items"]
    assert ended["household_id"] == str(H2)
    assert (ended["ended_on"], ended["end_reason"], ended["active"]) == ("2027-01-01", "外出务工", False)
    assert (ended["cooperative_name"], ended["village_code"], ended["kind"]) == (
        "丰收合作社",
        V1,
        "cooperative_household",
    )


# --- region scope ---------------------------------------------------------------------------

LISTS = {
    "/enterprises": "enterprise_id",
    "/villages": "code",
    "/agreements": "agreement_id",
    "/projects": "project_id",
    "/cooperatives": "cooperative_id",
    "/bindings": "binding_id",
}


async def test_a_township_officer_sees_only_its_township(world: World) -> None:
    ids = world.ids
    seen = {
        path: await world.listed(path, key, as_role=Role.township_officer, as_region=TOWNSHIP_2)
        for path, key in LISTS.items()
    }
    assert seen == {
        "/enterprises": [ids["E3"]],  # paired with V3; the others' counties are not in a township
        "/villages": [V3],
        "/agreements": [ids["A3"]],
        "/projects": [ids["P2"]],
        "/cooperatives": [ids["C2"]],
        "/bindings": [ids["B4"]],
    }
    # A county officer narrowing to the township sees the same.
    for path, key in LISTS.items():
        assert await world.listed(path, key, region=TOWNSHIP_2) == seen[path]


@pytest.mark.parametrize("role", [Role.viewer, Role.enterprise, Role.village_officer, Role.platform])
async def test_any_role_reads_inside_its_region(world: World, role: Role) -> None:
    assert await world.listed("/villages", "code", as_role=role, as_region=V2) == [V2]


@pytest.mark.parametrize("path", list(LISTS))
async def test_a_region_outside_the_callers_is_refused(world: World, path: str) -> None:
    response = await world.get(path, as_role=Role.township_officer, as_region=TOWNSHIP_2, region="150602")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Outside your region"
    assert body["errors"] == [{"field": "region", "reason": "outside the caller's region"}]
    sibling = await world.get(path, as_role=Role.township_officer, as_region=TOWNSHIP_2, region=TOWNSHIP_1)
    assert sibling.status_code == 403


async def test_reading_needs_a_token(world: World) -> None:
    response = await world.client.get("/villages")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


# --- bad filters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/enterprises", {"kind": "bank"}, "query.kind"),
        ("/enterprises", {"leading": "maybe"}, "query.leading"),
        ("/enterprises", {"county_code": "15060"}, "query.county_code"),
        ("/enterprises", {"q": "  "}, "query.q"),
        ("/enterprises", {"page": "0"}, "query.page"),
        ("/enterprises", {"page_size": "201"}, "query.page_size"),
        ("/enterprises", {"region": "15a"}, "query.region"),
        ("/enterprises", {"colour": "red"}, "query.colour"),
        ("/villages", {"category": "capital"}, "query.category"),
        ("/villages", {"former_poverty_village": "sometimes"}, "query.former_poverty_village"),
        ("/villages", {"township": "15060210"}, "query.township"),
        ("/agreements", {"status": "paused"}, "query.status"),
        ("/agreements", {"enterprise_id": "not-a-uuid"}, "query.enterprise_id"),
        ("/agreements", {"pathway": "tourism"}, "query.pathway"),
        ("/agreements", {"mode": "alone"}, "query.mode"),
        ("/agreements", {"village_code": "1506021000"}, "query.village_code"),
        ("/projects", {"status": "late"}, "query.status"),
        ("/projects", {"overdue": "perhaps"}, "query.overdue"),
        ("/cooperatives", {"village_code": "x"}, "query.village_code"),
        ("/bindings", {"active": "often"}, "query.active"),
        ("/bindings", {"cooperative_id": "42"}, "query.cooperative_id"),
        ("/bindings", {"household_id": "h"}, "query.household_id"),
    ],
)
async def test_bad_filters_are_refused_naming_the_field(
    world: World, path: str, params: dict[str, str], field: str
) -> None:
    response = await world.get(path, **params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422
    assert [e["field"] for e in body["errors"]] == [field]


# --- contract -------------------------------------------------------------------------------


async def test_the_openapi_document_describes_every_list(world: World) -> None:
    document = (await world.client.get("/openapi.json")).json()
    for path in [*LISTS, "/villages/{code}"]:
        operation = document["paths"][path]["get"]
        assert operation["summary"]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert {"403", "422"} <= set(operation["responses"])
    parameters = {p["name"] for p in document["paths"]["/agreements"]["get"]["parameters"]}
    assert {"page", "page_size", "region", "village_code", "enterprise_id", "status"} <= parameters
    money = document["components"]["schemas"]["ProjectItem"]["properties"]["invested_yuan"]
    assert money["type"] == "string"


# --- idempotence and rebuild (last: the rebuild empties the tables for a moment) -----------

SNAPSHOT = [f"SELECT * FROM {table} ORDER BY 1, 2" for table in Directory.tables]


async def snapshot(runtime: Runtime) -> list[list[tuple[Any, ...]]]:
    async with runtime.engine.connect() as conn:
        return [[tuple(r) for r in (await conn.execute(text(sql))).all()] for sql in SNAPSHOT]


async def test_applying_every_event_again_changes_nothing(world: World) -> None:
    live = await snapshot(world.runtime)
    async with world.runtime.engine.begin() as conn:
        stored = await conn.execute(
            text("SELECT envelope::text FROM events ORDER BY stream_id, stream_version")
        )
        envelopes = [Envelope.model_validate_json(row[0]) for row in stored.all()]
        projection = Directory()
        for envelope in envelopes:  # straight to apply: no checkpoint stops the second time
            assert projection.handles(envelope.type)
            await projection.apply(conn, envelope, decode(envelope))
    assert await snapshot(world.runtime) == live


async def test_a_rebuild_reproduces_the_directory(world: World) -> None:
    live = await snapshot(world.runtime)
    assert all(live)  # every table has rows
    replayed = await rebuild_projection(Directory.name, world.settings)
    assert replayed == await scalar(world.runtime, "SELECT count(*) FROM events")
    assert await snapshot(world.runtime) == live


# --- the agreement lifecycle ----------------------------------------------------------------


async def test_an_agreement_is_active_then_needs_relay_then_relayed(settings: Settings) -> None:
    officer = token(settings, Role.county_officer, "150602")
    app = pairing_app(settings, clock=CLOCK)
    async with running(app) as client:
        runtime: Runtime = app.state.runtime
        e1, e2, e3 = [await register(client, "/enterprises", enterprise_body(n), officer) for n in (1, 2, 3)]
        await register(client, "/villages", village_body(1), officer)
        a1 = await register(client, "/agreements", agreement_body(e1, V1), officer)
        a2 = await register(client, "/agreements", agreement_body(e2, V1), officer)

        async def statuses() -> dict[str, str]:
            await settle(runtime)
            response = await client.get("/agreements", params={"page_size": 200}, headers=officer)
            return {a["agreement_id"]: a["status"] for a in response.json()["items"]}

        async def listed(**params: str) -> list[str]:
            response = await client.get("/agreements", params=params, headers=officer)
            return [a["agreement_id"] for a in response.json()["items"]]

        assert await statuses() == {a1: "active", a2: "active"}

        # Terminated with nobody taking over: it needs a relay (接力帮扶).
        await append(runtime, f"village-{V1}", V1, [terminated(a1, e1, V1)])
        assert await statuses() == {a1: "needs_relay", a2: "active"}
        assert await listed(status="needs_relay") == [a1]
        assert await listed(status="terminated") == [a1]
        assert await listed(status="relayed") == []
        village = (await client.get(f"/villages/{V1}", headers=officer)).json()
        assert village["active_enterprises"] == 1
        [ended] = [a for a in village["agreements"] if a["agreement_id"] == a1]
        assert (ended["terminated_on"], ended["termination_reason"]) == ("2026-12-31", "经营困难")
        assert ended["successor_agreement_id"] is None

        # Another enterprise signs a relay naming it: relayed, and the relay records whom it relays.
        r1 = uuid.uuid4()
        await append(runtime, f"village-{V1}", V1, [signed(r1, e3, V1, relays=uuid.UUID(a1))])
        assert await statuses() == {a1: "relayed", a2: "active", str(r1): "active"}
        assert await listed(status="relayed") == [a1]
        assert await listed(status="terminated") == [a1]
        assert await listed(status="needs_relay") == []
        items = (await client.get("/agreements", params={"village_code": V1}, headers=officer)).json()[
            "items"
        ]
        by_id = {a["agreement_id"]: a for a in items}
        assert by_id[a1]["successor_agreement_id"] == str(r1)
        assert by_id[str(r1)]["relays_agreement_id"] == a1
        assert by_id[str(r1)]["enterprise_name"] == "企业3"

        # Terminated and relayed in one step: relayed at once, never needing a relay.
        r2 = uuid.uuid4()
        await append(
            runtime,
            f"village-{V1}",
            V1,
            [terminated(a2, e2, V1, successor=r2), signed(r2, e1, V1, relays=uuid.UUID(a2))],
        )
        assert await statuses() == {a1: "relayed", a2: "relayed", str(r1): "active", str(r2): "active"}
        village = (await client.get(f"/villages/{V1}", headers=officer)).json()
        assert village["active_enterprises"] == 2
