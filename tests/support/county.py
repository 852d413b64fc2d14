"""A small county driven through the pairing and monitoring APIs, with a ledger of what was entered.

Two townships, five villages, four enterprises, agreements over several pathways and modes (one
terminated and relayed, one terminated without a relay, one signed in the second half-year), three
projects with tranches in both half-years and milestones (one overdue), two cooperatives with
household and enterprise bindings, twelve households across statuses with surveys, flags through
the whole workflow (enrolled, rejected, eliminated, re-flagged, one on the urgent path) and contacts.

Every call goes over HTTP to in-process services sharing one ``FixedClock`` (12:00 China time of the
scenario's day); the ``Ledger`` keeps each fact as the test entered it, with the moment it was
recorded, so that a test computes the figures it expects from the ledger alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI

from services.monitoring.app import create as monitoring_app
from services.pairing.app import create as pairing_app
from services.reporting.app import create as reporting_app
from shared.auth import Role
from shared.clock import CHINA, FixedClock
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.monitoring import annual_survey, citizen_id, quarterly_survey
from tests.support.pairing import credit_code, enterprise_body

COUNTY = "150602"
T1, T2 = "150602101", "150602102"
V1, V2, V3 = f"{T1}001", f"{T1}002", f"{T1}003"
V4, V5 = f"{T2}001", f"{T2}002"
START = date(2026, 1, 5)
CLOSED_PERIOD = "2026H1"
# The scenario's last day: the tables are read as of then (12:00 China time).
END = date(2026, 8, 20)


def noon(day: date) -> datetime:
    return datetime.combine(day, time(4), UTC)  # 12:00 China time


def end_of_day(day: date) -> datetime:
    """What ``as_of=<day>`` means to the API: the last moment of that China day."""
    return datetime.combine(day + timedelta(days=1), time(), CHINA) - timedelta(microseconds=1)


# -- the ledger -------------------------------------------------------------------------------------


@dataclass
class VillageFact:
    code: str
    name: str
    category: str
    former_poverty_village: bool
    at: datetime


@dataclass
class IncomeFact:
    village: str
    year: int
    amount: Decimal
    at: datetime


@dataclass
class EnterpriseFact:
    key: str  # E1…E4
    id: str
    name: str
    credit_code: str
    kind: str
    leading_level: str | None
    at: datetime


@dataclass
class AgreementFact:
    key: str
    id: str
    village: str
    enterprise: str  # its key
    signed_on: date
    term_years: int
    document_ref: str
    pathways: tuple[str, ...]
    mode: str
    investment: Decimal
    jobs: int
    trainees: int
    purchases: Decimal
    donations: Decimal
    at: datetime
    relays: str | None = None  # key of the agreement it relays
    terminated_on: date | None = None
    terminated_at: datetime | None = None
    relayed_by: str | None = None  # key of its relay
    relayed_at: datetime | None = None

    def status(self, t: datetime) -> str:
        if self.relayed_at is not None and self.relayed_at <= t:
            return "relayed"
        if self.terminated_at is not None and self.terminated_at <= t:
            return "needs_relay"
        return "active"


@dataclass
class MilestoneFact:
    id: str
    name: str
    due_on: date
    reached_on: date | None = None
    reached_at: datetime | None = None

    def reached(self, t: datetime) -> bool:
        return self.reached_at is not None and self.reached_at <= t


@dataclass
class ProjectFact:
    key: str
    id: str
    village: str
    agreements: tuple[str, ...]  # keys
    enterprises: tuple[str, ...]  # keys
    name: str
    industry: str
    budget: Decimal
    beneficiaries: int
    jobs: int
    registered_on: date
    at: datetime
    milestones: list[MilestoneFact]
    completed_on: date | None = None
    completed_at: datetime | None = None
    assets: Decimal | None = None

    def completed(self, t: datetime) -> bool:
        return self.completed_at is not None and self.completed_at <= t


@dataclass
class TrancheFact:
    project: str  # key
    village: str
    amount: Decimal
    invested_on: date
    at: datetime


@dataclass
class CooperativeFact:
    key: str
    id: str
    name: str
    village: str
    at: datetime


@dataclass
class BindingFact:
    id: str
    kind: str
    cooperative: str  # key
    household: str | None  # key
    enterprise: str | None  # key
    started_on: date
    at: datetime
    ended_on: date | None = None
    ended_at: datetime | None = None


@dataclass
class StepFact:
    kind: str  # flagged, verified, deliberated, reviewed, enrolled, flag_rejected, contact_assigned,
    # elimination_proposed, eliminated (the elimination procedure's verified/… carry procedure)
    on_date: date
    at: datetime
    stage: str | None  # the household's stage after it
    category: str | None  # its category after it
    procedure: str | None = None
    urgent: bool = False
    reflagged: bool = False


@dataclass
class HouseholdFact:
    key: str
    id: str
    village: str
    status: str
    members: int
    labourers: int
    at: datetime
    steps: list[StepFact] = field(default_factory=list)

    def steps_by(self, t: datetime) -> list[StepFact]:
        return [s for s in self.steps if s.at <= t]

    def stage(self, t: datetime) -> str | None:
        steps = [s for s in self.steps_by(t) if s.kind not in ("contact_assigned",)]
        return steps[-1].stage if steps else None

    def category(self, t: datetime) -> str | None:
        steps = [s for s in self.steps_by(t) if s.kind not in ("contact_assigned",)]
        return steps[-1].category if steps else None

    def monitored(self, t: datetime) -> bool:
        stage = self.stage(t)
        return stage is not None and (stage == "monitored" or stage.startswith("elimination_"))


@dataclass
class SurveyFact:
    household: str  # key
    period: str
    surveyed_on: date
    at: datetime
    members: int | None = None
    income: Decimal | None = None
    medical_insured_all: bool | None = None
    housing_safe: bool | None = None
    drinking_water_safe: bool | None = None
    children: int | None = None
    out_of_school: int | None = None


@dataclass
class Ledger:
    """What the test entered, each with the moment it was recorded."""

    villages: list[VillageFact] = field(default_factory=list)
    incomes: list[IncomeFact] = field(default_factory=list)
    enterprises: dict[str, EnterpriseFact] = field(default_factory=dict)
    agreements: dict[str, AgreementFact] = field(default_factory=dict)
    projects: dict[str, ProjectFact] = field(default_factory=dict)
    tranches: list[TrancheFact] = field(default_factory=list)
    cooperatives: dict[str, CooperativeFact] = field(default_factory=dict)
    bindings: list[BindingFact] = field(default_factory=list)
    households: dict[str, HouseholdFact] = field(default_factory=dict)
    surveys: list[SurveyFact] = field(default_factory=list)
    closed_at: dict[str, datetime] = field(default_factory=dict)  # period → when the county closed it
    indicator_current: dict[str, Decimal] = field(default_factory=dict)
    card_changes: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)  # as published


# -- the officers at their desks ---------------------------------------------------------------------


@dataclass
class County:
    """Clients of the three services, a county-wide token per role and the clock they share."""

    settings: Settings
    clock: FixedClock
    pairing: httpx.AsyncClient
    monitoring: httpx.AsyncClient
    reporting: httpx.AsyncClient
    reporting_app: FastAPI
    ledger: Ledger = field(default_factory=Ledger)
    tokens: dict[Role, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tokens = {role: token(self.settings, role, COUNTY) for role in Role}

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def on(self, day: date) -> None:
        """Move the clock on to 12:00 of ``day`` (never back: the ledger's moments stay in order)."""
        moment = noon(day)
        assert moment >= self.clock.now(), f"the scenario goes back in time to {day}"
        self.clock.set(moment)

    async def call(
        self, client: httpx.AsyncClient, path: str, body: dict[str, Any], role: Role, method: str = "POST"
    ) -> dict[str, Any]:
        response = await client.request(method, path, json=body, headers=self.tokens[role])
        assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text}"
        result: dict[str, Any] = response.json()
        return result

    async def pair(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call(self.pairing, path, body, Role.federation_officer)

    # -- pairing ----------------------------------------------------------------------------------

    async def village(
        self, code: str, name: str, category: str, former_poor: bool, incomes: dict[int, str]
    ) -> None:
        body = {
            "village_code": code,
            "name": name,
            "category": category,
            "former_poverty_village": former_poor,
            "collective_incomes": [{"year": y, "income_yuan": v} for y, v in incomes.items()],
        }
        await self.pair("/villages", body)
        self.ledger.villages.append(VillageFact(code, name, category, former_poor, self.now))
        for year, value in incomes.items():
            self.ledger.incomes.append(IncomeFact(code, year, Decimal(value), self.now))

    async def income(self, village: str, year: int, value: str) -> None:
        await self.pair(f"/villages/{village}/incomes", {"year": year, "income_yuan": value})
        self.ledger.incomes.append(IncomeFact(village, year, Decimal(value), self.now))

    async def enterprise(self, key: str, n: int, kind: str, leading_level: str | None = None) -> None:
        body = enterprise_body(n, name=f"县企业{key}", kind=kind)
        if leading_level:
            body["leading_level"] = leading_level
        created = await self.pair("/enterprises", body)
        self.ledger.enterprises[key] = EnterpriseFact(
            key, created["id"], body["name"], credit_code(n), kind, leading_level, self.now
        )

    def _commitments(self, c: dict[str, Any]) -> dict[str, Any]:
        return {k: str(v) if k.endswith("_yuan") else v for k, v in c.items()}

    async def agreement(
        self,
        key: str,
        enterprise: str,
        village: str,
        pathways: tuple[str, ...],
        mode: str,
        *,
        investment: str = "0",
        jobs: int = 0,
        trainees: int = 0,
        purchases: str = "0",
        donations: str = "0",
        term_years: int = 3,
    ) -> None:
        commitments = {
            "investment_yuan": investment,
            "jobs": jobs,
            "trainees": trainees,
            "purchases_yuan": purchases,
            "donations_yuan": donations,
        }
        signed_on = self.today
        body = {
            "enterprise_id": self.ledger.enterprises[enterprise].id,
            "village_code": village,
            "signed_on": signed_on.isoformat(),
            "term_years": term_years,
            "document_ref": f"XC-{key}",
            "pathways": list(pathways),
            "mode": mode,
            "commitments": commitments,
        }
        created = await self.pair("/agreements", body)
        self.ledger.agreements[key] = self._agreement_fact(key, created["id"], body, enterprise)

    def _agreement_fact(self, key: str, id_: str, body: dict[str, Any], enterprise: str) -> AgreementFact:
        c = body["commitments"]
        return AgreementFact(
            key=key,
            id=id_,
            village=body.get("village_code", ""),
            enterprise=enterprise,
            signed_on=date.fromisoformat(body["signed_on"]),
            term_years=body["term_years"],
            document_ref=body["document_ref"],
            pathways=tuple(body["pathways"]),
            mode=body["mode"],
            investment=Decimal(c["investment_yuan"]),
            jobs=c["jobs"],
            trainees=c["trainees"],
            purchases=Decimal(c["purchases_yuan"]),
            donations=Decimal(c["donations_yuan"]),
            at=self.now,
        )

    async def terminate(self, key: str, relay: dict[str, Any] | None = None) -> None:
        """Terminate agreement ``key`` today; ``relay`` (its key, enterprise, pathways, mode,
        commitments) signs the relay in the same step."""
        agreement = self.ledger.agreements[key]
        body: dict[str, Any] = {"terminated_on": self.today.isoformat(), "reason": "企业经营调整"}
        relay_body = None
        if relay is not None:
            relay_body = {
                "enterprise_id": self.ledger.enterprises[relay["enterprise"]].id,
                "signed_on": self.today.isoformat(),
                "term_years": 3,
                "document_ref": f"XC-{relay['key']}",
                "pathways": list(relay["pathways"]),
                "mode": relay["mode"],
                "commitments": relay["commitments"],
            }
            body["relay"] = relay_body
        done = await self.pair(f"/villages/{agreement.village}/agreements/{agreement.id}/termination", body)
        agreement.terminated_on, agreement.terminated_at = self.today, self.now
        if relay is not None and relay_body is not None:
            fact = self._agreement_fact(
                relay["key"],
                done["relay_agreement_id"],
                {**relay_body, "village_code": agreement.village},
                relay["enterprise"],
            )
            fact.relays = key
            self.ledger.agreements[relay["key"]] = fact
            agreement.relayed_by, agreement.relayed_at = relay["key"], self.now

    async def project(
        self,
        key: str,
        village: str,
        agreements: tuple[str, ...],
        enterprises: tuple[str, ...],
        budget: str,
        milestones: list[tuple[str, str, date]],
        *,
        beneficiaries: int,
        jobs: int,
    ) -> None:
        name = f"项目{key}"
        body = {
            "village_code": village,
            "agreement_ids": [self.ledger.agreements[a].id for a in agreements],
            "enterprise_ids": [self.ledger.enterprises[e].id for e in enterprises],
            "name": name,
            "industry": f"产业{key}",
            "budget_yuan": budget,
            "funding": [{"source": "enterprise", "amount_yuan": budget}],
            "shareholding": [
                {"holder": "village_collective", "percent": "20"},
                {"holder": "villagers", "percent": "80"},
            ],
            "beneficiary_households": beneficiaries,
            "jobs": jobs,
            "milestones": [
                {"milestone_id": m, "name": n, "due_on": due.isoformat()} for m, n, due in milestones
            ],
        }
        created = await self.pair("/projects", body)
        self.ledger.projects[key] = ProjectFact(
            key=key,
            id=created["id"],
            village=village,
            agreements=agreements,
            enterprises=enterprises,
            name=name,
            industry=f"产业{key}",
            budget=Decimal(budget),
            beneficiaries=beneficiaries,
            jobs=jobs,
            registered_on=self.today,
            at=self.now,
            milestones=[MilestoneFact(m, n, due) for m, n, due in milestones],
        )

    async def invest(self, project: str, amount: str, invested_on: date | None = None) -> None:
        fact = self.ledger.projects[project]
        day = invested_on or self.today
        body = {"source": "enterprise", "amount_yuan": amount, "invested_on": day.isoformat()}
        await self.pair(f"/projects/{fact.id}/investments", body)
        self.ledger.tranches.append(TrancheFact(project, fact.village, Decimal(amount), day, self.now))

    async def reach(self, project: str, milestone: str) -> None:
        fact = self.ledger.projects[project]
        body = {"reached_on": self.today.isoformat(), "evidence_ref": f"验收-{milestone}"}
        await self.pair(f"/projects/{fact.id}/milestones/{milestone}/reached", body)
        reached = next(m for m in fact.milestones if m.id == milestone)
        reached.reached_on, reached.reached_at = self.today, self.now

    async def complete(self, project: str, assets: str) -> None:
        fact = self.ledger.projects[project]
        asset = {"kind": "operating", "description": "厂房", "value_yuan": assets, "handed_to": "村集体"}
        body = {"completed_on": self.today.isoformat(), "assets": [asset]}
        await self.pair(f"/projects/{fact.id}/completion", body)
        fact.completed_on, fact.completed_at, fact.assets = self.today, self.now, Decimal(assets)

    async def cooperative(self, key: str, n: int, village: str) -> None:
        body = {"code": credit_code(900 + n), "name": f"合作社{key}", "village_code": village}
        created = await self.pair("/cooperatives", {**body, "leading_industry": "肉牛养殖"})
        self.ledger.cooperatives[key] = CooperativeFact(key, created["id"], body["name"], village, self.now)

    async def bind(
        self, cooperative: str, *, household: str | None = None, enterprise: str | None = None
    ) -> str:
        coop = self.ledger.cooperatives[cooperative]
        body: dict[str, Any] = {"form": "equity", "started_on": self.today.isoformat()}
        if household is not None:
            h = self.ledger.households[household]
            body |= {
                "kind": "cooperative_household",
                "household_id": h.id,
                "household_village_code": h.village,
            }
        else:
            assert enterprise is not None
            body |= {
                "kind": "enterprise_cooperative",
                "enterprise_id": self.ledger.enterprises[enterprise].id,
            }
        created = await self.pair(f"/cooperatives/{coop.id}/bindings", body)
        self.ledger.bindings.append(
            BindingFact(created["id"], body["kind"], cooperative, household, enterprise, self.today, self.now)
        )
        return str(created["id"])

    async def unbind(self, binding_id: str) -> None:
        binding = next(b for b in self.ledger.bindings if b.id == binding_id)
        coop = self.ledger.cooperatives[binding.cooperative]
        body = {"ended_on": self.today.isoformat(), "reason": "退社"}
        await self.pair(f"/cooperatives/{coop.id}/bindings/{binding_id}/end", body)
        binding.ended_on, binding.ended_at = self.today, self.now

    # -- monitoring -------------------------------------------------------------------------------

    async def watch(self, path: str, body: dict[str, Any], role: Role) -> dict[str, Any]:
        return await self.call(self.monitoring, path, body, role)

    @property
    def today(self) -> date:
        return (self.clock.now() + timedelta(hours=8)).date()

    async def household(
        self, key: str, n: int, village: str, status: str, labourers: int, members: int
    ) -> None:
        """A household of ``members`` people, ``labourers`` of them able to work."""
        people = []
        for k in range(members):
            people.append(
                {
                    "name": f"户{key}成员{k}",
                    "id_number": citizen_id(n * 10 + k),
                    "relation": "head" if k == 0 else ("spouse" if k == 1 else "child"),
                    "age": 50 if k < 2 else 12,
                    "labour": "ordinary" if k < labourers else "none",
                    "schooling": "primary",
                }
            )
        body = {"village_code": village, "status": status, "members": people}
        created = await self.watch("/households", body, Role.village_officer)
        self.ledger.households[key] = HouseholdFact(
            key, str(created["id"]), village, status, members, labourers, self.now
        )

    def _step(self, key: str, kind: str, stage: str | None, **extra: Any) -> None:
        h = self.ledger.households[key]
        category = extra.pop("category", h.category(self.now))
        h.steps.append(StepFact(kind, self.today, self.now, stage, category, **extra))

    def _path(self, key: str, step: str) -> str:
        return f"/households/{self.ledger.households[key].id}/{step}"

    async def flag(self, key: str, *, urgent: bool = False) -> None:
        h = self.ledger.households[key]
        reflagged = any(s.kind == "eliminated" for s in h.steps)
        risks = ["disaster"] if urgent else ["illness"]
        body = {
            "source": "cadre_visit",
            "risk_types": risks,
            "flagged_on": self.today.isoformat(),
            "urgent": urgent,
        }
        await self.watch(self._path(key, "flags"), body, Role.village_officer)
        category = None if h.stage(self.now) == "eliminated" else h.category(self.now)
        self._step(key, "flagged", "flagged", urgent=urgent, reflagged=reflagged, category=category)

    async def verify(self, key: str) -> None:
        h = self.ledger.households[key]
        eliminating = h.stage(self.now) == "elimination_proposed"
        flags = [s for s in h.steps if s.kind == "flagged"]
        risks = [] if eliminating else (["disaster"] if flags[-1].urgent else ["illness"])
        body = {"verified_on": self.today.isoformat(), "risk_types": risks, "findings": "入户核实属实"}
        await self.watch(self._path(key, "verification"), body, Role.township_officer)
        procedure = "elimination" if eliminating else "enrolment"
        stage = "elimination_verified" if eliminating else "verified"
        self._step(key, "verified", stage, procedure=procedure)

    async def deliberate(self, key: str) -> None:
        h = self.ledger.households[key]
        eliminating = h.stage(self.now) == "elimination_verified"
        day = self.today.isoformat()
        body = {"deliberated_on": day, "votes_for": 11, "votes_against": 2, "notice_from": day}
        await self.watch(self._path(key, "deliberation"), body, Role.village_officer)
        procedure = "elimination" if eliminating else "enrolment"
        stage = "elimination_deliberated" if eliminating else "deliberated"
        self._step(key, "deliberated", stage, procedure=procedure)

    async def review(self, key: str) -> None:
        h = self.ledger.households[key]
        eliminating = h.stage(self.now) == "elimination_deliberated"
        body = {"reviewed_on": self.today.isoformat(), "opinion": "公示无异议"}
        await self.watch(self._path(key, "review"), body, Role.township_officer)
        procedure = "elimination" if eliminating else "enrolment"
        stage = "elimination_reviewed" if eliminating else "reviewed"
        self._step(key, "reviewed", stage, procedure=procedure)

    async def approve(self, key: str, category: str | None = None) -> None:
        body: dict[str, Any] = {"approved_on": self.today.isoformat()}
        if category is not None:
            body["category"] = category
        await self.watch(self._path(key, "approval"), body, Role.county_officer)
        if category is None:
            self._step(key, "eliminated", "eliminated", procedure="elimination", category=None)
        else:
            self._step(key, "enrolled", "monitored", procedure="enrolment", category=category)

    async def reject(self, key: str, role: Role) -> None:
        h = self.ledger.households[key]
        body = {"rejected_on": self.today.isoformat(), "reason": "经核实不符合条件"}
        await self.watch(self._path(key, "rejection"), body, role)
        back = "eliminated" if any(s.kind == "eliminated" for s in h.steps) else None
        self._step(key, "flag_rejected", back, procedure="enrolment", category=h.category(self.now))

    async def contact(self, key: str) -> None:
        body = {"name": "帮扶干部", "unit": "县农牧局", "assigned_on": self.today.isoformat()}
        await self.watch(self._path(key, "contact"), body, Role.township_officer)
        self._step(key, "contact_assigned", self.ledger.households[key].stage(self.now))

    async def propose(self, key: str) -> None:
        body = {"proposed_on": self.today.isoformat(), "note": "收入稳定"}
        await self.watch(self._path(key, "elimination-proposal"), body, Role.village_officer)
        self._step(key, "elimination_proposed", "elimination_proposed", procedure="elimination")

    async def enrol(self, key: str, category: str, days: list[date]) -> None:
        """The whole enrolment procedure, one step on each of ``days`` (flag … approval)."""
        steps = (self.flag, self.verify, self.deliberate, self.review)
        for step, day in zip(steps, days, strict=False):
            self.on(day)
            await step(key)
        self.on(days[4])
        await self.approve(key, category)

    async def quarterly(self, key: str, period: str, income: int, members: int = 3) -> None:
        body = quarterly_survey(period, income, members)
        result = await self.watch(self._path(key, "surveys"), body, Role.village_officer)
        assert result["flag"] is None, f"{key} {period} raised a flag: {result}"
        self.ledger.surveys.append(
            SurveyFact(
                key, period, date.fromisoformat(body["surveyed_on"]), self.now, members, Decimal(income)
            )
        )

    async def annual(self, key: str, year: int, **facts: Any) -> None:
        body = annual_survey(year, **facts)
        result = await self.watch(self._path(key, "surveys"), body, Role.village_officer)
        assert result["flag"] is None, f"{key} {year} raised a flag: {result}"
        a = body["annual"]
        self.ledger.surveys.append(
            SurveyFact(
                key,
                str(year),
                date.fromisoformat(body["surveyed_on"]),
                self.now,
                medical_insured_all=a["medical_insured_all"],
                housing_safe=a["housing_safe"],
                drinking_water_safe=a["drinking_water_safe"],
                children=a["children_of_compulsory_age"],
                out_of_school=a["out_of_school"],
            )
        )

    # -- reporting --------------------------------------------------------------------------------

    async def table(self, name: str, **params: str) -> dict[str, Any]:
        response = await self.reporting.get(
            f"/tables/{name}", params={"page_size": "5000", **params}, headers=self.tokens[Role.viewer]
        )
        assert response.status_code == 200, f"{name}: {response.text}"
        result: dict[str, Any] = response.json()
        return result

    async def check_cards(self) -> list[dict[str, Any]]:
        checked = await self.call(self.reporting, "/cards/check", {}, Role.county_officer)
        changes: list[dict[str, Any]] = checked["changes"]
        self.ledger.card_changes += [(self.now, change) for change in changes]
        return changes

    async def close(self, period: str) -> dict[str, Any]:
        closed = await self.call(self.reporting, f"/periods/{COUNTY}/{period}/close", {}, Role.county_officer)
        self.ledger.closed_at[period] = self.now
        return closed

    async def enter_indicator(self, code: str, current: str) -> None:
        body = {"region_code": COUNTY, "year": self.today.year, "current": current}
        await self.call(self.reporting, f"/indicators/{code}", body, Role.county_officer, "PUT")
        self.ledger.indicator_current[code] = Decimal(current)

    async def settled(self) -> None:
        """Wait until the reporting projections hold every fact of the ledger."""
        expected = expected_counts(self.ledger)

        async def caught_up() -> bool:
            return await reporting_counts(self.reporting_app) == expected

        await wait_until(caught_up, 30, f"the reporting projections to hold {expected}")


def expected_counts(ledger: Ledger) -> dict[str, int]:
    return {
        "villages": len(ledger.villages),
        "agreements": len(ledger.agreements),
        "terminated": sum(a.terminated_at is not None for a in ledger.agreements.values()),
        "projects": len(ledger.projects),
        "reached": sum(m.reached_at is not None for p in ledger.projects.values() for m in p.milestones),
        "completed": sum(p.completed_at is not None for p in ledger.projects.values()),
        "tranches": len(ledger.tranches),
        "cooperatives": len(ledger.cooperatives),
        "bindings": len(ledger.bindings),
        "ended": sum(b.ended_at is not None for b in ledger.bindings),
        "households": len(ledger.households),
        "steps": sum(len(h.steps) for h in ledger.households.values()),
        "surveys": len(ledger.surveys),
        "incomes": len(ledger.incomes),
        "closings": len(ledger.closed_at),
        "indicators": len(ledger.indicator_current),
        "cards": len(ledger.card_changes),
    }


_COUNTS = """
    SELECT (SELECT count(*) FROM ledger_villages),
           (SELECT count(*) FROM ledger_agreements),
           (SELECT count(*) FROM ledger_agreements WHERE terminated_at IS NOT NULL),
           (SELECT count(*) FROM ledger_projects),
           (SELECT count(*) FROM ledger_milestones WHERE reached_at IS NOT NULL),
           (SELECT count(*) FROM ledger_projects WHERE completed_at IS NOT NULL),
           (SELECT count(*) FROM ledger_investments),
           (SELECT count(*) FROM ledger_cooperatives),
           (SELECT count(*) FROM ledger_bindings),
           (SELECT count(*) FROM ledger_bindings WHERE ended_at IS NOT NULL),
           (SELECT count(*) FROM household_facts),
           (SELECT count(*) FROM household_history WHERE kind NOT IN ('registered', 'members_updated')),
           (SELECT count(*) FROM household_surveys),
           (SELECT count(*) FROM ledger_village_incomes),
           (SELECT count(*) FROM period_closings),
           (SELECT count(*) FROM indicator_entries),
           (SELECT count(*) FROM card_history)
"""


async def reporting_counts(app: FastAPI) -> dict[str, int]:
    async with app.state.runtime.store.pool.acquire() as conn:
        row = await conn.fetchrow(_COUNTS)
    keys = list(expected_counts(Ledger()))
    return dict(zip(keys, (int(v) for v in row), strict=True))


# -- the scenario ---------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def county_services(settings: Settings) -> AsyncIterator[County]:
    """Pairing, monitoring and reporting in this process, on one clock standing at ``START``."""
    clock = FixedClock(noon(START))
    pairing, monitoring, reporting = (
        pairing_app(settings, clock),
        monitoring_app(settings, clock),
        reporting_app(settings, clock),
    )
    async with running(pairing) as p, running(monitoring) as m, running(reporting) as r:
        yield County(settings, clock, p, m, r, reporting)


def county_settings(settings: Settings) -> Settings:
    """The judge and the milestone scheduler wait: the test moves the clock and checks itself."""
    return settings.model_copy(update={"card_check_interval_s": 3600.0, "milestone_check_interval_s": 3600.0})


async def first_half(c: County) -> None:
    """January to June 2026: the county is set up and works through the first half-year."""
    d = date
    c.on(START)
    await c.village(V1, "红旗村", "key_support", True, {2025: "180000.00"})
    await c.village(V2, "新华村", "demonstration", False, {2024: "90000.00", 2025: "250000.00"})
    await c.village(V3, "团结村", "overall_advance", True, {})
    await c.village(V4, "东风村", "key_support", True, {2025: "600000.00"})
    await c.village(V5, "光明村", "overall_advance", False, {})
    await c.enterprise("E1", 301, "leading_agricultural", "provincial")
    await c.enterprise("E2", 302, "private_enterprise")
    await c.enterprise("E3", 303, "state_owned")
    await c.enterprise("E4", 304, "private_enterprise", "county")

    c.on(d(2026, 1, 10))
    await c.agreement(
        "A1", "E1", V1, ("industry", "employment"), "leading_enterprise",
        investment="3000000.00", jobs=30, trainees=10, purchases="200000.00", donations="50000.00",
    )  # fmt: skip
    await c.agreement(
        "A2", "E2", V2, ("consumption",), "order_farming", investment="500000.00", jobs=5, trainees=2,
        purchases="800000.00",
    )  # fmt: skip
    await c.agreement(
        "A3", "E3", V4, ("industry", "donation"), "agri_tourism", investment="1200000.00", jobs=12,
        trainees=4, donations="100000.00",
    )  # fmt: skip
    await c.agreement("A4", "E2", V5, ("employment",), "labour_cooperation", jobs=20, trainees=20)

    c.on(d(2026, 1, 15))
    await c.project(
        "P1", V1, ("A1",), ("E1",), "2000000.00",
        [("m1", "厂房设计", d(2026, 3, 31)), ("m2", "厂房建成", d(2026, 6, 30)),
         ("m3", "投产", d(2026, 12, 31))],
        beneficiaries=80, jobs=25,
    )  # fmt: skip
    await c.project(
        "P2", V2, ("A2",), ("E2", "E3"), "600000.00", [("m1", "冷库建成", d(2026, 4, 30))],
        beneficiaries=40, jobs=6,
    )  # fmt: skip
    households = [
        ("H1", V1, "former_poor", 2, 3),
        ("H2", V1, "former_poor", 1, 2),
        ("H3", V2, "ordinary", 2, 3),
        ("H4", V2, "low_income", 2, 3),
        ("H5", V3, "former_poor", 2, 3),
        ("H6", V4, "ordinary", 2, 4),
        ("H7", V4, "former_poor", 2, 3),
        ("H8", V5, "low_income", 1, 2),
        ("H9", V5, "ordinary", 2, 3),
        ("H10", V1, "ordinary", 0, 1),
        ("H11", V3, "former_poor", 0, 1),
        ("H12", V2, "former_poor", 2, 3),
    ]
    for n, (key, village, status, labourers, members) in enumerate(households, start=1):
        await c.household(key, 700 + n, village, status, labourers, members)

    c.on(d(2026, 1, 16))
    # Households in no procedure: every survey above the line and every guarantee held (no flag).
    for key in ("H7", "H9"):
        await c.quarterly(key, "2024Q4", 8000)
        await c.quarterly(key, "2025Q4", 8800 if key == "H7" else 8200)
        await c.annual(key, 2025)
    await c.annual("H11", 2025, children_of_compulsory_age=0)

    c.on(d(2026, 1, 20))
    for key in ("H1", "H2", "H3", "H4", "H5", "H8", "H12"):
        await c.flag(key)
    c.on(d(2026, 1, 21))
    # Households in a procedure: their surveys raise no new flag, whatever they show.
    await c.quarterly("H1", "2024Q4", 7500)
    await c.quarterly("H1", "2025Q4", 7700)
    await c.annual("H1", 2025)
    await c.annual("H2", 2025, housing_safe=False, medical_insured_all=False)
    await c.annual("H5", 2025, children_of_compulsory_age=2, out_of_school=1)
    await c.annual("H3", 2025, drinking_water_safe=False)
    c.on(d(2026, 1, 22))
    for key in ("H1", "H2", "H3", "H5", "H8"):
        await c.verify(key)
    await c.reject("H4", Role.township_officer)
    c.on(d(2026, 1, 24))
    for key in ("H1", "H2", "H3", "H8"):
        await c.deliberate(key)
    c.on(d(2026, 1, 30))
    for key in ("H1", "H2", "H3"):
        await c.review(key)
    await c.reject("H8", Role.township_officer)
    c.on(d(2026, 2, 1))
    await c.invest("P1", "500000.00")
    c.on(d(2026, 2, 3))
    await c.approve("H1", "unstable_after_exit")
    await c.approve("H2", "unstable_after_exit")
    await c.approve("H3", "marginal_at_risk")
    c.on(d(2026, 2, 10))
    await c.contact("H1")
    c.on(d(2026, 2, 25))
    await c.contact("H2")

    c.on(d(2026, 3, 1))
    relay = {
        "key": "A3R",
        "enterprise": "E4",
        "pathways": ("industry", "technology"),
        "mode": "agri_tourism",
        "commitments": {"investment_yuan": "1000000.00", "jobs": 10, "trainees": 6, "purchases_yuan": "0",
                        "donations_yuan": "20000.00"},
    }  # fmt: skip
    await c.terminate("A3", relay)
    await c.invest("P2", "600000.00")
    c.on(d(2026, 3, 5))
    await c.flag("H6", urgent=True)
    c.on(d(2026, 3, 6))
    await c.contact("H6")  # the urgent path: help first, steps after
    c.on(d(2026, 3, 8))
    await c.verify("H6")
    c.on(d(2026, 3, 10))
    await c.deliberate("H6")
    c.on(d(2026, 3, 16))
    await c.review("H6")
    c.on(d(2026, 3, 18))
    await c.approve("H6", "sudden_severe_hardship")
    c.on(d(2026, 3, 20))
    await c.reach("P1", "m1")

    c.on(d(2026, 3, 25))
    await c.project(
        "P3", V4, ("A3R",), ("E4",), "1000000.00", [("m1", "民宿改造", d(2026, 5, 15))],
        beneficiaries=30, jobs=8,
    )  # fmt: skip
    await c.cooperative("C1", 1, V1)
    await c.cooperative("C2", 2, V4)
    for key in ("H1", "H2", "H10"):
        await c.bind("C1", household=key)
    leaving = await c.bind("C1", household="H3")
    for key in ("H6", "H7"):
        await c.bind("C2", household=key)
    await c.bind("C1", enterprise="E1")

    c.on(d(2026, 4, 1))
    await c.invest("P3", "200000.00")
    await c.quarterly("H1", "2026Q1", 9000)
    c.on(d(2026, 4, 15))
    await c.terminate("A4")
    c.on(d(2026, 4, 28))
    await c.reach("P2", "m1")
    c.on(d(2026, 5, 10))
    await c.invest("P1", "300000.00")
    c.on(d(2026, 5, 20))
    await c.unbind(leaving)
    c.on(d(2026, 5, 31))
    await c.complete("P2", "550000.00")
    c.on(d(2026, 6, 5))
    await c.income(V2, 2025, "260000.00")  # a correction of 2025
    await c.enter_indicator("waste_treatment_rate", "70.5")


async def close_first_half(c: County) -> None:
    """2 July: the county closes 2026H1 (the cards judged first, a milestone now overdue)."""
    c.on(date(2026, 7, 1))
    await c.quarterly("H1", "2026Q2", 9500)
    c.on(date(2026, 7, 2))
    await c.settled()
    await c.check_cards()
    await c.settled()
    await c.close(CLOSED_PERIOD)


async def second_half(c: County) -> None:
    """July to August 2026: a late tranche of June, an elimination, a re-flag, a new agreement."""
    d = date
    c.on(d(2026, 7, 5))
    await c.invest("P3", "150000.00", invested_on=d(2026, 6, 20))  # recorded after H1 was closed
    c.on(d(2026, 7, 6))
    await c.propose("H1")
    c.on(d(2026, 7, 8))
    await c.verify("H1")
    c.on(d(2026, 7, 10))
    await c.deliberate("H1")
    c.on(d(2026, 7, 16))
    await c.review("H1")
    c.on(d(2026, 7, 18))
    await c.approve("H1")
    c.on(d(2026, 8, 1))
    await c.agreement("A5", "E1", V3, ("industry",), "leading_enterprise", investment="800000.00", jobs=8)
    await c.flag("H1")  # after elimination: re-flagged
    await c.flag("H9")
    c.on(d(2026, 8, 4))
    await c.verify("H9")
    c.on(d(2026, 8, 15))
    await c.invest("P1", "400000.00")
    c.on(END)
    await c.settled()
    await c.check_cards()
    await c.settled()


async def build_county(c: County) -> None:
    await first_half(c)
    await close_first_half(c)
    await second_half(c)
