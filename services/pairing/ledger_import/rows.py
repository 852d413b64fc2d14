"""Rows as the pairing commands, validated by the command models themselves; every problem of
every row is reported against its Chinese column, including those that span rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from services.pairing.commands import RegisterEnterprise, RegisterVillage, SignAgreement
from services.pairing.domain import enterprise_id_for
from services.pairing.ledger_import.cells import CellProblem, blank, is_example, read_cell, shown
from services.pairing.ledger_import.layout import (
    BY_HEADER,
    COLUMNS,
    Column,
    Kind,
    Target,
    column_for,
    normalise_header,
)
from services.pairing.ledger_import.reader import LEDGER, Row, Sheet
from services.pairing.ledger_import.report import RowError
from shared.regions import village_code_problem
from shared.tabular.columns import columns_at

_AGREEMENT_NAMESPACE = uuid.UUID("3d0c8f6a-9b1e-5a2d-8c4f-7e6a5b4c3d2e")
_VILLAGE_CODE = column_for(Target.village, ("village_code",))
_CREDIT_CODE = column_for(Target.enterprise, ("credit_code",))
_DOCUMENT_REF = column_for(Target.agreement, ("document_ref",))
_SERIAL = BY_HEADER[normalise_header("序号")]
M = TypeVar("M", bound=BaseModel)


def agreement_id_for(credit_code: str, village_code: str, document_ref: str) -> uuid.UUID:
    """The same ledger line always names the same agreement, so a re-upload finds it stored."""
    return uuid.uuid5(_AGREEMENT_NAMESPACE, f"{credit_code}|{village_code}|{document_ref}")


@dataclass(frozen=True)
class LedgerRow:
    """A row that passed every check of its own: the three commands it stands for."""

    number: int
    enterprise: RegisterEnterprise
    village: RegisterVillage
    agreement: SignAgreement
    agreement_id: uuid.UUID
    shown: dict[str, str]  # header -> the cell as written, for reports

    @property
    def credit_code(self) -> str:
        return self.enterprise.credit_code


def columns_of(headers: tuple[str, ...]) -> dict[int, Column]:
    """The column at each position; unknown, repeated or missing headers refuse the whole file."""
    return columns_at(LEDGER, headers, COLUMNS)


@dataclass(frozen=True)
class Scope:
    """Where the caller may import: the deployment's counties and the caller's region."""

    counties: frozenset[str]
    covers: Callable[[str], bool]


@dataclass(frozen=True)
class RowsRead:
    valid: list[LedgerRow]  # rows with no problem of their own or across rows
    errors: list[RowError]
    count: int  # rows read, the template's example row left out


def read_rows(sheet: Sheet, scope: Scope) -> RowsRead:
    """Every row checked on its own, then across rows; rows with any problem are left out."""
    columns = columns_of(sheet.headers)
    serial = next((p for p, c in columns.items() if c is _SERIAL), None)
    valid: list[LedgerRow] = []
    errors: list[RowError] = []
    count = 0
    for row in sheet.rows:
        if serial is not None and serial < len(row.cells) and is_example(row.cells[serial]):
            continue
        count += 1
        ledger_row, row_errors = _read_row(row, columns, scope)
        errors += row_errors
        if ledger_row is not None:
            valid.append(ledger_row)
    kept, across = _check_across(valid)
    return RowsRead(kept, errors + across, count)


def _read_row(row: Row, columns: dict[int, Column], scope: Scope) -> tuple[LedgerRow | None, list[RowError]]:
    cells = {column: (row.cells[p] if p < len(row.cells) else None) for p, column in columns.items()}
    shown_cells = {column.header: shown(cell) for column, cell in cells.items()}
    values: dict[Target, dict[str, Any]] = {Target.enterprise: {}, Target.village: {}, Target.agreement: {}}
    errors: list[RowError] = []

    def refuse(column: Column, reason: str, rule: str) -> None:
        errors.append(
            RowError(
                row.number, column.header, shown_cells.get(column.header), reason, rule, column.field_name
            )
        )

    for column, cell in cells.items():
        if column.kind is Kind.ignored:
            continue
        if column.required and blank(cell):
            refuse(column, "required: this column cannot be empty", "required_value")
            continue
        try:
            value = read_cell(column, cell)
        except CellProblem as problem:
            refuse(column, problem.reason, problem.rule)
            continue
        if value is not None:
            _put(values[column.target], column.field, value)

    refused = {e.column for e in errors}
    enterprise = _validated(RegisterEnterprise, Target.enterprise, values[Target.enterprise], refused, refuse)
    village = _validated(RegisterVillage, Target.village, values[Target.village], refused, refuse)
    agreement_values = {
        **values[Target.agreement],
        "enterprise_id": enterprise_id_for(values[Target.enterprise].get("credit_code", "")),
        "village_code": values[Target.village].get("village_code", ""),
    }
    # The village code is checked by the village's command already.
    refused |= {_VILLAGE_CODE.header}
    agreement = _validated(SignAgreement, Target.agreement, agreement_values, refused, refuse)
    if errors or enterprise is None or village is None or agreement is None:
        return None, errors

    problem = village_code_problem(village.village_code, scope.counties)
    if problem:
        refuse(_VILLAGE_CODE, problem, "village_code_of_this_deployment")
    elif not scope.covers(village.village_code):
        refuse(_VILLAGE_CODE, "this village lies outside your region", "within_caller_region")
    if errors:
        return None, errors
    agreement_id = agreement_id_for(enterprise.credit_code, village.village_code, agreement.document_ref)
    return LedgerRow(row.number, enterprise, village, agreement, agreement_id, shown_cells), []


def _put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _validated(
    model: type[M],
    target: Target,
    values: dict[str, Any],
    refused: set[str | None],
    refuse: Callable[[Column, str, str], None],
) -> M | None:
    """The command, or None after reporting what its model refused (once per column)."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            column = _column(target, tuple(str(part) for part in error["loc"]))
            if column.header in refused:
                continue  # already reported: empty or unreadable
            refused.add(column.header)
            reason = error["msg"].removeprefix("Value error, ")
            refuse(column, reason, "required_value" if error["type"] == "missing" else "value_valid")
        return None


