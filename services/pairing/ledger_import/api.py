"""HTTP API of the ledger import (台账导入): upload a pairing ledger, download its template."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from services.pairing.ledger_import.handler import LedgerImport
from services.pairing.ledger_import.layout import COLUMNS
from services.pairing.ledger_import.plan import Counts, Plan
from services.pairing.ledger_import.reader import LEDGER, XLSX_TYPE, FileProblem, Format, detect, read
from services.pairing.ledger_import.report import RowError, in_order
from services.pairing.ledger_import.rows import RowsRead, Scope, read_rows
from services.pairing.ledger_import.template import template
from services.pairing.ledger_import.upload import PROBLEMS, received_file
from shared.auth import Principal, Role, allow
from shared.http.problems import Problem
from shared.service import command_context, runtime_of
from shared.tabular.upload import multipart_body

router = APIRouter(tags=["ledger import"])
Importer = Annotated[Principal, Depends(allow(Role.federation_officer, Role.county_officer, Role.platform))]

_HEADERS = [column.header for column in COLUMNS]


class Tally(BaseModel):
    enterprises: int
    villages: int
    agreements: int

    @classmethod
    def of(cls, counts: Counts) -> Tally:
        return cls(enterprises=counts.enterprises, villages=counts.villages, agreements=counts.agreements)


class StoredDifference(BaseModel):
    row: int
    column: str
    value: str = Field(description="As the file gives it")
    stored: str = Field(description="As already stored, and kept")
    reason: str


class Imported(BaseModel):
    dry_run: bool
    rows: int = Field(description="Rows read (the template's example row is not counted)")
    created: Tally = Field(description="Registered or signed by this file (to be, in a dry run)")
    existing: Tally = Field(
        description="Already stored: enterprises and villages named, and rows whose agreement is stored"
    )
    rows_already_imported: int = Field(description="Rows whose agreement was already stored: skipped")
    events_written: int = Field(description="0 in a dry run")
    warnings: list[StoredDifference] = Field(
        description="Values that differ from what is stored; not changed"
    )


_MULTIPART_BODY = multipart_body(LEDGER, " (docs/ledger-import.md)")
_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not a readable multipart upload (problem details)"},
    403: {"description": "Role not allowed (problem details)"},
    409: {"description": "Another request changed a village or enterprise meanwhile; nothing written"},
    413: {"description": "The file is larger than 20 MB (problem details)"},
    415: {"description": "Neither .csv nor .xlsx (problem details)"},
    422: {"description": "The header row, or rows, rejected: errors[{row, column, value, reason, rule}]"},
}


@router.post("/imports/ledger", response_model=Imported, openapi_extra=_MULTIPART_BODY, responses=_RESPONSES)
async def import_ledger(
    request: Request,
    principal: Importer,
    dry_run: Annotated[bool, Query(description="Validate and plan, write nothing")] = False,
) -> Imported:
    """Import a pairing ledger (千企帮千村台账): one row per agreement, its enterprise's and
    village's columns repeated (docs/ledger-import.md).

    All or nothing: any rejected row answers 422 with every rejected row and why, and writes
    nothing; otherwise the new enterprises, villages and agreements are written in one
    transaction. Agreements already stored are recognised and skipped, so uploading the same file
    again writes nothing.
    """
    filename, content_type, data = await received_file(request)
    runtime = runtime_of(request)
    scope = Scope(runtime.settings.county_codes, principal.covers)
    try:
        fmt = detect(filename, content_type, data[:8])
        read_ = await asyncio.to_thread(_validated_rows, data, fmt, scope)
    except FileProblem as problem:
        raise _file_problem(problem) from None
    ctx = dataclasses.replace(
        command_context(request, principal),
        causation_id=f"ledger-import:sha256:{hashlib.sha256(data).hexdigest()}",
    )
    importer = LedgerImport(runtime.store, runtime.settings.max_active_enterprises_per_village)
    write = not read_.errors and not dry_run
    decided = await importer.run(ctx, read_.valid, covers=principal.covers, write=write)
    errors = in_order(read_.errors + decided.errors, _HEADERS)
    if errors:
        raise _rows_problem(errors, read_.count, decided)
    return Imported(
        dry_run=dry_run,
        rows=read_.count,
        created=Tally.of(decided.created),
        existing=Tally.of(decided.existing),
        rows_already_imported=decided.existing.agreements,
        events_written=0 if dry_run else decided.event_count,
        warnings=[StoredDifference(**w.as_dict()) for w in decided.warnings],
    )


@router.get(
    "/imports/ledger/template.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX_TYPE: {}}, "description": "The template workbook"}},
)
async def ledger_template(request: Request, principal: Importer) -> Response:
    """The ledger template: the headers, one example row (序号 示例, never imported) and a sheet
    of instructions with the accepted values."""
    counties = sorted(runtime_of(request).settings.county_codes) or ["150602"]
    content = await asyncio.to_thread(template, counties[0])
    disposition = (
        f"attachment; filename=\"ledger-template.xlsx\"; filename*=UTF-8''{quote('结对台账模板.xlsx')}"
    )
    return Response(content, media_type=XLSX_TYPE, headers={"content-disposition": disposition})


def _validated_rows(data: bytes, fmt: Format, scope: Scope) -> RowsRead:
    rows = read_rows(read(data, fmt), scope)
    if not rows.count:
        raise FileProblem("ledger_has_rows", "the ledger has no rows to import below its header")
    return rows


def _file_problem(problem: FileProblem) -> Problem:
    return Problem(
        problem.status,
        problem.rule.replace("_", " ").capitalize(),
        problem.reason,
        type_=PROBLEMS + problem.rule,
        errors=problem.errors or None,
        extra={"rule": problem.rule},
    )


def _rows_problem(errors: list[RowError], rows: int, decided: Plan) -> Problem:
    rejected = len({e.row for e in errors})
    return Problem(
        422,
        "Ledger rows rejected",
        f"{rejected} of {rows} rows were rejected; nothing was imported",
        type_=PROBLEMS + "ledger_rows_valid",
        errors=[e.as_dict() for e in errors],
        extra={
            "rule": "ledger_rows_valid",
            "rows": rows,
            "rejected_rows": rejected,
            "warnings": [w.as_dict() for w in decided.warnings],
        },
    )
