"""The monitoring tables (防返贫监测统计, 监测户风险类型统计) from hand-made facts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from services.reporting.facts.model import Facts, Household, HouseholdStep, Village
from services.reporting.periods import HalfYear
from services.reporting.tables.monitoring import monitoring, monitoring_risks
from services.reporting.tables.monitoring_labels import CATEGORIES, RISKS, STAGES
from services.reporting.tables.registry import TABLES, Options
from services.reporting.tables.table import TOTAL_LABEL
from shared.events.catalogue.monitoring import RiskType

CHINA = timezone(timedelta(hours=8))
COUNTY = "150602"
T1, T2, T3 = "150602100", "150602200", "150602300"
V1, V2, V3, V4 = T1 + "001", T1 + "002", T2 + "001", T3 + "001"
TODAY = date(2026, 6, 20)
H1 = HalfYear(2026, 1)
H2 = HalfYear(2026, 2)
_NEXT = {
    "flagged": "verified",
    "verified": "deliberated",
    "deliberated": "reviewed",
    "elimination_proposed": "elimination_verified",
    "elimination_verified": "elimination_deliberated",
    "elimination_deliberated": "elimination_reviewed",
}


@dataclass
class Walk:
    """One household taken through the workflow as the monitoring facts record it: each step with
    the household's state after it, recorded at noon of its own date unless ``recorded_at`` is given."""

    village_code: str
    status: str = "ordinary"
    household_id: uuid.UUID = field(default_factory=uuid.uuid4)
    stage: str | None = None
    category: str | None = None
    risk_types: tuple[str, ...] = ()
    times_eliminated: int = 0
    steps: list[HouseholdStep] = field(default_factory=list)

    def flag(
        self, on: date, *risks: RiskType, urgent: bool = False, recorded_at: datetime | None = None
    ) -> Walk:
        reflagged = self.times_eliminated > 0
        if self.stage == "eliminated":
            self.category = None
        self.stage = "flagged"
        self.risk_types = tuple(r.value for r in risks) or (RiskType.illness.value,)
        return self._add("flagged", on, recorded_at, source="cadre_visit", urgent=urgent, reflagged=reflagged)

    def step(self, on: date, recorded_at: datetime | None = None) -> Walk:
        """The verify, deliberate or review step the household waits for, in either procedure."""
        assert self.stage is not None
        procedure = "elimination" if self.stage.startswith("elimination_") else "enrolment"
        self.stage = _NEXT[self.stage]
        return self._add(self.stage.removeprefix("elimination_"), on, recorded_at, procedure=procedure)

    def through(self, *days: date) -> Walk:
        for on in days:
            self.step(on)
        return self

    def enrol(self, on: date, category: str, *risks: RiskType, recorded_at: datetime | None = None) -> Walk:
        self.stage, self.category = "monitored", category
        if risks:
            self.risk_types = tuple(r.value for r in risks)
        return self._add("enrolled", on, recorded_at, procedure="enrolment")

    def reject(self, on: date) -> Walk:
        at = self.stage
        self.stage = "eliminated" if self.times_eliminated else None
        self.risk_types = ()
        return self._add("flag_rejected", on, procedure="enrolment", rejected_at_stage=at)

    def contact(self, on: date) -> Walk:
        return self._add("contact_assigned", on)

    def propose(self, on: date) -> Walk:
        self.stage = "elimination_proposed"
        return self._add("elimination_proposed", on, procedure="elimination")

    def eliminate(self, on: date, recorded_at: datetime | None = None) -> Walk:
        self.stage, self.category = "eliminated", None
        self.times_eliminated += 1
        return self._add("eliminated", on, recorded_at, procedure="elimination")

    def _add(
        self, kind: str, on: date, recorded_at: datetime | None = None, **extra: str | bool | None
    ) -> Walk:
        self.steps.append(
            HouseholdStep(
                household_id=self.household_id,
                village_code=self.village_code,
                version=len(self.steps) + 2,  # version 1 is the registration
                kind=kind,
                on_date=on,
                recorded_at=recorded_at or datetime.combine(on, time(12), CHINA),
                status=self.status,
                stage=self.stage,
                category=self.category,
                risk_types=self.risk_types,
                source=extra.get("source"),  # type: ignore[arg-type]
                urgent=bool(extra.get("urgent", False)),
                reflagged=bool(extra.get("reflagged", False)),
                procedure=extra.get("procedure"),  # type: ignore[arg-type]
                rejected_at_stage=extra.get("rejected_at_stage"),  # type: ignore[arg-type]
                measure=None,
                amount_yuan=None,
                stable=None,
            )
        )
        return self

    @property
    def household(self) -> Household:
        return Household(
            household_id=self.household_id,
            village_code=self.village_code,
            status=self.status,
            members=3,
            labourers=2,
            stage=self.stage,
            category=self.category,
            risk_types=self.risk_types,
            times_eliminated=self.times_eliminated,
            erased=False,
        )


