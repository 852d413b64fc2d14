"""The pairing tables (ledgers, pairing list, progress, statistics) built from hand-made Facts: every
figure checked against the facts the test entered."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from services.reporting.facts.model import (
    Agreement,
    Enterprise,
    Facts,
    Investment,
    Milestone,
    Project,
    Village,
    VillageIncome,
)
from services.reporting.periods import HalfYear
from services.reporting.tables.labels import MODES, PATHWAYS
from services.reporting.tables.registry import TABLES, Options
from services.reporting.tables.table import TOTAL_LABEL, Table
from shared.events.catalogue.pairing import Mode, Pathway

COUNTY = "130102"
T1, T2 = COUNTY + "001", COUNTY + "002"
V1, V2, V3 = T1 + "001", T1 + "002", T2 + "001"
TODAY = date(2026, 5, 15)
H2_2025, H1_2026 = HalfYear(2025, 2), HalfYear(2026, 1)
CLOSED_2025H2 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
PAIRING_TABLES = (
    "village-ledger",
    "enterprise-ledger",
    "pairing-list",
    "progress",
    "statistics",
    "statistics-by-pathway",
    "statistics-by-mode",
)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)


def village(code: str, name: str, *, former_poor: bool = False) -> Village:
    return Village(code, name, "key_support", former_poor)


def enterprise(name: str, kind: str = "private_enterprise", leading_level: str | None = None) -> Enterprise:
    return Enterprise(uuid.uuid4(), name, f"91{uuid.uuid4().int % 10**16:016d}", kind, COUNTY, leading_level)


def agreement(
    village_code: str,
    by: Enterprise,
    *,
    signed_on: date,
    pathways: Iterable[str] = (Pathway.industry,),
    mode: str = Mode.leading_enterprise,
    investment: str = "0",
    jobs: int = 0,
    trainees: int = 0,
    purchases: str = "0",
    donations: str = "0",
    signed_at: datetime | None = None,
) -> Agreement:
    return Agreement(
        agreement_id=uuid.uuid4(),
        village_code=village_code,
        enterprise_id=by.enterprise_id,
        signed_on=signed_on,
        term_years=3,
        document_ref=f"XC-{uuid.uuid4().hex[:6]}",
        pathways=tuple(pathways),
        mode=mode,
        investment_yuan=Decimal(investment),
        jobs=jobs,
        trainees=trainees,
        purchases_yuan=Decimal(purchases),
        donations_yuan=Decimal(donations),
        status="active",
        relays_agreement_id=None,
        terminated_on=None,
        relayed_by=None,
        signed_at=signed_at or at(signed_on),
        terminated_at=None,
    )


def terminated(a: Agreement, on: date, relayed_by: Agreement | None = None) -> Agreement:
    return replace(
        a,
        status="relayed" if relayed_by else "needs_relay",
        terminated_on=on,
        terminated_at=at(on),
        relayed_by=relayed_by.agreement_id if relayed_by else None,
    )


def milestone(name: str, due_on: date, reached_on: date | None = None) -> Milestone:
    return Milestone(name, name, due_on, reached_on, None)


def project(
    village_code: str,
    by: Iterable[Enterprise],
    name: str,
    *,
    budget: str,
    milestones: Iterable[Milestone] = (),
    completed_on: date | None = None,
    assets: str | None = None,
    households: int = 0,
) -> Project:
    return Project(
        project_id=uuid.uuid4(),
        village_code=village_code,
        agreement_ids=(),
        enterprise_ids=tuple(e.enterprise_id for e in by),
        name=name,
        industry="种植",
        budget_yuan=Decimal(budget),
        funding=(("enterprise", Decimal(budget)),),
        beneficiary_households=households,
        jobs=0,
        registered_on=date(2025, 9, 1),
        completed_on=completed_on,
        assets_value_yuan=Decimal(assets) if assets is not None else None,
        milestones=tuple(milestones),
    )


def investment(of: Project, tranche: int, amount: str, invested_on: date, recorded_on: date) -> Investment:
    return Investment(
        of.project_id, of.village_code, tranche, "enterprise", Decimal(amount), invested_on, at(recorded_on)
    )


class County:
    """Two townships; E1 paired in both; E2's agreement relayed by E3's; E4's awaiting a relay."""

    def __init__(self) -> None:
        self.villages = (village(V1, "东村", former_poor=True), village(V2, "西村"), village(V3, "南村"))
        self.e1, self.e2 = enterprise("甲公司"), enterprise("乙公司", "leading_agricultural", "provincial")
        self.e3, self.e4 = enterprise("丙公司"), enterprise("丁公司")
        self.e5 = enterprise("戊公司")  # registered, never paired
        self.a1 = agreement(
            V1,
            self.e1,
            signed_on=date(2025, 8, 1),
            pathways=(Pathway.industry, Pathway.employment),
            investment="1000000.00",
            jobs=10,
            trainees=5,
            purchases="2000.00",
            donations="300.00",
        )
        self.a2 = agreement(
            V3,
            self.e1,
            signed_on=date(2026, 2, 1),
            mode=Mode.order_farming,
            investment="500000.50",
            jobs=3,
            trainees=2,
            purchases="100.25",
        )
        relay = agreement(
            V1,
            self.e3,
            signed_on=date(2026, 3, 2),
            pathways=(Pathway.consumption, Pathway.industry),
            investment="80000.00",
            jobs=4,
            donations="50.00",
        )
        self.a3 = terminated(
            agreement(V1, self.e2, signed_on=date(2025, 7, 10), investment="999.00", jobs=7),
            date(2026, 3, 1),
            relayed_by=relay,
        )
        self.a4 = replace(relay, relays_agreement_id=self.a3.agreement_id)
        self.a5 = terminated(
            agreement(V2, self.e4, signed_on=date(2025, 9, 9), mode=Mode.agri_tourism, investment="10.00"),
            date(2026, 4, 1),
        )
        self.p1 = project(
            V1,
            (self.e1, self.e3),
            "大棚",
            budget="2000000.00",
            households=30,
            milestones=(
                milestone("m1", date(2025, 12, 1), reached_on=date(2025, 11, 30)),
                milestone("m2", date(2026, 4, 1)),  # overdue: due before today, not reached
                milestone("m3", date(2026, 9, 1)),
            ),
        )
        self.p2 = project(
            V3,
            (self.e1,),
            "冷库",
            budget="300000.00",
            households=12,
            milestones=(milestone("k1", date(2025, 10, 1), reached_on=date(2025, 10, 1)),),
            completed_on=date(2026, 1, 20),
            assets="290000.00",
        )
        # Periods: i1 in 2025H2; i2 dated 2025H2 but recorded after it closed → 2026H1; i3 in 2026H1;
        # i4 dated 2025H2, recorded late but before the closing → 2025H2; i5 dated after today: not done.
        self.i1 = investment(self.p1, 1, "400000.00", date(2025, 12, 10), date(2025, 12, 11))
        self.i2 = investment(self.p1, 2, "150000.00", date(2025, 12, 20), date(2026, 1, 10))
        self.i3 = investment(self.p1, 3, "50000.00", date(2026, 3, 1), date(2026, 3, 2))
        self.i4 = investment(self.p2, 1, "280000.00", date(2025, 11, 1), date(2026, 1, 3))
        self.i5 = investment(self.p2, 2, "7000.00", date(2026, 6, 1), date(2026, 5, 10))
        self.incomes = (
            VillageIncome(V1, 2024, Decimal("52000.00")),
            VillageIncome(V1, 2025, Decimal("61000.00")),
            VillageIncome(V3, 2025, Decimal("9000.00")),
        )

    @property
    def agreements(self) -> tuple[Agreement, ...]:
        return (self.a1, self.a2, self.a3, self.a4, self.a5)

    @property
    def active(self) -> tuple[Agreement, ...]:
        return (self.a1, self.a2, self.a4)

    @property
    def investments(self) -> tuple[Investment, ...]:
        return (self.i1, self.i2, self.i3, self.i4, self.i5)

    @property
    def done(self) -> tuple[Investment, ...]:
        return tuple(i for i in self.investments if i.invested_on <= TODAY)

    def facts(self) -> Facts:
        return Facts(
            region=COUNTY,
            as_of=at(TODAY),
            today=TODAY,
            villages=self.villages,
            incomes=self.incomes,
            enterprises=(self.e1, self.e2, self.e3, self.e4, self.e5),
            agreements=self.agreements,
            projects=(self.p1, self.p2),
            investments=self.investments,
            closings={(COUNTY, H2_2025.name): CLOSED_2025H2},
        )


