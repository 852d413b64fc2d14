"""The stage-times table (各环节用时) from hand-made facts (the factories of the monitoring tables' tests)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Any

from services.reporting.facts.model import Facts
from services.reporting.periods import HalfYear
from services.reporting.tables.monitoring_labels import STEPS
from services.reporting.tables.registry import TABLES, Options
from services.reporting.tables.stage_times import stage_times
from services.reporting.tables.table import TOTAL_LABEL, Table
from shared.events.catalogue.monitoring import RiskType
from tests.unit.test_reporting_monitoring_tables import (
    CHINA,
    COUNTY,
    H1,
    T1,
    T2,
    TODAY,
    V1,
    M,
    U,
    Walk,
    d,
    facts_of,
    scenario,
)

DEADLINES = {"verification": 3, "deliberation": 7, "township_review": 10, "county_approval": 5, "contact": 15}
FIGURES = ("cases", "waiting", "urgent", "median_days", "longest_days", "deadline_days", "over_deadline")


def build(facts: Facts, deadlines: Mapping[str, int] = DEADLINES, period: HalfYear = H1) -> Table:
    return stage_times(facts, Options(period=period, stage_deadlines=deadlines))


def figures(built: Table) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(township, step key) → (cases, waiting, urgent, median, longest, deadline, over deadline)."""
    key_of = {name: key for key, name in STEPS.items()}
    return {(r["township_code"], key_of[r["step"]]): tuple(r[f] for f in FIGURES) for r in built.rows}


def test_registered_not_filed() -> None:
    assert TABLES["stage-times"].title == "各环节用时"
    assert not TABLES["stage-times"].filed


def test_each_step_per_township_with_waiting_cases_and_deadlines() -> None:
    built = build(facts_of(*scenario().values()))
    rows = figures(built)
    assert list(rows) == [(t, s) for t in (T1, T2) for s in STEPS]  # T3 has no case
    # T1 verification: a 3, b 2, e's first flag 4 (rejected), e's second 3, c 4, and d flagged again
    # on 10 May on the urgent path, still waiting on 20 June: 41 days. b's and d's elimination
    # verifications are not cases of this step.
    assert rows[T1, "verification"] == (6, 1, 1, 4, 41, 3, 3)
    # a 4, b 3, e 4; c verified 5 May, waiting 46 days
    assert rows[T1, "deliberation"] == (4, 1, 0, 4, 46, 7, 1)
    # a 13, b 14; e deliberated 8 March, waiting 104 days
    assert rows[T1, "township_review"] == (3, 1, 0, 14, 104, 10, 3)
    assert rows[T1, "county_approval"] == (2, 0, 0, 6, 7, 5, 1)  # a 7, b 5
    # a 9, b 26; d's contacts: one of 2025, one before its new flag is enrolled
    assert rows[T1, "contact"] == (2, 0, 0, 18, 26, 15, 1)
    assert rows[T2, "verification"] == (2, 0, 0, 1, 1, 3, 0)  # h, i
    assert rows[T2, "deliberation"] == (2, 0, 0, 1, 1, 7, 0)
    assert rows[T2, "township_review"] == (2, 0, 0, 12, 12, 10, 2)  # h 12, i 11
    assert rows[T2, "county_approval"] == (2, 1, 0, 6, 6, 5, 1)  # h 5; i waiting since 14 June: 6
    assert rows[T2, "contact"] == (1, 1, 0, 61, 61, 15, 1)  # h enrolled 20 April, no contact yet
    assert built.totals is not None
    assert built.totals["township_code"] == TOTAL_LABEL
    for key in ("cases", "waiting", "urgent", "over_deadline"):
        assert built.totals[key] == sum(r[key] for r in built.rows), key
    assert built.totals.get("median_days") is None  # the steps' times are not added up


def test_deadlines_come_from_the_request_and_apply_to_past_cases() -> None:
    facts = facts_of(*scenario().values())
    later = figures(build(facts, {"verification": 5}))
    assert later[T1, "verification"][5:] == (5, 1)  # only d's 41 days exceed 5
    for step in ("deliberation", "township_review", "county_approval", "contact"):
        assert later[T1, step][5:] == (None, 0)  # no deadline, nothing over it
    assert figures(build(facts, {}))[T1, "verification"][:5] == figures(build(facts))[T1, "verification"][:5]