def village(code: str) -> Village:
    return Village(code, f"村{code[-3:]}", "key_support", False)


def facts_of(
    *walks: Walk,
    villages: tuple[str, ...] = (V1, V2, V3, V4),
    today: date = TODAY,
    closings: dict[tuple[str, str], datetime] | None = None,
) -> Facts:
    return Facts(
        region=COUNTY,
        as_of=datetime.combine(today, time(18), CHINA),
        today=today,
        villages=tuple(village(v) for v in villages),
        households=tuple(w.household for w in walks),
        steps=tuple(s for w in walks for s in w.steps),
        closings=closings or {},
    )


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


U, M, S = "unstable_after_exit", "marginal_at_risk", "sudden_severe_hardship"


def scenario() -> dict[str, Walk]:
    """Two townships' households in every state (T3 has a village and no household); today 20 June 2026."""
    illness, schooling, disaster = RiskType.illness, RiskType.schooling, RiskType.disaster
    return {
        # T1: enrolled in H1 (flag→enrol 27 days, contact 9 days later)
        "a": Walk(V1, "former_poor")
        .flag(d(1, 5))
        .through(d(1, 8), d(1, 12), d(1, 25))
        .enrol(d(2, 1), U, illness, schooling)
        .contact(d(2, 10)),
        # T1: enrolled in H1 (24 days, contact after 26), now in the elimination procedure
        "b": Walk(V2)
        .flag(d(3, 1))
        .through(d(3, 3), d(3, 6), d(3, 20))
        .enrol(d(3, 25), M, illness)
        .contact(d(4, 20))
        .propose(d(5, 1))
        .step(d(5, 3)),
        # T1: verified, waits for deliberation
        "c": Walk(V1).flag(d(5, 1), illness).step(d(5, 5)),
        # T1: enrolled and contacted in 2025H2, eliminated in H1, flagged again (urgent path, helped first)
        "d": Walk(V1, "low_income")
        .flag(d(9, 1, 2025))
        .through(d(9, 3, 2025), d(9, 6, 2025), d(9, 20, 2025))
        .enrol(d(10, 1, 2025), S, disaster)
        .contact(d(10, 5, 2025))
        .propose(d(1, 10))
        .through(d(1, 15), d(1, 20), d(2, 10))
        .eliminate(d(3, 1))
        .flag(d(5, 10), disaster, urgent=True)
        .contact(d(5, 11)),
        # T1: flagged, rejected at verification, flagged again, waits for the township's review
        "e": Walk(V2).flag(d(2, 1)).reject(d(2, 5)).flag(d(3, 1)).through(d(3, 4), d(3, 8)),
        # T1: registered only
        "f": Walk(V2, "former_poor"),
        # T1: enrolled and eliminated in 2025
        "g": Walk(V1, "former_poor")
        .flag(d(3, 1, 2025))
        .through(d(3, 3, 2025), d(3, 5, 2025), d(3, 15, 2025))
        .enrol(d(3, 20, 2025), U)
        .contact(d(3, 22, 2025))
        .propose(d(10, 1, 2025))
        .through(d(10, 5, 2025), d(10, 10, 2025), d(11, 20, 2025))
        .eliminate(d(12, 1, 2025)),
        # T2: enrolled in H1 (19 days), no contact yet
        "h": Walk(V3, "low_income")
        .flag(d(4, 1))
        .through(d(4, 2), d(4, 3), d(4, 15))
        .enrol(d(4, 20), M, illness, RiskType.housing_safety),
        # T2: reviewed, waits for the county
        "i": Walk(V3).flag(d(6, 1)).through(d(6, 2), d(6, 3), d(6, 14)),
    }


def rows_by_township(facts: Facts, period: HalfYear = H1) -> dict[str, dict[str, object]]:
    built = monitoring(facts, Options(period=period))
    return {str(r["township_code"]): dict(r) for r in built.rows}


