"""A tiny filed table for reporting tests: each village's investment counted in the period (the
way the progress and statistics tables count it), registered for one test and removed after."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from decimal import Decimal

from services.reporting.facts.model import Facts
from services.reporting.periods import reporting_period
from services.reporting.tables.registry import TABLES, Options, table
from services.reporting.tables.table import Column, Kind, Table, totals_row

COLUMNS = (Column("village", "村"), Column("invested_yuan", "到位资金（元）", Kind.yuan, summed=True))


@contextlib.contextmanager
def invested_in_period_table(name: str) -> Iterator[str]:
    @table(name, "测试到位资金表", filed=True)
    def build(facts: Facts, options: Options) -> Table:
        sums: dict[str, Decimal] = {}
        for i in facts.investments:
            if (
                reporting_period(i.village_code, i.invested_on, i.recorded_at, facts.closings)
                == options.period
            ):
                sums[i.village_code] = sums.get(i.village_code, Decimal(0)) + i.amount_yuan
        rows = [{"village": v, "invested_yuan": s} for v, s in sorted(sums.items())]
        return Table(name, "测试到位资金表", COLUMNS, tuple(rows), totals_row(COLUMNS, rows))

    try:
        yield name
    finally:
        TABLES.pop(name, None)
