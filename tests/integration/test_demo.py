"""``xingcun demo`` against pairing, monitoring, reporting and notification running in this process
(real PostgreSQL and JetStream, an SMTP mailbox): a tenth of the demo county, loaded through the
public APIs only, shows in the ledgers, the tables, the cards, the monitoring statistics and the
e-mails, each figure computed here from the county the loader was given (``demo_data``); a second
run finds the county loaded and writes nothing. The county itself is checked too: the same seed
gives the same county, and its ID numbers and credit codes pass their standards' checks."""

from __future__ import annotations

import contextlib
import email
import email.policy
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from services.monitoring.app import create as monitoring_app
from services.monitoring.domain import Household
from services.monitoring.personal import citizen_id_problem
from services.monitoring.risk import MonitoringLines, RiskRules
from services.notification.app import create as notification_app
from services.pairing.app import create as pairing_app
from services.pairing.credit_code import credit_code_problem
from services.reporting.app import create as reporting_app
from shared.auth import Role
from shared.clock import china_date
from shared.events.catalogue.monitoring import (
    AnnualSurvey,
    AssistanceMeasure,
    Department,
    FlagSource,
    HouseholdFlagged,
    Member,
    MonitoredCategory,
    PlannedMeasure,
    QuarterlySurvey,
    RigidExpenses,
    RiskType,
    Stage,
)
from shared.runtime.demo import load_demo
from shared.runtime.demo_api import tokens_signed_with
from shared.runtime.demo_cases import Step
from shared.runtime.demo_data import County, build_county, recipients
from shared.runtime.demo_summary import DemoSummary
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.notification import Mailbox, smtp_server

SEED = 11
SCALE = 0.1
MAIL_SENDER = "alerts@xingcun.test"


@contextlib.asynccontextmanager
async def four_services(
    make_settings: Any,
) -> AsyncIterator[tuple[dict[str, httpx.AsyncClient], Settings, Mailbox]]:
    mailbox = Mailbox()
    with smtp_server(mailbox) as smtp:
        settings = make_settings(smtp_port=smtp.port, smtp_sender=MAIL_SENDER, notification_poll_s=0.05)
        async with (
            running(pairing_app(settings)) as pairing,
            running(monitoring_app(settings)) as monitoring,
            running(reporting_app(settings)) as reporting,
            running(notification_app(settings)) as notification,
        ):
            clients = {
                "pairing": pairing,
                "monitoring": monitoring,
                "reporting": reporting,
                "notification": notification,
            }
            yield clients, settings, mailbox


async def read(client: httpx.AsyncClient, settings: Settings, path: str, **params: str) -> Any:
    headers = token(settings, Role.county_officer, "150602")
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:500]}"
    return response.json()


async def table(clients: dict[str, httpx.AsyncClient], settings: Settings, name: str) -> dict[str, Any]:
    found: dict[str, Any] = await read(clients["reporting"], settings, f"/tables/{name}", page_size="5000")
    return found


async def test_a_tenth_of_the_county_shows_in_every_service_and_loads_once(make_settings: Any) -> None:
    async with four_services(make_settings) as (clients, settings, mailbox):
        today = china_date(datetime.now(UTC))
        tokens = tokens_signed_with(settings.secret_bytes)
        summary = await load_demo(clients, tokens, seed=SEED, scale=SCALE, today=today)
        county = build_county(SEED, SCALE, today)  # the county the loader was given
        assert summary.warnings == []
        assert not summary.already_loaded
        check_summary(summary, county)
        await check_pairing_tables(clients, settings, county)
        await check_monitoring(clients, settings, county, summary)
        await check_cards_and_period(clients, settings, county)
        await check_notifications(clients, settings, county, mailbox)

        households_before = (await table(clients, settings, "monitoring"))["totals"]["households"]
        again = await load_demo(clients, tokens, seed=SEED, scale=SCALE, today=today)
        assert again.already_loaded and again.complete
        assert again.villages == len(county.villages)
        assert "already loaded" in again.report()
        assert (await table(clients, settings, "monitoring"))["totals"]["households"] == households_before


