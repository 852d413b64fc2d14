"""双绑 coverage by village and township, from facts built by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from services.reporting.facts.model import Binding, Cooperative, Facts, Household, Village
from services.reporting.periods import HalfYear
from services.reporting.tables.coverage import coverage, coverage_townships, eligible
from services.reporting.tables.registry import TABLES, Options
from services.reporting.tables.table import percent

TODAY = date(2026, 6, 10)
TOWNSHIP_A, TOWNSHIP_B = "150602001", "150602002"
V1, V2, V3 = TOWNSHIP_A + "001", TOWNSHIP_A + "002", TOWNSHIP_B + "001"


def household(
    village: str,
    status: str = "former_poor",
    labourers: int = 1,
    stage: str | None = None,
    erased: bool = False,
) -> Household:
    return Household(uuid.uuid4(), village, status, 3, labourers, stage, None, (), 0, erased)


def binds(
    household: Household, cooperative: Cooperative, started: date, ended: date | None = None
) -> Binding:
    return Binding(
        uuid.uuid4(),
        "cooperative_household",
        cooperative.cooperative_id,
        cooperative.village_code,
        household.household_id,
        household.village_code,
        None,
        "order",
        started,
        None,
        ended,
    )


def enterprise_binds(cooperative: Cooperative, started: date, ended: date | None = None) -> Binding:
    return Binding(
        uuid.uuid4(),
        "enterprise_cooperative",
        cooperative.cooperative_id,
        cooperative.village_code,
        None,
        None,
        uuid.uuid4(),
        "order",
        started,
        None,
        ended,
    )


def cooperative(village: str) -> Cooperative:
    return Cooperative(uuid.uuid4(), "合作社", village, "柑桔")


def options() -> Options:
    return Options(period=HalfYear.of(TODAY))


class County:
    """A small county: which households are eligible and bound is said where each is made."""

    def __init__(self) -> None:
        c1, c2, c3 = cooperative(V1), cooperative(V1), cooperative(V3)
        before, later = TODAY - timedelta(days=30), TODAY + timedelta(days=5)
        self.bound_eligible = [
            household(V1),  # former poor with labour
            household(V1, erased=True),  # erasure keeps it in the statistics
            household(V3, "ordinary", stage="elimination_proposed"),  # still monitored, bound twice
        ]
        self.unbound_eligible = [
            household(V1, "ordinary", labourers=2, stage="monitored"),
            household(V1),  # its binding ended before today
            household(V1, "low_income", stage="monitored"),  # binding starts after today
        ]
        self.bound_other = [household(V1, labourers=0)]  # no labourer: not eligible
        self.other = [
            household(V1, "ordinary", labourers=2),  # never monitored
            household(V3, "ordinary", stage="eliminated"),  # risk eliminated: no longer monitored
            household(V3, "ordinary", stage="flagged"),  # flagged, not yet enrolled
        ]
        bindings = [
            binds(self.bound_eligible[0], c1, before),
            binds(self.bound_eligible[1], c1, before),
            binds(self.bound_eligible[2], c3, before),
            binds(self.bound_eligible[2], c1, before),
            binds(self.unbound_eligible[1], c1, before, ended=TODAY - timedelta(days=1)),
            binds(self.unbound_eligible[2], c1, later),
            binds(self.bound_other[0], c2, before),
            enterprise_binds(c1, before),
            enterprise_binds(c2, before, ended=TODAY),
        ]
        self.facts = Facts(
            region="150602",
            as_of=datetime(2026, 6, 10, 4, tzinfo=UTC),
            today=TODAY,
            villages=(Village(V1, "一村", "ordinary", True), Village(V2, "二村", "ordinary", False)),
            cooperatives=(c1, c2, c3),
            bindings=tuple(bindings),
            households=(*self.bound_eligible, *self.unbound_eligible, *self.bound_other, *self.other),
        )

    def in_village(self, group: list[Household], village: str) -> int:
        return sum(1 for h in group if h.village_code == village)


def test_eligible_is_former_poor_or_monitored_with_labour() -> None:
    county = County()
    assert all(eligible(h) for h in county.bound_eligible + county.unbound_eligible)
    assert not any(eligible(h) for h in county.bound_other + county.other)


def test_village_rows_count_eligible_and_bound_households_and_cooperatives() -> None:
    county = County()
    result = coverage(county.facts, options())
    rows = {r["village_code"]: r for r in result.rows}
    assert list(rows) == [V1, V2, V3]  # V3 has households but is not registered in the ledger
    for village in (V1, V2, V3):
        bound = county.in_village(county.bound_eligible, village)
        unbound = county.in_village(county.unbound_eligible, village)
        row = rows[village]
        assert row["eligible"] == bound + unbound
        assert row["bound"] == bound
        assert row["unbound"] == unbound
        assert row["rate"] == percent(bound, bound + unbound)
        assert row["bound_all"] == bound + county.in_village(county.bound_other, village)
    assert rows[V2]["rate"] is None and rows[V2]["gap"] is None  # no eligible household
    assert rows[V1]["gap"] == Decimal(100) - rows[V1]["rate"]
    assert rows[V3]["gap"] == Decimal(0)
    assert (rows[V1]["cooperatives"], rows[V1]["cooperatives_bound"]) == (2, 1)  # c2's enterprise left today
    assert (rows[V3]["cooperatives"], rows[V3]["cooperatives_bound"]) == (1, 0)
    assert rows[V1]["village"] == "一村" and rows[V3]["village"] == ""


def test_totals_are_the_region_with_its_own_rate() -> None:
    county = County()
    result = coverage(county.facts, options())
    bound, unbound = len(county.bound_eligible), len(county.unbound_eligible)
    assert result.totals is not None
    assert result.totals["eligible"] == bound + unbound
    assert result.totals["bound"] == bound
    assert result.totals["rate"] == percent(bound, bound + unbound)
    assert result.totals["target"] == Decimal(100)
    assert result.totals["cooperatives"] == 3


def test_township_rows_add_up_their_villages() -> None:
    county = County()
    villages = {r["village_code"]: r for r in coverage(county.facts, options()).rows}
    result = coverage_townships(county.facts, options())
    rows = {r["township_code"]: r for r in result.rows}
    assert list(rows) == [TOWNSHIP_A, TOWNSHIP_B]
    assert rows[TOWNSHIP_A]["villages"] == 2 and rows[TOWNSHIP_B]["villages"] == 1
    for township, members in ((TOWNSHIP_A, (V1, V2)), (TOWNSHIP_B, (V3,))):
        for key in ("eligible", "bound", "unbound", "bound_all", "cooperatives", "cooperatives_bound"):
            assert rows[township][key] == sum(villages[v][key] for v in members)
        assert rows[township]["rate"] == percent(rows[township]["bound"], rows[township]["eligible"])
    assert result.totals is not None and result.totals["villages"] == 3


def test_coverage_tables_are_registered_as_filed() -> None:
    assert TABLES["coverage"].filed and TABLES["coverage-townships"].filed
    assert TABLES["coverage"].build(County().facts, options()).as_json()["notes"]