def build(name: str, facts: Facts, period: HalfYear = H1_2026) -> Table:
    return TABLES[name].build(facts, Options(period=period))


def row_by(t: Table, key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: dict(r) for r in t.rows}


def yuan(values: Iterable[Decimal]) -> Decimal:
    return sum(values, start=Decimal(0))


def test_the_pairing_tables_are_registered_with_their_filing_flags() -> None:
    assert [n for n in TABLES if n in PAIRING_TABLES] == list(PAIRING_TABLES)
    assert {n for n in PAIRING_TABLES if TABLES[n].filed} == set(PAIRING_TABLES) - {"enterprise-ledger"}
    for name in PAIRING_TABLES:
        t = build(name, County().facts())
        assert t.name == name and t.title == TABLES[name].title
        assert t.notes, name
        keys = {c.key for c in t.columns}
        assert all(set(r) == keys for r in t.rows), name


def test_village_ledger_counts_each_village_and_totals_distinct_enterprises() -> None:
    c = County()
    t = build("village-ledger", c.facts())
    rows = row_by(t, "village_code")
    assert list(rows) == [V1, V2, V3]

    v1 = rows[V1]
    assert (v1["township_code"], v1["village"], v1["former_poverty_village"]) == (T1, "东村", "是")
    assert v1["category"] == "重点帮扶村"
    assert v1["enterprises"] == len({c.a1.enterprise_id, c.a4.enterprise_id})
    assert (v1["agreements"], v1["agreements_active"], v1["agreements_needing_relay"]) == (3, 2, 0)
    assert v1["pathways"] == "、".join(
        PATHWAYS[p] for p in (Pathway.industry, Pathway.employment, "consumption")
    )
    assert v1["investment_committed"] == c.a1.investment_yuan + c.a4.investment_yuan
    assert v1["jobs"] == c.a1.jobs + c.a4.jobs
    assert v1["trainees"] == c.a1.trainees + c.a4.trainees
    assert v1["purchases"] == c.a1.purchases_yuan + c.a4.purchases_yuan
    assert v1["donations"] == c.a1.donations_yuan + c.a4.donations_yuan
    assert (v1["projects"], v1["projects_completed"]) == (1, 0)
    assert v1["investment_done"] == c.i1.amount_yuan + c.i2.amount_yuan + c.i3.amount_yuan
    assert v1["beneficiary_households"] == c.p1.beneficiary_households
    assert (v1["milestones_reached"], v1["milestones"]) == (1, len(c.p1.milestones))
    assert (v1["income_year"], v1["income_yuan"]) == (2025, Decimal("61000.00"))

    v2 = rows[V2]
    assert (v2["enterprises"], v2["agreements"], v2["agreements_active"], v2["agreements_needing_relay"]) == (
        0,
        1,
        0,
        1,
    )
    assert v2["investment_committed"] == 0 and v2["pathways"] == "" and v2["former_poverty_village"] == "否"
    assert (v2["income_year"], v2["income_yuan"]) == (None, None)

    v3 = rows[V3]
    assert v3["investment_done"] == c.i4.amount_yuan  # i5 is dated after today
    assert (v3["projects"], v3["projects_completed"]) == (1, 1)

    totals = t.totals
    assert totals is not None and totals["village_code"] == TOTAL_LABEL
    # E1 is paired with V1 and V3: once in the totals, twice in the rows.
    assert totals["enterprises"] == len({a.enterprise_id for a in c.active})
    assert sum(r["enterprises"] for r in t.rows) == totals["enterprises"] + 1
    assert totals["agreements"] == len(c.agreements)
    assert totals["investment_committed"] == yuan(a.investment_yuan for a in c.active)
    assert totals["investment_done"] == yuan(i.amount_yuan for i in c.done)
    assert totals["milestones"] == len(c.p1.milestones) + len(c.p2.milestones)
    assert "income_yuan" not in totals