def check_summary(summary: DemoSummary, county: County) -> None:
    stages = Counter(c.final_stage or "rejected" for c in county.cases)
    assert summary.stages == dict(stages)
    every_stage = ("flagged", "verified", "deliberated", "reviewed", "monitored", "eliminated", "rejected")
    assert set(stages) >= set(every_stage)
    assert summary.households == len(county.households)
    assert summary.quarterly_surveys == 4 * len(county.households)
    assert summary.survey_batches == 4
    assert summary.flagged_by_rules == sum(c.source == "rule" for c in county.cases)
    assert summary.period_closed
    assert summary.cards["red"] > 0 and summary.cards["yellow"] > 0
    assert "loaded county 150602" in summary.report()


async def check_pairing_tables(
    clients: dict[str, httpx.AsyncClient], settings: Settings, county: County
) -> None:
    villages = await table(clients, settings, "village-ledger")
    assert {r["village"] for r in villages["rows"]} == {v.name for v in county.villages}
    relays = sum(a.relay is not None for a in county.agreements)
    assert villages["totals"]["agreements"] == len(county.agreements) + relays
    assert villages["totals"]["agreements_needing_relay"] == sum(
        a.terminated_on is not None and a.relay is None for a in county.agreements
    )
    pairing_list = await table(clients, settings, "pairing-list")
    assert pairing_list["total"] == len(county.agreements) + relays
    progress = await table(clients, settings, "progress")
    assert {r["project"] for r in progress["rows"]} == {p.name for p in county.projects}
    invested = sum((p.invested for p in county.projects), Decimal(0))
    assert Decimal(progress["totals"]["investment_done"]) == invested
    assert progress["totals"]["milestones_reached"] == sum(
        m.reached_on is not None for p in county.projects for m in p.milestones
    )
    coverage = (await table(clients, settings, "coverage-townships"))["totals"]
    eligible = county.eligible()
    assert coverage["eligible"] == len(eligible)
    assert coverage["bound"] == len(county.bound() & eligible)
    assert coverage["cooperatives"] == len(county.cooperatives)
    assert coverage["cooperatives_bound"] == sum(c.enterprise is not None for c in county.cooperatives)
    indicators = await table(clients, settings, "indicators")
    entered = [r for r in indicators["rows"] if r.get("current") not in (None, "")]
    assert len(entered) >= 13  # the ones the demo entered, besides those the system computes


async def check_monitoring(
    clients: dict[str, httpx.AsyncClient], settings: Settings, county: County, summary: DemoSummary
) -> None:
    stages = Counter(c.final_stage for c in county.cases if c.final_stage)
    for stage, count in stages.items():
        found = await read(clients["monitoring"], settings, "/households", stage=stage, page_size="1")
        assert found["total"] == count, stage
    totals = (await table(clients, settings, "monitoring"))["totals"]
    assert totals["households"] == len(county.households)
    assert totals["monitored"] == len(county.monitored())
    assert totals["eliminated"] == stages["eliminated"]
    for stage in ("flagged", "verified", "deliberated", "reviewed"):
        assert totals[stage] == stages[stage], stage
    one = next(h for h in county.households if h.annual is not None)
    surveys = await read(
        clients["monitoring"], settings, f"/households/{await household_id(clients, settings, one)}/surveys"
    )
    assert [s["period"] for s in surveys["surveys"]] == [
        str(one.annual.year),
        *(q.name for q in county.quarters),
    ]
    assert summary.contacts > 0 and summary.deliveries_of_assistance > 0


async def household_id(clients: dict[str, httpx.AsyncClient], settings: Settings, household: Any) -> str:
    headers = token(settings, Role.county_officer, "150602")
    body = {"id_number": household.profile.head.id_number}
    response = await clients["monitoring"].post("/households/lookup", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["household_id"])


async def check_cards_and_period(
    clients: dict[str, httpx.AsyncClient], settings: Settings, county: County
) -> None:
    scenarios = Counter(p.scenario for p in county.projects)
    red = await read(clients["reporting"], settings, "/cards", subject="project", card="red", page_size="1")
    yellow = await read(
        clients["reporting"], settings, "/cards", subject="project", card="yellow", page_size="1"
    )
    assert red["total"] == scenarios["red"]
    assert yellow["total"] == scenarios["yellow"] + scenarios["lagging"]
    unrelayed = sum(a.terminated_on is not None and a.relay is None for a in county.agreements)
    red_agreements = await read(
        clients["reporting"], settings, "/cards", subject="agreement", card="red", page_size="1"
    )
    assert red_agreements["total"] >= unrelayed + len(
        {p.agreement for p in county.projects if p.scenario == "red"}
    )
    filing = await read(clients["reporting"], settings, f"/periods/{county.code}/{county.period.name}")
    assert {t["name"] for t in filing["filed"]} >= {"village-ledger", "progress", "monitoring", "coverage"}


