"""Rows of a survey batch as quarterly surveys of households, each checked on its own and across
the batch; every problem is reported against its Chinese column, ID numbers masked. Pure: the
caller passes the deployment's counties, the caller's region and today."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from services.monitoring.platform.cells import CellProblem, read_cell, shown
from services.monitoring.platform.layout import (
    ACCIDENT,
    DISASTER,
    HEAD_ID,
    HEAD_NAME,
    IMPORT_COLUMNS,
    INCOME,
    MEDICAL,
    MEMBERS,
    PERIOD,
    PHONE,
    SCHOOLING,
    STATUS,
    SURVEYED_ON,
    VILLAGE,
    Column,
    Kind,
)
from services.monitoring.platform.reader import SURVEY, Cell, Sheet
from services.monitoring.platform.report import RowError, masked
from shared.events.catalogue.monitoring import HouseholdStatus, QuarterlySurvey, RigidExpenses
from shared.regions import village_code_problem
from shared.tabular.columns import columns_at

_ZERO = Decimal("0.00")
_MAX_AGE = 130
_EXPENSES = (MEDICAL, SCHOOLING, DISASTER, ACCIDENT)


@dataclass(slots=True)
class SurveyRow:
    """A row that passed every check of its own: one household's quarterly survey.

    Plain values only: a batch keeps 100,000 of these alive, and the garbage collector walks
    every container object of them again and again (the survey's models are made per chunk).
    """

    number: int
    village_code: str
    head_name: str
    id_number: str
    digest: bytes  # the ID index's digest of id_number
    status: HouseholdStatus
    period: str
    surveyed_on: date
    members: int
    income: Decimal
    expenses: tuple[Decimal, Decimal, Decimal, Decimal]  # medical, schooling, disaster, accident
    phone: str | None

    def survey(self) -> QuarterlySurvey:
        medical, schooling, disaster, accident = self.expenses
        return QuarterlySurvey(
            members=self.members,
            per_capita_net_income_yuan=self.income,
            expenses=RigidExpenses(
                medical=medical, schooling=schooling, disaster=disaster, accident=accident
            ),
        )

    @property
    def head_age(self) -> int:
        """The head's age on the survey date, from the birth date in the ID number."""
        born = (int(self.id_number[6:10]), int(self.id_number[10:12]), int(self.id_number[12:14]))
        on = self.surveyed_on
        return on.year - born[0] - ((on.month, on.day) < born[1:])


@dataclass(frozen=True)
class Scope:
    """Where the caller may import, and when: the deployment's counties, the caller's region, today."""

    counties: frozenset[str]
    covers: Callable[[str], bool]
    today: date
    _villages: dict[str, tuple[str, str] | None] = field(default_factory=dict, compare=False, repr=False)

    def village_refusal(self, village: str) -> tuple[str, str] | None:
        """Why a row cannot name ``village`` (reason, rule), or None; worked out once per village."""
        if village not in self._villages:
            problem = village_code_problem(village, self.counties)
            if problem:
                self._villages[village] = (problem, "village_code_of_this_deployment")
            elif not self.covers(village):
                self._villages[village] = ("this village lies outside your region", "within_caller_region")
            else:
                self._villages[village] = None
        return self._villages[village]


@dataclass(frozen=True)
class RowsRead:
    valid: list[SurveyRow]  # rows with no problem of their own or across rows
    errors: list[RowError]
    count: int  # rows read


def columns_of(headers: tuple[str, ...]) -> list[tuple[int, Column]]:
    """The columns the import reads, by position; a header that does not fit refuses the file."""
    found = columns_at(SURVEY, headers, IMPORT_COLUMNS)
    return [(p, c) for p, c in found.items() if c.kind is not Kind.ignored]


def read_rows(sheet: Sheet, scope: Scope, digest: Callable[[str], bytes]) -> RowsRead:
    """Every row checked on its own, then across rows; rows with any problem are left out."""
    columns = columns_of(sheet.headers)
    valid: list[SurveyRow] = []
    errors: list[RowError] = []
    for number, cells in sheet.rows:
        row, row_errors = read_row(number, cells, columns, scope, digest)
        if row is not None:
            valid.append(row)
        else:
            errors += row_errors
    kept, duplicates = once_in_batch(valid)
    return RowsRead(kept, errors + duplicates, len(sheet.rows))


def _error(number: int, column: Column, cell: Cell, reason: str, rule: str) -> RowError:
    value = shown(cell)
    return RowError(
        number, column.header, masked(value) if column is HEAD_ID else value, reason, rule, column.field
    )


def read_row(
    number: int,
    cells: tuple[Cell, ...],
    columns: list[tuple[int, Column]],
    scope: Scope,
    digest: Callable[[str], bytes],
) -> tuple[SurveyRow | None, list[RowError]]:
    values: dict[Column, Any] = {}
    errors: list[RowError] = []
    width = len(cells)
    for position, column in columns:
        cell = cells[position] if position < width else None
        try:
            value = read_cell(column, cell)
        except CellProblem as problem:
            errors.append(_error(number, column, cell, problem.reason, problem.rule))
            continue
        if value is not None:
            values[column] = value
        elif column.required:
            errors.append(
                _error(number, column, cell, "required: this column cannot be empty", "required_value")
            )

    def refuse(column: Column, reason: str, rule: str) -> None:
        position = next(p for p, c in columns if c is column)
        errors.append(_error(number, column, cells[position] if position < width else None, reason, rule))

    village = values.get(VILLAGE)
    if village is not None:
        refusal = scope.village_refusal(village)
        if refusal:
            refuse(VILLAGE, *refusal)
    surveyed_on, period = values.get(SURVEYED_ON), values.get(PERIOD)
    if surveyed_on is not None:
        if surveyed_on > scope.today:
            refuse(SURVEYED_ON, f"{surveyed_on} is after today ({scope.today})", "date_not_in_future")
        elif period is not None and surveyed_on < _quarter_start(period):
            refuse(
                SURVEYED_ON,
                f"a survey of {period} is made on or after {_quarter_start(period)}",
                "survey_date_in_period",
            )
    if errors:
        return None, errors
    row = SurveyRow(
        number=number,
        village_code=village,
        head_name=values[HEAD_NAME],
        id_number=values[HEAD_ID],
        digest=digest(values[HEAD_ID]),
        status=values[STATUS],
        period=period,
        surveyed_on=surveyed_on,
        members=values[MEMBERS],
        income=values[INCOME],
        expenses=tuple(values.get(c) or _ZERO for c in _EXPENSES),  # type: ignore[arg-type]
        phone=values.get(PHONE),
    )
    age = row.head_age
    if not 0 <= age <= _MAX_AGE:
        refuse(
            HEAD_ID,
            f"the birth date in the ID number gives an age of {age} on the survey date",
            "value_valid",
        )
        return None, errors
    return row, []


def _quarter_start(period: str) -> date:
    return date(int(period[:4]), 3 * int(period[5]) - 2, 1)


def once_in_batch(rows: list[SurveyRow]) -> tuple[list[SurveyRow], list[RowError]]:
    """A head's ID number with the same quarter on several rows: none of them is imported, since
    which one is right is the platform's to say (and the batch resent with one of them imports it)."""
    rows_of: dict[tuple[bytes, str], list[SurveyRow]] = defaultdict(list)
    for row in rows:
        rows_of[(row.digest, row.period)].append(row)
    kept: list[SurveyRow] = []
    errors: list[RowError] = []
    for row in rows:
        same = rows_of[(row.digest, row.period)]
        if len(same) == 1:
            kept.append(row)
            continue
        numbers = "、".join(str(r.number) for r in same)
        reason = (
            f"the same head's ID number and 季度 {row.period} are on rows {numbers}: none of them is imported"
        )
        errors.append(
            RowError(
                row.number, HEAD_ID.header, masked(row.id_number), reason, "once_in_batch", HEAD_ID.field
            )
        )
    return kept, errors