def test_enterprise_ledger_counts_a_shared_project_in_each_row_and_once_in_the_totals() -> None:
    c = County()
    t = build("enterprise-ledger", c.facts())
    rows = row_by(t, "enterprise")
    assert list(rows) == sorted(e.name for e in (c.e1, c.e2, c.e3, c.e4, c.e5))
    p1_done = c.i1.amount_yuan + c.i2.amount_yuan + c.i3.amount_yuan

    e1 = rows[c.e1.name]
    assert (e1["credit_code"], e1["kind"], e1["leading_level"]) == (c.e1.credit_code, "民营企业", "")
    assert (e1["villages"], e1["agreements"], e1["agreements_active"]) == (2, 2, 2)
    assert e1["investment_committed"] == c.a1.investment_yuan + c.a2.investment_yuan
    assert e1["projects"] == 2
    assert e1["investment_done"] == p1_done + c.i4.amount_yuan
    assert e1["jobs"] == c.a1.jobs + c.a2.jobs

    e2 = rows[c.e2.name]
    assert (e2["kind"], e2["leading_level"]) == ("农业龙头企业", "省级")
    assert (e2["villages"], e2["agreements"], e2["agreements_active"], e2["investment_committed"]) == (
        0,
        1,
        0,
        0,
    )
    e3 = rows[c.e3.name]
    assert (e3["projects"], e3["investment_done"]) == (1, p1_done)
    assert rows[c.e5.name]["agreements"] == 0

    totals = t.totals
    assert totals is not None
    assert totals["villages"] == len({a.village_code for a in c.active})
    assert totals["projects"] == 2
    assert totals["investment_done"] == yuan(i.amount_yuan for i in c.done)
    assert sum(r["investment_done"] for r in t.rows) == totals["investment_done"] + p1_done
    assert totals["investment_committed"] == yuan(a.investment_yuan for a in c.active)
    assert totals["jobs"] == sum(a.jobs for a in c.active)