def test_monitoring_is_registered_and_filed() -> None:
    assert TABLES["monitoring"].filed
    assert TABLES["monitoring"].title == "防返贫监测统计"
    assert not TABLES["monitoring-risks"].filed


def test_households_by_category_and_stage_per_township() -> None:
    walks = scenario()
    rows = rows_by_township(facts_of(*walks.values()))
    assert list(rows) == [T1, T2, T3]
    t1, t2, t3 = rows[T1], rows[T2], rows[T3]
    assert t1["households"] == 7  # a–g
    assert (t1[U], t1[M], t1[S], t1["monitored"]) == (1, 1, 0, 2)  # a; b (in elimination)
    # c verified, d flagged again, e (second flag) deliberated
    assert (t1["flagged"], t1["verified"], t1["deliberated"], t1["reviewed"]) == (1, 1, 1, 0)
    assert t1["in_elimination"] == 1  # b
    assert t1["eliminated"] == 1  # g; d was eliminated, then flagged again
    assert t2["households"] == 2
    assert (t2[U], t2[M], t2[S], t2["monitored"]) == (0, 1, 0, 1)  # h
    assert (t2["flagged"], t2["verified"], t2["deliberated"], t2["reviewed"]) == (0, 0, 0, 1)  # i
    assert t3["households"] == 0 and t3["monitored"] == 0
    assert t3["days_flag_to_enrolment"] is None and t3["return_rate"] is None


def test_the_periods_flows() -> None:
    rows = rows_by_township(facts_of(*scenario().values()))
    t1, t2 = rows[T1], rows[T2]
    assert t1["enrolled_in_period"] == 2  # a, b (d in 2025H2)
    assert t1["eliminated_in_period"] == 1  # d (g in 2025)
    assert t1["reflagged_in_period"] == 1  # d; e's second flag follows a rejection, not an elimination
    assert t1["rejected_in_period"] == 1  # e's first flag
    assert (t2["enrolled_in_period"], t2["eliminated_in_period"], t2["reflagged_in_period"]) == (1, 0, 0)

    last_year = rows_by_township(facts_of(*scenario().values()), HalfYear(2025, 2))
    assert last_year[T1]["enrolled_in_period"] == 1  # d
    assert last_year[T1]["eliminated_in_period"] == 1  # g


def test_median_days_from_flag_to_enrolment_and_to_contact() -> None:
    built = monitoring(facts_of(*scenario().values()), Options(period=H1))
    rows = {r["township_code"]: r for r in built.rows}
    # a: 5 Jan → 1 Feb = 27 days, b: 1 → 25 March = 24 days; median 25.5, rounded up
    assert rows[T1]["days_flag_to_enrolment"] == 26
    # a: 1 → 10 Feb = 9 days, b: 25 March → 20 April = 26 days; d's contacts are in 2025 and in
    # a procedure not yet enrolled
    assert rows[T1]["days_enrolment_to_contact"] == 18
    assert rows[T2]["days_flag_to_enrolment"] == 19  # h: 1 → 20 April
    assert rows[T2]["days_enrolment_to_contact"] is None  # h has no contact yet
    assert built.totals is not None
    assert built.totals["days_flag_to_enrolment"] == 24  # median of 27, 24, 19
    assert built.totals["days_enrolment_to_contact"] == 18  # median of 9, 26


def test_return_to_poverty_rate() -> None:
    built = monitoring(facts_of(*scenario().values()), Options(period=H1))
    rows = {r["township_code"]: r for r in built.rows}
    # T1: former poor or low income: a, d, f, g; of them enrolled in H1: a (b is ordinary)
    assert (rows[T1]["rate_base"], rows[T1]["returned"], rows[T1]["return_rate"]) == (4, 1, Decimal("25.0"))
    assert (rows[T2]["rate_base"], rows[T2]["returned"], rows[T2]["return_rate"]) == (1, 1, Decimal("100.0"))
    assert built.totals is not None
    assert (built.totals["rate_base"], built.totals["returned"]) == (5, 2)
    assert built.totals["return_rate"] == Decimal("40.0")