def test_completed_cases_count_in_the_period_they_ended() -> None:
    walks = scenario()
    last_year = figures(build(facts_of(*walks.values()), period=HalfYear(2025, 2)))
    # d's first procedure (2025H2): flagged 1 Sept, verified 3 Sept, …, enrolled 1 Oct, contact 5 Oct;
    # the cases waiting today are shown whatever the period
    assert last_year[T1, "verification"][:2] == (2, 1)  # d's 2 days, d's new flag waiting
    assert last_year[T1, "county_approval"][:2] == (1, 0)  # d: 20 Sept → 1 Oct
    assert last_year[T1, "county_approval"][3] == 11
    assert last_year[T1, "contact"][:4] == (1, 0, 0, 4)

    closed = datetime(2026, 7, 3, 9, tzinfo=CHINA)
    late = Walk(V1).flag(d(6, 20)).step(d(6, 29), recorded_at=datetime(2026, 7, 4, 9, tzinfo=CHINA))
    facts = facts_of(late, villages=(V1,), today=d(7, 10), closings={(COUNTY, "2026H1"): closed})
    assert figures(build(facts))[T1, "verification"][0] == 0  # T1's row: the deliberation waits
    assert figures(build(facts, period=HalfYear(2026, 2)))[T1, "verification"][:4] == (1, 0, 0, 9)


def test_a_rejection_ends_the_step_it_waited_for() -> None:
    walk = Walk(V1).flag(d(3, 1)).through(d(3, 2), d(3, 10)).reject(d(3, 16)).flag(d(6, 1))
    rows = figures(build(facts_of(walk, villages=(V1,))))
    # first procedure: verification 1 day, deliberation 8 days, township review rejected after 6 days
    # second: verification waiting since 1 June, 19 days
    assert rows[T1, "verification"][:5] == (2, 1, 0, 10, 19)
    assert rows[T1, "deliberation"][:5] == (1, 0, 0, 8, 8)
    assert rows[T1, "township_review"][:5] == (1, 0, 0, 6, 6)
    assert rows[T1, "county_approval"][0] == 0 and rows[T1, "contact"][0] == 0


def test_urgent_path_contact_before_enrolment_and_no_contact_before_elimination() -> None:
    helped_first = (
        Walk(V1, "former_poor")
        .flag(d(3, 1), RiskType.disaster, urgent=True)
        .contact(d(3, 2))
        .through(d(3, 5), d(3, 9), d(3, 25))
        .enrol(d(4, 1), U)
    )
    never_contacted = (
        Walk(V1)
        .flag(d(1, 2))
        .through(d(1, 3), d(1, 5), d(1, 16))
        .enrol(d(1, 20), M)
        .propose(d(5, 1))
        .through(d(5, 2), d(5, 3), d(5, 20))
        .eliminate(d(6, 1))
    )
    rows = figures(build(facts_of(helped_first, never_contacted, villages=(V1,))))
    assert rows[T1, "verification"][:3] == (2, 0, 1)  # one of the two took the urgent path
    # helped first: in place when enrolled, 0 days; never contacted: 20 January → eliminated 1 June
    assert rows[T1, "contact"] == (2, 0, 1, 66, 132, 15, 1)


def test_elimination_steps_are_not_enrolment_steps() -> None:
    eliminated = (
        Walk(V1)
        .flag(d(9, 1, 2025))
        .through(d(9, 2, 2025), d(9, 3, 2025), d(9, 15, 2025))
        .enrol(d(9, 20, 2025), M)
        .contact(d(9, 21, 2025))
        .propose(d(1, 5))
        .through(d(1, 6), d(1, 30), d(3, 30))
        .eliminate(d(4, 2))
    )
    built = build(facts_of(eliminated, villages=(V1,)))
    assert built.rows == ()  # every enrolment step ended in 2025H2
    assert built.totals is not None and built.totals["cases"] == 0


def test_empty_facts() -> None:
    built = build(Facts(region=COUNTY, as_of=datetime.combine(TODAY, time(18), CHINA), today=TODAY))
    assert built.rows == ()
    assert built.totals is not None
    assert (built.totals["cases"], built.totals["waiting"], built.totals["over_deadline"]) == (0, 0, 0)
    assert any("时限" in n for n in built.notes)


def test_a_township_region_sees_its_own_rows() -> None:
    walks = scenario()
    only_t2 = [w for w in walks.values() if w.village_code.startswith(T2)]
    assert {r["township_code"] for r in build(facts_of(*only_t2)).rows} == {T2}


def test_a_deadline_for_an_unknown_step_stops_the_settings() -> None:
    import pydantic
    import pytest

    from shared.settings import Settings

    assert Settings(stage_deadlines={"verification": 3}).stage_deadlines == {"verification": 3}
    with pytest.raises(pydantic.ValidationError, match="unknown steps"):
        Settings(stage_deadlines={"verificaton": 3})