def test_pairing_list_shows_relay_statuses_and_links() -> None:
    c = County()
    t = build("pairing-list", c.facts())
    assert [r["document_ref"] for r in t.rows] == [
        a.document_ref for a in sorted(c.agreements, key=lambda a: (a.village_code, a.signed_on))
    ]
    rows = row_by(t, "document_ref")
    relayed, relay, waiting = rows[c.a3.document_ref], rows[c.a4.document_ref], rows[c.a5.document_ref]
    assert (relayed["status"], relayed["terminated_on"]) == ("已接力", c.a3.terminated_on)
    assert relayed["relayed_by"] == f"{c.e3.name}（{c.a4.document_ref}）" and relayed["relays"] == ""
    assert relay["status"] == "在帮" and relay["relays"] == f"{c.e2.name}（{c.a3.document_ref}）"
    assert (waiting["status"], waiting["relayed_by"], waiting["mode"]) == (
        "待接力",
        "",
        MODES[Mode.agri_tourism],
    )
    a1 = rows[c.a1.document_ref]
    assert (a1["township_code"], a1["village"], a1["enterprise"], a1["credit_code"]) == (
        T1,
        "东村",
        c.e1.name,
        c.e1.credit_code,
    )
    assert (a1["signed_on"], a1["term_years"], a1["pathways"]) == (c.a1.signed_on, 3, "产业、就业")
    assert (a1["investment_committed"], a1["jobs"], a1["trainees"]) == (
        c.a1.investment_yuan,
        c.a1.jobs,
        c.a1.trainees,
    )
    # Totals: the agreements in force, so a relayed agreement and its relay are not both counted.
    assert t.totals is not None
    assert t.totals["investment_committed"] == yuan(a.investment_yuan for a in c.active)
    assert t.totals["jobs"] == sum(a.jobs for a in c.active)


