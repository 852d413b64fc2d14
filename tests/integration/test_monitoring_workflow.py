"""The monitoring approval workflow over HTTP, on real PostgreSQL and NATS: the whole cycle, each
rejection, wrong-order and wrong-role steps (refused, nothing written), regions, department alerts
and the citizen-ID index (one household per number, even under concurrent registrations)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest

from services.monitoring.app import create as monitoring_app
from services.monitoring.domain import household_stream
from shared.auth import Role
from shared.clock import FixedClock
from shared.settings import Settings
from tests.support.apps import running, token
from tests.support.desk import START, VILLAGE, Desk, noon_in_china
from tests.support.monitoring import annual_survey, citizen_id, household_body, quarterly_survey, village_code


@pytest.fixture
async def desk(settings: Settings) -> AsyncIterator[Desk]:
    clock = FixedClock(noon_in_china(START))
    app = monitoring_app(settings, clock)
    async with running(app) as client:
        yield Desk(app, client, clock, settings)


# -- the whole cycle ---------------------------------------------------------------------------------


async def test_a_household_walks_from_flag_to_followup_and_is_flagged_again(desk: Desk) -> None:
    hid = await desk.register(1)
    assert await desk.events(hid) == ["household_registered"]

    # the annual survey shows every guarantee; the last quarter of 2025 is below the 2025 line (7600)
    assert (await desk.survey(hid, annual_survey(2025)))["flag"] is None
    surveyed = await desk.survey(hid, quarterly_survey("2025Q4", 7000))
    assert surveyed["recorded"] and surveyed["flag"]["rules"] == ["income_below_line"]
    assert surveyed["flag"]["risk_types"] == ["income_drop"]
    again = await desk.survey(hid, quarterly_survey("2025Q4", 7000))
    assert again == {"household_id": hid, "recorded": False, "flag": None}

    assert (await desk.verify(hid, ("illness", "income_drop")))["stage"] == "verified"
    deliberated = await desk.deliberate(hid)
    assert deliberated == {
        "household_id": hid,
        "stage": "deliberated",
        "events": ["monitoring.household_deliberated"],
    }

    # the notice runs five days from the deliberation: the township reviews after it
    early = await desk.post(
        f"/households/{hid}/review", {"reviewed_on": desk.next_day(4), "opinion": "x"}, Role.township_officer
    )
    assert early.status_code == 409 and early.json()["rule"] == "public_notice_running"
    assert (await desk.review(hid))["stage"] == "reviewed"

    no_category = await desk.post(
        f"/households/{hid}/approval", {"approved_on": desk.next_day()}, Role.county_officer
    )
    assert no_category.status_code == 422 and no_category.json()["rule"] == "enrolment_category"
    marginal = await desk.post(
        f"/households/{hid}/approval",
        {"approved_on": desk.today.isoformat(), "category": "marginal_at_risk"},
        Role.county_officer,
    )
    assert marginal.status_code == 422 and marginal.json()["rule"] == "category_fits_household"
    enrolled = await desk.approve(hid)
    assert enrolled == {
        "household_id": hid,
        "stage": "monitored",
        "events": ["monitoring.household_enrolled"],
    }

    contact = {"name": "李帮扶", "unit": "镇农业站", "phone": "13800000001", "assigned_on": desk.next_day()}
    assert (await desk.ok(f"/households/{hid}/contact", contact, Role.township_officer))["events"] == [
        "monitoring.contact_assigned"
    ]
    plan = {
        "planned_on": desk.next_day(),
        "measures": [
            {
                "measure": "health",
                "risk_type": "illness",
                "description": "慢病签约服务",
                "budget_yuan": "1200.00",
            },
            {"measure": "employment", "risk_type": "income_drop", "description": "公益岗位推荐"},
        ],
    }
    await desk.ok(f"/households/{hid}/assistance-plans", plan, Role.township_officer, 201)
    delivery = {
        "measure": "health",
        "delivered_on": desk.next_day(),
        "description": "报销",
        "amount_yuan": "860.40",
    }
    await desk.ok(f"/households/{hid}/assistance-deliveries", delivery, Role.village_officer, 201)
    unplanned = await desk.post(
        f"/households/{hid}/assistance-deliveries", {**delivery, "measure": "housing"}, Role.village_officer
    )
    assert unplanned.status_code == 409 and unplanned.json()["rule"] == "measure_planned_first"

    # two quarters at or above the line since enrolment, and the guarantees: then elimination
    desk.set_day(date(2026, 4, 2))
    await desk.survey(hid, quarterly_survey("2026Q1", 9000))
    too_soon = await desk.post(
        f"/households/{hid}/elimination-proposal",
        {"proposed_on": desk.today.isoformat()},
        Role.village_officer,
    )
    assert too_soon.status_code == 409 and too_soon.json()["rule"] == "elimination_conditions"
    desk.set_day(date(2026, 7, 2))
    monitored_survey = await desk.survey(hid, quarterly_survey("2026Q2", 100))  # monitored: no new flag
    assert monitored_survey["recorded"] and monitored_survey["flag"] is None
    below = await desk.post(
        f"/households/{hid}/elimination-proposal",
        {"proposed_on": desk.today.isoformat()},
        Role.village_officer,
    )
    assert below.status_code == 409 and "below the line" in below.json()["detail"]
    await desk.survey(hid, quarterly_survey("2026Q2", 9500))  # a correction
    assert (await desk.propose(hid))["stage"] == "elimination_proposed"
    assert (await desk.verify(hid, ()))["stage"] == "elimination_verified"
    assert (await desk.deliberate(hid))["stage"] == "elimination_deliberated"
    assert (await desk.review(hid))["stage"] == "elimination_reviewed"
    eliminated = await desk.approve(hid, category=None)
    assert eliminated == {
        "household_id": hid,
        "stage": "eliminated",
        "events": ["monitoring.risk_eliminated"],
    }

    visit = {"visited_on": desk.next_day(), "stable": True, "note": "收入稳定"}
    assert (await desk.ok(f"/households/{hid}/followups", visit, Role.village_officer, 201))[
        "stage"
    ] == "eliminated"
    await desk.flag(hid, risk_types=["disaster"], urgent=True, note="冰雹灾害")

    assert await desk.events(hid) == [
        "household_registered",
        "household_surveyed",
        "household_surveyed",
        "household_flagged",
        "household_verified",
        "household_deliberated",
        "household_reviewed",
        "household_enrolled",
        "contact_assigned",
        "assistance_planned",
        "assistance_delivered",
        "household_surveyed",
        "household_surveyed",
        "household_surveyed",
        "risk_elimination_proposed",
        "household_verified",
        "household_deliberated",
        "household_reviewed",
        "risk_eliminated",
        "followup_recorded",
        "household_flagged",
    ]
    stored = await desk.app.state.runtime.store.load(household_stream(uuid.UUID(hid)))
    assert [e.stream_version for e in stored] == list(range(1, len(stored) + 1))
    first_flag, last_flag = stored[3].data, stored[-1].data
    assert (first_flag["source"], first_flag["reflagged"], first_flag["period"]) == ("rule", False, "2025Q4")
    assert (last_flag["source"], last_flag["reflagged"], last_flag["urgent"]) == ("cadre_visit", True, True)
    enrolment = stored[7].data
    assert enrolment["category"] == "unstable_after_exit"
    assert enrolment["risk_types"] == ["illness", "income_drop"]  # as verified
    assert stored[14].data["quarters_above_line"] == ["2026Q1", "2026Q2"]
    assert [stored[i].data["procedure"] for i in (4, 15)] == ["enrolment", "elimination"]
    assert stored[5].actor.role == "village_officer" and stored[6].actor.role == "township_officer"
    assert stored[7].actor.role == "county_officer" and stored[0].region_code == VILLAGE

    # the urgent path: help before the steps
    contact["assigned_on"] = desk.next_day()
    assert (await desk.ok(f"/households/{hid}/contact", contact, Role.county_officer))["stage"] == "flagged"


# -- rejections --------------------------------------------------------------------------------------


async def test_each_enrolment_step_can_reject(desk: Desk) -> None:
    hid = await desk.register(2)
    walk = [desk.verify, desk.deliberate, desk.review]
    deciders = [Role.township_officer, Role.village_officer, Role.township_officer, Role.county_officer]
    for steps, (stage, role) in enumerate(
        zip(["flagged", "verified", "deliberated", "reviewed"], deciders, strict=True)
    ):
        await desk.flag(hid)
        for step in walk[:steps]:
            await step(hid)
        rejected = await desk.reject(hid, role)
        assert rejected == {"household_id": hid, "stage": None, "events": ["monitoring.flag_rejected"]}
        stored = await desk.app.state.runtime.store.load(household_stream(uuid.UUID(hid)))
        assert stored[-1].data["stage"] == stage and stored[-1].data["reason"] == "经核实不符合条件"
    assert (await desk.events(hid)).count("flag_rejected") == 4


async def test_each_elimination_step_can_reject_and_the_household_stays_monitored(desk: Desk) -> None:
    hid = await desk.register(3)
    await desk.survey(hid, annual_survey(2025))
    await desk.enrol(hid)
    desk.set_day(date(2026, 7, 1))
    await desk.survey(hid, quarterly_survey("2026Q1", 9000))
    await desk.survey(hid, quarterly_survey("2026Q2", 9000))
    walk = [lambda h: desk.verify(h, ()), desk.deliberate, desk.review]
    deciders = [Role.township_officer, Role.village_officer, Role.township_officer, Role.county_officer]
    stages = [
        "elimination_proposed",
        "elimination_verified",
        "elimination_deliberated",
        "elimination_reviewed",
    ]
    for steps, (stage, role) in enumerate(zip(stages, deciders, strict=True)):
        await desk.propose(hid)
        for step in walk[:steps]:
            await step(hid)
        rejected = await desk.reject(hid, role)
        assert rejected == {
            "household_id": hid,
            "stage": "monitored",
            "events": ["monitoring.risk_elimination_rejected"],
        }
        stored = await desk.app.state.runtime.store.load(household_stream(uuid.UUID(hid)))
        assert stored[-1].data["stage"] == stage
    # still monitored: help goes on
    plan = {
        "planned_on": desk.next_day(),
        "measures": [{"measure": "industry", "risk_type": "illness", "description": "养殖"}],
    }
    await desk.ok(f"/households/{hid}/assistance-plans", plan, Role.county_officer, 201)


async def test_an_enrolment_rejection_after_elimination_leaves_it_eliminated(desk: Desk) -> None:
    hid = await desk.register(4)
    await desk.survey(hid, annual_survey(2025))
    await desk.enrol(hid)
    desk.set_day(date(2026, 7, 1))
    await desk.survey(hid, quarterly_survey("2026Q1", 9000))
    await desk.survey(hid, quarterly_survey("2026Q2", 9000))
    await desk.propose(hid)
    await desk.verify(hid, ())
    await desk.deliberate(hid)
    await desk.review(hid)
    await desk.approve(hid, None)
    await desk.flag(hid)
    await desk.verify(hid)
    assert (await desk.reject(hid, Role.village_officer))["stage"] == "eliminated"
    visit = {"visited_on": desk.next_day(), "stable": True, "note": "回访"}
    await desk.ok(f"/households/{hid}/followups", visit, Role.township_officer, 201)


# -- wrong order, wrong role: refused, nothing written -----------------------------------------------


def step_calls(desk: Desk) -> dict[str, tuple[str, dict[str, Any], tuple[Role, ...]]]:
    """Each step: its path, a body dated today, and the roles that may take it at the right moment."""
    day = desk.today.isoformat()
    return {
        "verification": (
            "verification",
            {"verified_on": day, "risk_types": ["illness"], "findings": "x"},
            (Role.township_officer,),
        ),
        "deliberation": (
            "deliberation",
            {"deliberated_on": day, "votes_for": 3, "votes_against": 0, "notice_from": day},
            (Role.village_officer,),
        ),
        "review": ("review", {"reviewed_on": day, "opinion": "x"}, (Role.township_officer,)),
        "approval": (
            "approval",
            {"approved_on": day, "category": "sudden_severe_hardship"},
            (Role.county_officer,),
        ),
        "proposal": ("elimination-proposal", {"proposed_on": day}, (Role.village_officer,)),
        "followup": (
            "followups",
            {"visited_on": day, "stable": True, "note": "x"},
            (Role.village_officer, Role.township_officer),
        ),
        "contact": (
            "contact",
            {"name": "赵", "unit": "镇", "assigned_on": day},
            (Role.township_officer, Role.county_officer),
        ),
        "flag": (
            "flags",
            {"source": "cadre_visit", "risk_types": ["illness"], "flagged_on": day},
            (Role.village_officer, Role.township_officer, Role.county_officer),
        ),
    }


# The steps due at each stage (the rest are out of order there); rejection is due at every stage.
DUE = {
    "none": {"flag"},
    "flagged": {"verification"},
    "verified": {"deliberation"},
    "deliberated": {"review"},
    "reviewed": {"approval"},
    "monitored": {"proposal", "contact"},
    "elimination_proposed": {"verification", "contact"},
    "elimination_verified": {"deliberation", "contact"},
    "elimination_deliberated": {"review", "contact"},
    "elimination_reviewed": {"approval", "contact"},
    "eliminated": {"followup", "flag"},
}
REJECTER = {
    "flagged": Role.township_officer,
    "verified": Role.village_officer,
    "deliberated": Role.township_officer,
    "reviewed": Role.county_officer,
    "elimination_proposed": Role.township_officer,
    "elimination_verified": Role.village_officer,
    "elimination_deliberated": Role.township_officer,
    "elimination_reviewed": Role.county_officer,
}


async def refused_everywhere(desk: Desk, hid: str, stage: str) -> None:
    """At ``stage``: every step not due is a 409 and every due one by another role a 403, each naming
    its rule; none writes anything."""
    before = await desk.count()
    desk.next_day(desk.settings.notice_days + 1)  # any notice is over; every date is in order
    for name, (path, body, roles) in step_calls(desk).items():
        if name in DUE[stage]:
            for role in Role:
                if role in roles:
                    continue
                refused = await desk.post(f"/households/{hid}/{path}", body, role)
                assert refused.status_code == 403, (stage, name, role, refused.text)
                assert refused.json()["rule"] in ("step_role", "flag_source_role")
                if name == "approval":  # without a category too: the role is refused first
                    bare = {"approved_on": body["approved_on"]}
                    refused = await desk.post(f"/households/{hid}/approval", bare, role)
                    assert refused.status_code == 403 and refused.json()["rule"] == "step_role", refused.text
        else:
            refused = await desk.post(f"/households/{hid}/{path}", body, roles[0])
            assert refused.status_code == 409, (stage, name, refused.text)
            expected = {"flag": "one_open_procedure", "contact": "help_after_enrolment"}.get(
                name, "step_order"
            )
            assert refused.json()["rule"] == expected, (stage, name)
            assert refused.headers["content-type"] == "application/problem+json"
    rejection = {"rejected_on": desk.today.isoformat(), "reason": "x"}
    if stage in REJECTER:
        for role in Role:
            if role is not REJECTER[stage]:
                refused = await desk.post(f"/households/{hid}/rejection", rejection, role)
                assert refused.status_code == 403 and refused.json()["rule"] == "step_role"
    else:
        refused = await desk.post(f"/households/{hid}/rejection", rejection, Role.county_officer)
        assert refused.status_code == 409 and refused.json()["rule"] == "step_order"
    assert await desk.count() == before, stage


async def test_steps_out_of_order_or_by_the_wrong_role_are_refused_and_write_nothing(desk: Desk) -> None:
    hid = await desk.register(5)
    await desk.survey(hid, annual_survey(2025))
    await refused_everywhere(desk, hid, "none")
    await desk.flag(hid)
    await refused_everywhere(desk, hid, "flagged")
    await desk.verify(hid)
    await refused_everywhere(desk, hid, "verified")
    await desk.deliberate(hid)
    await refused_everywhere(desk, hid, "deliberated")
    await desk.review(hid)
    await refused_everywhere(desk, hid, "reviewed")
    await desk.approve(hid)
    desk.set_day(date(2026, 7, 1))
    await desk.survey(hid, quarterly_survey("2026Q1", 9000))
    await desk.survey(hid, quarterly_survey("2026Q2", 9000))
    await refused_everywhere(desk, hid, "monitored")
    await desk.propose(hid)
    await refused_everywhere(desk, hid, "elimination_proposed")
    await desk.verify(hid, ())
    await refused_everywhere(desk, hid, "elimination_verified")
    await desk.deliberate(hid)
    await refused_everywhere(desk, hid, "elimination_deliberated")
    await desk.review(hid)
    await refused_everywhere(desk, hid, "elimination_reviewed")
    await desk.approve(hid, None)
    await refused_everywhere(desk, hid, "eliminated")
    assert (await desk.events(hid))[-1] == "risk_eliminated"


async def test_the_role_gates_of_entry_alerts_and_erasure(desk: Desk) -> None:
    hid = await desk.register(6)
    before = await desk.count()
    for role in (Role.federation_officer, Role.enterprise, Role.platform, Role.viewer):
        response = await desk.post("/households", household_body(60), role)
        assert response.status_code == 403, role
        response = await desk.post(f"/households/{hid}/surveys", quarterly_survey("2025Q4", 100), role)
        assert response.status_code == 403, role
    for role in (Role.village_officer, Role.township_officer, Role.viewer, Role.enterprise):
        alert = {
            "household_id": hid,
            "department": "health",
            "risk_types": ["illness"],
            "alerted_on": "2026-01-05",
        }
        assert (await desk.post("/department-alerts", alert, role)).status_code == 403, role
    for role in Role:
        if role is not Role.county_officer:
            response = await desk.post(f"/households/{hid}/erasure", {"reason": "x"}, role)
            assert response.status_code == 403, role
    # a department alert is the platform's or the county's, not a self-declaration
    self_declared = await desk.post(
        f"/households/{hid}/flags",
        {"source": "department_alert", "risk_types": ["illness"], "flagged_on": desk.today.isoformat()},
        Role.county_officer,
    )
    assert self_declared.status_code == 422 and self_declared.json()["rule"] == "department_names_alert"
    rule_flag = await desk.post(
        f"/households/{hid}/flags",
        {"source": "rule", "risk_types": ["illness"], "flagged_on": desk.today.isoformat()},
        Role.county_officer,
    )
    assert rule_flag.status_code == 403 and rule_flag.json()["rule"] == "flag_source_role"
    assert (await desk.client.post("/households", json=household_body(61))).status_code == 401
    assert await desk.count() == before


async def test_dates_after_today_or_before_the_last_step_are_refused(desk: Desk) -> None:
    hid = await desk.register(7)
    tomorrow = (desk.today + timedelta(days=1)).isoformat()
    future = await desk.post(
        f"/households/{hid}/flags",
        {"source": "cadre_visit", "risk_types": ["illness"], "flagged_on": tomorrow},
        Role.village_officer,
    )
    assert future.status_code == 422 and future.json()["rule"] == "date_not_in_future"
    future_survey = await desk.post(
        f"/households/{hid}/surveys",
        {**quarterly_survey("2026Q1", 100), "surveyed_on": tomorrow},
        Role.village_officer,
    )
    assert future_survey.status_code == 422 and future_survey.json()["rule"] == "date_not_in_future"
    await desk.flag(hid)
    flagged_on = desk.today
    desk.next_day(3)
    before = (flagged_on - timedelta(days=1)).isoformat()
    early = await desk.post(
        f"/households/{hid}/verification",
        {"verified_on": before, "risk_types": ["illness"], "findings": "x"},
        Role.township_officer,
    )
    assert early.status_code == 422 and early.json()["rule"] == "dates_in_order"
    assert await desk.events(hid) == ["household_registered", "household_flagged"]


async def test_concurrent_steps_on_one_household_take_one(desk: Desk) -> None:
    hid = await desk.register(30)
    await desk.flag(hid)
    day = desk.next_day()
    for round_ in range(3):  # each round: two officers verify at the same moment
        body = {"verified_on": day, "risk_types": ["illness"], "findings": "x"}
        responses = await asyncio.gather(
            *(desk.post(f"/households/{hid}/verification", body, Role.township_officer) for _ in range(2))
        )
        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        refused = next(r for r in responses if r.status_code == 409).json()
        assert refused["type"].endswith(("concurrent_change", "step_order"))
        assert (await desk.events(hid)).count("household_verified") == round_ + 1
        await desk.reject(hid, Role.village_officer)
        await desk.flag(hid)
        day = desk.today.isoformat()


# -- regions -----------------------------------------------------------------------------------------


async def test_a_caller_outside_the_households_region_is_refused(desk: Desk) -> None:
    hid = await desk.register(8)
    elsewhere = token(desk.settings, Role.village_officer, village_code(2))
    other_county = token(desk.settings, Role.township_officer, "150603")
    before = await desk.count()
    flag = {"source": "cadre_visit", "risk_types": ["illness"], "flagged_on": desk.today.isoformat()}
    response = await desk.client.post(f"/households/{hid}/flags", json=flag, headers=elsewhere)
    assert response.status_code == 403 and response.json()["title"] == "Outside your region"
    response = await desk.client.post(
        f"/households/{hid}/surveys", json=quarterly_survey("2025Q4", 100), headers=other_county
    )
    assert response.status_code == 403
    response = await desk.client.post("/households", json=household_body(80), headers=elsewhere)
    assert response.status_code == 403 and response.json()["errors"][0]["field"] == "village_code"
    served = await desk.client.post(
        "/households",
        json=household_body(81, village="150603100001"),
        headers=token(desk.settings, Role.county_officer, "15"),
    )
    assert served.status_code == 422 and served.json()["rule"] == "village_code_of_this_deployment"
    assert await desk.count() == before
    unknown = await desk.post(f"/households/{uuid.uuid4()}/flags", flag, Role.village_officer)
    assert unknown.status_code == 404 and unknown.json()["rule"] == "household_registered"


# -- department alerts and the citizen-ID index ------------------------------------------------------


async def test_a_department_alert_finds_the_household_by_an_id_number(desk: Desk) -> None:
    hid = await desk.register(9)
    spouse = household_body(9)["members"][1]["id_number"]
    alert = {
        "id_number": spouse,
        "department": "medical_insurance",
        "risk_types": ["illness"],
        "alerted_on": desk.today.isoformat(),
        "note": "高额医疗费用",
    }
    received = await desk.ok("/department-alerts", alert, Role.platform, 201)
    assert received["household_id"] == hid
    stored = await desk.app.state.runtime.store.load(household_stream(uuid.UUID(hid)))
    assert stored[-1].type == "monitoring.household_flagged"
    assert (
        stored[-1].data["source"] == "department_alert"
        and stored[-1].data["department"] == "medical_insurance"
    )
    assert spouse not in stored[-1].model_dump_json()

    busy = await desk.post("/department-alerts", {**alert, "department": "housing"}, Role.county_officer)
    assert busy.status_code == 409 and busy.json()["rule"] == "one_open_procedure"
    before = await desk.count()
    unknown = await desk.post(
        "/department-alerts", {**alert, "id_number": citizen_id(999_999)}, Role.platform
    )
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "id_number"
    assert citizen_id(999_999) not in unknown.text
    both = await desk.post("/department-alerts", {**alert, "household_id": hid}, Role.platform)
    assert both.status_code == 422
    wrong = spouse[:17] + ("0" if spouse[17] != "0" else "1")
    bad = await desk.post("/department-alerts", {**alert, "id_number": wrong}, Role.platform)
    assert bad.status_code == 422 and "check character" in bad.json()["detail"]
    assert await desk.count() == before


async def test_an_id_number_belongs_to_one_household(desk: Desk) -> None:
    await desk.register(10)
    taken = household_body(10)["members"][2]["id_number"]
    body = household_body(11)
    body["members"][0]["id_number"] = taken
    before, rows = await desk.count(), await desk.index_rows()
    conflict = await desk.post("/households", body, Role.village_officer)
    assert conflict.status_code == 409 and conflict.json()["rule"] == "citizen_id_in_one_household"
    assert conflict.json()["errors"][0]["field"] == "members.0.id_number"
    assert taken not in conflict.text
    assert (await desk.count(), await desk.index_rows()) == (before, rows)
    # the same number given twice in one household is refused before anything is looked up
    body = household_body(12)
    body["members"][1]["id_number"] = body["members"][0]["id_number"]
    twice = await desk.post("/households", body, Role.village_officer)
    assert twice.status_code == 422


async def test_concurrent_registrations_of_one_id_number_admit_one(desk: Desk) -> None:
    for round_ in range(6):
        shared_number = citizen_id(500_000 + round_)
        bodies = []
        for n in (100 + 2 * round_, 101 + 2 * round_):
            body = household_body(n)
            body["members"][1]["id_number"] = shared_number
            bodies.append(body)
        before = await desk.count()
        responses = await asyncio.gather(*(desk.post("/households", b, Role.village_officer) for b in bodies))
        assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
        refused = next(r for r in responses if r.status_code == 409)
        assert refused.json()["rule"] == "citizen_id_in_one_household"
        assert await desk.count() == before + 1
        async with desk.app.state.runtime.store.pool.acquire() as conn:
            households = await conn.fetchval("SELECT count(DISTINCT household_id) FROM person_index")
            keys = await conn.fetchval("SELECT count(*) FROM household_keys")
        assert households == keys == round_ + 1


async def test_updating_members_re_indexes_their_numbers(desk: Desk) -> None:
    hid = await desk.register(20)
    other = await desk.register(21)
    body = household_body(20)
    del body["village_code"]
    old = body["members"][1]["id_number"]
    new = citizen_id(777_777)
    body["members"][1]["id_number"] = new
    body["members"].append(
        {
            "name": "新生儿",
            "id_number": citizen_id(777_778),
            "relation": "grandchild",
            "age": 0,
            "labour": "none",
            "schooling": "not_of_school_age",
        }
    )
    updated = await desk.client.put(
        f"/households/{hid}/members", json=body, headers=desk.tokens[Role.village_officer]
    )
    assert updated.status_code == 200, updated.text
    assert (await desk.events(hid))[-1] == "household_members_updated"

    alert = {"department": "civil_affairs", "risk_types": ["other"], "alerted_on": desk.today.isoformat()}
    found = await desk.ok("/department-alerts", {**alert, "id_number": new}, Role.platform, 201)
    assert found["household_id"] == hid
    gone = await desk.post("/department-alerts", {**alert, "id_number": old}, Role.platform)
    assert gone.status_code == 404
    # the old number is free for another household now; a number of another household is not
    freed = household_body(22)
    freed["members"][0]["id_number"] = old
    await desk.ok("/households", freed, Role.village_officer, 201)
    clash = household_body(20)
    del clash["village_code"]
    clash["members"][0]["id_number"] = household_body(21)["members"][0]["id_number"]
    before = await desk.events(hid)
    refused = await desk.client.put(
        f"/households/{hid}/members", json=clash, headers=desk.tokens[Role.village_officer]
    )
    assert refused.status_code == 409 and refused.json()["rule"] == "citizen_id_in_one_household"
    assert refused.json()["errors"][0]["field"] == "members.0.id_number"
    assert await desk.events(hid) == before
    found = await desk.post("/department-alerts", {**alert, "id_number": new}, Role.platform)
    assert found.status_code == 409  # still indexed to this household, which is flagged already
    assert len(await desk.events(other)) == 1


async def test_free_text_holding_an_id_number_is_refused_and_writes_nothing(desk: Desk) -> None:
    hid = await desk.register(9)
    number = citizen_id(424242)
    flagged = await desk.post(
        f"/households/{hid}/flags",
        {
            "source": "cadre_visit",
            "risk_types": ["illness"],
            "flagged_on": desk.today.isoformat(),
            "note": f"户主身份证{number}住院",
        },
        Role.village_officer,
    )
    assert flagged.status_code == 422, flagged.text
    assert flagged.json()["errors"][0]["field"] == "note"
    assert number not in flagged.text  # the refusal does not echo it either
    await desk.flag(hid)
    await desk.verify(hid)
    await desk.deliberate(hid)
    await desk.review(hid)
    await desk.approve(hid)
    plan = await desk.post(
        f"/households/{hid}/assistance-plans",
        {
            "planned_on": desk.today.isoformat(),
            "measures": [
                {"measure": "health", "risk_type": "illness", "description": f"为{number}办理慢病卡"}
            ],
        },
        Role.township_officer,
    )
    assert plan.status_code == 422, plan.text
    assert number not in plan.text
    assert "assistance_planned" not in await desk.events(hid)