async def check_notifications(
    clients: dict[str, httpx.AsyncClient], settings: Settings, county: County, mailbox: Mailbox
) -> None:
    flags = len(county.cases) + sum(c.reflagged for c in county.cases)
    notification = clients["notification"]

    async def flags_told() -> bool:
        found = await read(
            notification,
            settings,
            "/deliveries",
            event_type="monitoring.household_flagged",
            status="delivered",
        )
        return bool(found["total"] == flags)

    await wait_until(flags_told, 30, f"{flags} flags e-mailed to the townships")
    township_addresses = {
        r["channels"][0]["address"] for r in recipients(county) if r["role"] == "township_officer"
    }
    county_address = next(
        r["channels"][0]["address"] for r in recipients(county) if r["role"] == "county_officer"
    )
    subjects: dict[str, list[str]] = {}
    for to, raw in mailbox.received:
        mail = email.message_from_bytes(raw, policy=email.policy.default)
        for address in to:
            subjects.setdefault(address, []).append(str(mail["subject"]))
    flagged_mails = [
        s for a in township_addresses for s in subjects.get(a, []) if s.startswith(("防返贫监测", "【紧急】"))
    ]
    assert len(flagged_mails) == flags
    assert any("红牌" in s for s in subjects.get(county_address, []))


def test_the_county_follows_from_its_seed_and_its_identifiers_are_valid() -> None:
    today = china_date(datetime.now(UTC))
    county = build_county(SEED, SCALE, today)
    assert county == build_county(SEED, SCALE, today)
    assert county.households != build_county(SEED + 1, SCALE, today).households
    people = [m for h in county.households for m in h.profile.members]
    assert all(citizen_id_problem(m.id_number) is None for m in people)
    assert len({m.id_number for m in people}) == len(people)
    codes = [e.credit_code for e in county.enterprises] + [c.code for c in county.cooperatives]
    assert all(credit_code_problem(code) is None for code in codes)
    dates = [s.on for c in county.cases for s in c.steps]
    dates += [t.invested_on for p in county.projects for t in p.tranches]
    dates += [q.surveyed_on for h in county.households for q in h.quarters]
    assert max(dates) <= today
    full = build_county(SEED, 1.0, today)
    assert (len(full.villages), len(full.enterprises), len(full.projects), len(full.households)) == (
        30,
        80,
        80,
        3000,
    )
    assert len(full.cooperatives) == 20 and len(full.agreements) == 80


# -- the cases against the monitoring domain, on any day of the year ------------------------------------


def replay(county: County, lines: MonitoringLines) -> dict[str, str | None]:
    """Every household through the domain as the loader drives the service: registration, the
    flags raised before the import, the four quarters, the annual survey, then each case's steps.
    Answers each case household's stage; fails on a refusal or an unplanned flag."""
    cases = {c.household: c for c in county.cases}
    stages: dict[str, str | None] = {}
    for household in county.households:
        h = Household()
        members = [
            Member(
                member_no=n,
                relation=m.relation,
                age=m.age,
                labour=m.labour,
                schooling=m.schooling,
                disability_grade=m.disability_grade,
                chronic_illness=m.chronic_illness,
                sealed="x",
            )
            for n, m in enumerate(household.profile.members, start=1)
        ]
        registered = h.register(
            household_id=uuid.uuid4(),
            village_code=household.profile.village,
            status=household.profile.status,
            members=members,
            sealed="x",
        )
        take(h, registered)
        case = cases.get(household.key)
        if case is not None and case.opening is not None:
            take(h, domain_step(h, case.opening, county.today, lines))
        for q in household.quarters:
            expenses = RigidExpenses(
                medical=q.medical, schooling=q.schooling, disaster=q.disaster, accident=q.accident
            )
            quarterly = QuarterlySurvey(
                members=q.members, per_capita_net_income_yuan=q.income, expenses=expenses
            )
            events = h.survey(
                survey_id=uuid.uuid4(),
                flag_id=uuid.uuid4(),
                period=q.period,
                surveyed_on=q.surveyed_on,
                quarterly=quarterly,
                batch_id="B",
                lines=lines,
                rules=RiskRules(),
                today=county.today,
            )
            flagged = any(isinstance(e, HouseholdFlagged) for e in events)
            by_rule = case is not None and case.source == "rule" and q.surveyed_on == case.flagged_on
            assert flagged == by_rule, (household.key, q.period)
            take(h, events)
        if household.annual is not None:
            a = household.annual.body()
            events = h.survey(
                survey_id=uuid.uuid4(),
                flag_id=uuid.uuid4(),
                period=a["period"],
                surveyed_on=household.annual.surveyed_on,
                annual=AnnualSurvey(**a["annual"]),
                lines=lines,
                rules=RiskRules(),
                today=county.today,
            )
            assert not any(isinstance(e, HouseholdFlagged) for e in events), household.key
            take(h, events)
        if case is not None:
            for step in case.later_steps:
                take(h, domain_step(h, step, county.today, lines))
            stages[household.key] = h.stage.value if h.stage else None
    return stages