def test_progress_attributes_investment_to_its_reporting_period() -> None:
    c = County()
    facts = c.facts()
    h1 = row_by(build("progress", facts, H1_2026), "project")
    h2 = row_by(build("progress", facts, H2_2025), "project")

    # i2 is dated in 2025H2 but was recorded after 2025H2 was closed: it shows in 2026H1.
    assert h2["大棚"]["investment_in_period"] == c.i1.amount_yuan
    assert h1["大棚"]["investment_in_period"] == c.i2.amount_yuan + c.i3.amount_yuan
    # i4 was recorded late too, but before the closing: it stays in its own period.
    assert h2["冷库"]["investment_in_period"] == c.i4.amount_yuan
    assert h1["冷库"]["investment_in_period"] == 0  # i5 is dated after today

    greenhouse = h1["大棚"]
    done = c.i1.amount_yuan + c.i2.amount_yuan + c.i3.amount_yuan
    assert greenhouse["investment_done"] == done == h2["大棚"]["investment_done"]
    assert greenhouse["percent_done"] == (done * 100 / c.p1.budget_yuan).quantize(Decimal("0.1"))
    assert greenhouse["enterprises"] == f"{c.e1.name}、{c.e3.name}"
    assert (greenhouse["milestones_reached"], greenhouse["milestones"], greenhouse["milestones_overdue"]) == (
        1,
        3,
        1,
    )
    assert (greenhouse["status"], greenhouse["completed_on"], greenhouse["assets_value"]) == (
        "在建",
        None,
        None,
    )
    assert (greenhouse["village_code"], greenhouse["village"], greenhouse["budget"]) == (
        V1,
        "东村",
        c.p1.budget_yuan,
    )
    store = h1["冷库"]
    assert (store["status"], store["completed_on"], store["assets_value"]) == (
        "已完工",
        c.p2.completed_on,
        Decimal("290000.00"),
    )
    assert store["milestones_overdue"] == 0

    totals = build("progress", facts, H1_2026).totals
    assert totals is not None
    assert totals["budget"] == c.p1.budget_yuan + c.p2.budget_yuan
    assert totals["investment_done"] == yuan(i.amount_yuan for i in c.done)
    assert totals["investment_in_period"] == c.i2.amount_yuan + c.i3.amount_yuan
    assert totals["assets_value"] == c.p2.assets_value_yuan
    assert totals["percent_done"] == (totals["investment_done"] * 100 / totals["budget"]).quantize(
        Decimal("0.1")
    )


def test_statistics_by_township_with_distinct_totals() -> None:
    c = County()
    t = build("statistics", c.facts(), H1_2026)
    rows = row_by(t, "township_code")
    assert list(rows) == [T1, T2]
    t1_active = [a for a in c.active if a.village_code.startswith(T1)]
    t1 = rows[T1]
    assert (t1["enterprises"], t1["villages"], t1["agreements_active"]) == (2, 1, len(t1_active))
    assert t1["agreements_signed_in_period"] == 1  # a4, signed 2026-03-02
    assert (t1["projects"], t1["projects_completed"]) == (1, 0)
    assert t1["investment_committed"] == yuan(a.investment_yuan for a in t1_active)
    assert t1["investment_done"] == c.i1.amount_yuan + c.i2.amount_yuan + c.i3.amount_yuan
    assert t1["investment_in_period"] == c.i2.amount_yuan + c.i3.amount_yuan
    assert (t1["jobs"], t1["trainees"]) == (
        sum(a.jobs for a in t1_active),
        sum(a.trainees for a in t1_active),
    )
    assert t1["purchases"] == yuan(a.purchases_yuan for a in t1_active)
    assert t1["donations"] == yuan(a.donations_yuan for a in t1_active)
    t2 = rows[T2]
    assert (
        t2["enterprises"],
        t2["villages"],
        t2["agreements_active"],
        t2["agreements_signed_in_period"],
    ) == (
        1,
        1,
        1,
        1,
    )
    assert (t2["projects_completed"], t2["investment_in_period"]) == (1, 0)

    totals = t.totals
    assert totals is not None and totals["township_code"] == TOTAL_LABEL
    # E1 takes part in both townships: the region counts it once.
    assert totals["enterprises"] == len({a.enterprise_id for a in c.active}) == 2
    assert t1["enterprises"] + t2["enterprises"] == 3
    assert totals["villages"] == len({a.village_code for a in c.active})
    assert totals["agreements_active"] == len(c.active)
    assert totals["investment_committed"] == yuan(a.investment_yuan for a in c.active)
    assert totals["investment_done"] == yuan(i.amount_yuan for i in c.done)
    assert totals["projects"] == 2