def _column(target: Target, loc: tuple[str, ...]) -> Column:
    """The agreement's village code and enterprise id come from the village's and enterprise's columns."""
    shared = {("village_code",): _VILLAGE_CODE, ("enterprise_id",): _CREDIT_CODE}
    return shared.get(loc[:1]) or column_for(target, loc)


def _check_across(rows: list[LedgerRow]) -> tuple[list[LedgerRow], list[RowError]]:
    """The first row naming an enterprise, a village or an agreement sets it; later rows must agree."""
    enterprises: dict[str, LedgerRow] = {}
    villages: dict[str, LedgerRow] = {}
    agreements: dict[uuid.UUID, LedgerRow] = {}
    kept: list[LedgerRow] = []
    errors: list[RowError] = []
    for row in rows:
        row_errors = _differences(
            row, enterprises.setdefault(row.credit_code, row), Target.enterprise, "enterprise_consistent"
        )
        row_errors += _differences(
            row, villages.setdefault(row.village.village_code, row), Target.village, "village_consistent"
        )
        first = agreements.setdefault(row.agreement_id, row)
        if first is not row:
            row_errors.append(
                RowError(
                    row.number,
                    _DOCUMENT_REF.header,
                    row.agreement.document_ref,
                    f"the same agreement (credit code, village code and document number) is on row "
                    f"{first.number}",
                    "agreement_once_in_file",
                    _DOCUMENT_REF.field_name,
                )
            )
        errors += row_errors
        if not row_errors:
            kept.append(row)
    return kept, errors


def _differences(row: LedgerRow, first: LedgerRow, target: Target, rule: str) -> list[RowError]:
    if first is row:
        return []
    mine, theirs = _command(row, target), _command(first, target)
    key = column_for(target, ("credit_code",) if target is Target.enterprise else ("village_code",))
    errors = []
    for column in COLUMNS:
        name = column.field[0] if column.target is target else None
        if name is not None and getattr(mine, name) != getattr(theirs, name):
            value = row.shown.get(column.header, "")
            reason = (
                f"{key.header} {row.shown[key.header]} has {column.header} "
                f"'{first.shown.get(column.header, '')}' on row {first.number}"
            )
            errors.append(RowError(row.number, column.header, value, reason, rule, column.field_name))
    return errors


def _command(row: LedgerRow, target: Target) -> BaseModel:
    return row.enterprise if target is Target.enterprise else row.village