def take(h: Household, events: list[Any]) -> None:
    for event in events:
        h.apply(event)


def domain_step(h: Household, step: Step, today: date, lines: MonitoringLines) -> list[Any]:
    b, role = step.body, Role(step.role)
    on = step.on
    match step.action:
        case "flags" | "department-alerts":
            return h.flag_risk(
                by_role=role,
                flag_id=uuid.uuid4(),
                source=FlagSource(b.get("source", "department_alert")),
                risk_types=[RiskType(r) for r in b["risk_types"]],
                flagged_on=on,
                today=today,
                department=Department(b["department"]) if "department" in b else None,
                urgent=b["urgent"],
            )
        case "verification":
            risks = [RiskType(r) for r in b["risk_types"]]
            return h.verify(
                by_role=role, verified_on=on, today=today, risk_types=risks, findings=b["findings"]
            )
        case "deliberation":
            return h.deliberate(
                by_role=role,
                deliberated_on=on,
                today=today,
                votes_for=b["votes_for"],
                votes_against=b["votes_against"],
                notice_from=date.fromisoformat(b["notice_from"]),
                notice_days=5,
            )
        case "review":
            return h.review(by_role=role, reviewed_on=on, today=today, opinion=b["opinion"])
        case "approval" if h.stage is Stage.elimination_reviewed:
            return h.approve_elimination(by_role=role, eliminated_on=on, today=today)
        case "approval":
            return h.approve_enrolment(
                by_role=role,
                enrolled_on=on,
                today=today,
                category=MonitoredCategory(b["category"]),
                risk_types=None,
                contact_within_days=15,
            )
        case "rejection":
            return h.reject(by_role=role, rejected_on=on, today=today, reason=b["reason"])
        case "contact":
            return h.assign_contact(
                by_role=role, name=b["name"], unit=b["unit"], phone=b["phone"], assigned_on=on, today=today
            )
        case "assistance-plans":
            measures = [PlannedMeasure(**m) for m in b["measures"]]
            return h.plan_assistance(
                by_role=role, plan_id=uuid.uuid4(), planned_on=on, today=today, measures=measures
            )
        case "assistance-deliveries":
            return h.deliver_assistance(
                by_role=role,
                delivery_id=uuid.uuid4(),
                measure=AssistanceMeasure(b["measure"]),
                delivered_on=on,
                today=today,
                description=b["description"],
                amount_yuan=Decimal(b["amount_yuan"]),
            )
        case "elimination-proposal":
            return h.propose_elimination(by_role=role, proposed_on=on, today=today, months=6, lines=lines)
        case "followups":
            return h.record_followup(
                by_role=role, visited_on=on, today=today, stable=b["stable"], note=b["note"]
            )
    raise AssertionError(f"unknown step {step.action}")


def test_every_case_step_is_one_the_domain_takes_on_any_day_of_the_year() -> None:
    lines = MonitoringLines(by_province=Settings().monitoring_lines)
    start = date(2026, 1, 1)
    for offset in range(0, 730, 61):
        today = start + timedelta(days=offset)
        county = build_county(SEED + offset, 0.2, today)
        stages = replay(county, lines)
        expected = {c.household: c.final_stage for c in county.cases}
        assert stages == expected, today