def test_statistics_attributes_signings_and_investment_to_their_periods() -> None:
    c = County()
    # An agreement dated in 2025H2 but recorded after the closing counts in 2026H1.
    late = agreement(V2, c.e5, signed_on=date(2025, 12, 28), signed_at=CLOSED_2025H2.replace(day=6))
    facts = replace(c.facts(), agreements=(*c.agreements, late))
    h2 = build("statistics", facts, H2_2025).totals
    h1 = build("statistics", facts, H1_2026).totals
    assert h2 is not None and h1 is not None
    signed_h2 = [a for a in c.agreements if HalfYear.of(a.signed_on) == H2_2025]
    signed_h1 = [a for a in c.agreements if HalfYear.of(a.signed_on) == H1_2026]
    assert h2["agreements_signed_in_period"] == len(signed_h2)
    assert h1["agreements_signed_in_period"] == len(signed_h1) + 1
    assert h2["investment_in_period"] == c.i1.amount_yuan + c.i4.amount_yuan
    assert h1["investment_in_period"] == c.i2.amount_yuan + c.i3.amount_yuan
    assert h1["investment_done"] == h2["investment_done"]
    assert h1["enterprises"] == len({a.enterprise_id for a in (*c.active, late)})


def test_statistics_by_pathway_counts_an_agreement_in_each_of_its_pathways() -> None:
    c = County()
    t = build("statistics-by-pathway", c.facts())
    assert [r["label"] for r in t.rows] == [PATHWAYS[p] for p in Pathway]
    rows = row_by(t, "label")
    for p in Pathway:
        with_it = [a for a in c.active if p in a.pathways]
        row = rows[PATHWAYS[p]]
        assert row["agreements_active"] == len(with_it), p
        assert row["villages"] == len({a.village_code for a in with_it}), p
        assert row["enterprises"] == len({a.enterprise_id for a in with_it}), p
        assert row["investment_committed"] == yuan(a.investment_yuan for a in with_it), p
        assert row["jobs"] == sum(a.jobs for a in with_it), p
    assert rows["产业"]["agreements_active"] == 3 and rows["金融"]["agreements_active"] == 0
    totals = t.totals
    assert totals is not None and totals["label"] == TOTAL_LABEL
    assert totals["agreements_active"] == len(c.active)
    assert sum(r["agreements_active"] for r in t.rows) > totals["agreements_active"]
    assert totals["investment_committed"] == yuan(a.investment_yuan for a in c.active)
    assert totals["enterprises"] == len({a.enterprise_id for a in c.active})


def test_statistics_by_mode_gives_every_mode_and_distinct_totals() -> None:
    c = County()
    t = build("statistics-by-mode", c.facts())
    assert [r["label"] for r in t.rows] == [MODES[m] for m in Mode]
    rows = row_by(t, "label")
    for m in Mode:
        with_it = [a for a in c.active if a.mode == m]
        row = rows[MODES[m]]
        assert (row["agreements_active"], row["jobs"]) == (len(with_it), sum(a.jobs for a in with_it)), m
        assert row["investment_committed"] == yuan(a.investment_yuan for a in with_it), m
        assert row["enterprises"] == len({a.enterprise_id for a in with_it}), m
    assert rows[MODES[Mode.agri_tourism]]["agreements_active"] == 0  # a5 is terminated
    totals = t.totals
    assert totals is not None
    assert totals["agreements_active"] == sum(r["agreements_active"] for r in t.rows) == len(c.active)
    # E1 has agreements of two modes: one enterprise in the region.
    assert totals["enterprises"] == len({a.enterprise_id for a in c.active})
    assert sum(r["enterprises"] for r in t.rows) == totals["enterprises"] + 1


def test_an_empty_region_gives_empty_rows_and_zero_totals() -> None:
    facts = Facts(region="990000", as_of=at(TODAY), today=TODAY)
    for name in PAIRING_TABLES:
        t = build(name, facts)
        assert t.totals is not None, name
        numbers = {c.key: t.totals.get(c.key) for c in t.columns if c.kind in ("integer", "yuan")}
        if name.startswith("statistics-by-"):
            assert all(all(r[k] == 0 for k in numbers) for r in t.rows), name
            expected = len(Pathway) if name.endswith("pathway") else len(Mode)
            assert len(t.rows) == expected
        else:
            assert t.rows == (), name
        assert all(v in (0, None) for v in numbers.values()), (name, numbers)
        assert any(v == 0 for v in numbers.values()), name
    assert build("progress", facts).totals["percent_done"] is None  # type: ignore[index]