def test_a_household_enrolled_twice_in_the_period_returned_once() -> None:
    twice = (
        Walk(V1, "former_poor")
        .flag(d(1, 2))
        .through(d(1, 3), d(1, 4), d(1, 6))
        .enrol(d(1, 10), U)
        .contact(d(1, 11))
        .propose(d(2, 1))
        .through(d(2, 2), d(2, 3), d(2, 20))
        .eliminate(d(3, 1))
        .flag(d(3, 15))
        .through(d(3, 16), d(3, 17), d(3, 30))
        .enrol(d(4, 10), U)
        .contact(d(4, 14))
    )
    row = rows_by_township(facts_of(twice, villages=(V1,)))[T1]
    assert (row["enrolled_in_period"], row["eliminated_in_period"], row["reflagged_in_period"]) == (2, 1, 1)
    assert (row["returned"], row["rate_base"], row["return_rate"]) == (1, 1, Decimal("100.0"))
    # each procedure from its own flag: 2 → 10 Jan = 8 days, 15 March → 10 April = 26 days
    assert row["days_flag_to_enrolment"] == 17
    assert row["days_enrolment_to_contact"] == 3  # 1 day and 4 days: median 2.5, rounded up


def test_a_late_entry_after_the_closing_counts_in_the_next_period() -> None:
    closed = datetime(2026, 7, 3, 9, tzinfo=CHINA)
    on_time = Walk(V1).flag(d(5, 2)).through(d(5, 4), d(5, 6), d(5, 20)).enrol(d(6, 1), M)
    late = (
        Walk(V1)
        .flag(d(5, 2))
        .through(d(5, 4), d(5, 6), d(5, 20))
        .enrol(d(6, 28), M, recorded_at=datetime(2026, 7, 5, 10, tzinfo=CHINA))
    )
    facts = facts_of(on_time, late, villages=(V1,), today=d(7, 10), closings={(COUNTY, "2026H1"): closed})
    assert rows_by_township(facts, H1)[T1]["enrolled_in_period"] == 1
    h2 = rows_by_township(facts, H2)[T1]
    assert h2["enrolled_in_period"] == 1
    assert h2["days_flag_to_enrolment"] == 57  # 2 May → 28 June, counted with the late entry
    # without the closing the late entry is of its own date's period
    assert (
        rows_by_township(facts_of(on_time, late, villages=(V1,), today=d(7, 10)), H1)[T1][
            "enrolled_in_period"
        ]
        == 2
    )


def test_totals_row_adds_up_the_townships() -> None:
    built = monitoring(facts_of(*scenario().values()), Options(period=H1))
    assert built.totals is not None
    assert built.totals["township_code"] == TOTAL_LABEL
    for column in built.columns:
        if column.summed:
            assert built.totals[column.key] == sum(r[column.key] for r in built.rows), column.key
    assert (built.totals["households"], built.totals["monitored"]) == (9, 3)
    assert [c.header for c in built.columns][1:6] == ["农户数", *CATEGORIES.values(), "监测户合计"]
    assert [c.header for c in built.columns][6:10] == list(STAGES.values())[:4]
    assert any("低收入人口返贫致贫率" in n for n in built.notes)


def test_risk_types_of_monitored_households_by_category() -> None:
    walks = scenario()
    built = monitoring_risks(facts_of(*walks.values()), Options(period=H1))
    assert [r["risk_type"] for r in built.rows] == [RISKS[r] for r in RiskType]
    rows = {r["risk_type"]: r for r in built.rows}
    # monitored: a (U: illness, schooling), b (M: illness), h (M: illness, housing); c, d, e flagged only
    assert (rows["因病"][U], rows["因病"][M], rows["因病"][S], rows["因病"]["monitored"]) == (1, 2, 0, 3)
    assert (rows["因学"][U], rows["因学"]["monitored"]) == (1, 1)
    assert (rows["住房安全"][M], rows["住房安全"]["monitored"]) == (1, 1)
    assert rows["因灾"]["monitored"] == 0  # d's disaster: eliminated, flagged again, not monitored
    assert sum(r["monitored"] for r in built.rows) == 5  # a household counts under each of its risks
    assert built.totals == {"risk_type": TOTAL_LABEL, U: 1, M: 2, S: 0, "monitored": 3}


def test_empty_facts() -> None:
    empty = Facts(region=COUNTY, as_of=datetime.combine(TODAY, time(18), CHINA), today=TODAY)
    built = monitoring(empty, Options(period=H1))
    assert built.rows == ()
    assert built.totals is not None
    assert built.totals["households"] == 0 and built.totals["enrolled_in_period"] == 0
    assert built.totals["days_flag_to_enrolment"] is None and built.totals["return_rate"] is None
    risks = monitoring_risks(empty, Options(period=H1))
    assert len(risks.rows) == len(RiskType) and all(r["monitored"] == 0 for r in risks.rows)
    assert risks.totals is not None and risks.totals["monitored"] == 0
