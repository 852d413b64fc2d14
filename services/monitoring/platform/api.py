"""HTTP endpoints of the exchange with the provincial platform (docs/integration.md): a batch of
quarterly surveys in, the monitored households of a region out."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from services.monitoring.config import monitoring_config
from services.monitoring.platform.decide import SurveyDecider
from services.monitoring.platform.export import ExportRequest, csv_chunks, pages, xlsx_file
from services.monitoring.platform.handler import SurveyImport
from services.monitoring.platform.layout import IMPORT_HEADERS
from services.monitoring.platform.offload import warm_up
from services.monitoring.platform.reader import SURVEY, XLSX_TYPE, FileProblem, Format, detect, read
from services.monitoring.platform.report import in_order
from services.monitoring.platform.rows import RowsRead, Scope, read_rows
from services.monitoring.platform.upload import MAX_BYTES, PROBLEMS, received
from shared.auth import Principal, Role, allow
from shared.clock import china_date
from shared.http.problems import Problem, problem_responses
from shared.runtime.collector import collector_paused
from shared.service import command_context, runtime_of
from shared.tabular.upload import multipart_body

router = APIRouter(tags=["provincial platform"])
Importer = Annotated[Principal, Depends(allow(Role.platform, Role.county_officer))]
Exporter = Annotated[
    Principal,
    Depends(allow(Role.county_officer, Role.township_officer, Role.platform, Role.viewer)),
]
_BATCH_ID = re.compile(r"^[\w\-.:/#]{1,100}$")
_REGION = re.compile(r"^\d{0,12}$")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


class RejectedRow(BaseModel):
    row: int = Field(description="Spreadsheet row number; the header is row 1")
    column: str | None = Field(description="The Chinese header")
    value: str | None = Field(description="The cell as sent; an ID number masked")
    reason: str
    rule: str
    field: str | None = Field(default=None, description="The column's name in English")


class SurveyImportReport(BaseModel):
    batch_id: str
    dry_run: bool
    rows: int = Field(description="Rows read below the header (empty rows skipped)")
    imported: int = Field(description="Rows whose survey was recorded (would be, in a dry run)")
    unchanged: int = Field(description="Rows whose household already has this batch's survey of the quarter")
    households_created: int = Field(description="Households registered from rows with an unknown ID number")
    flagged: int = Field(description="Households the risk rules flagged on these surveys")
    rejected: int = Field(description="Rows rejected; each is in `errors`, nothing of them was written")
    events_written: int = Field(description="0 in a dry run")
    errors: list[RejectedRow]


_MULTIPART_BODY = multipart_body(
    SURVEY,
    fields={
        "batch_id": {"type": "string", "description": "Or the query parameter"},
        "dry_run": {"type": "boolean", "description": "Or the query parameter"},
    },
)


@router.post(
    "/imports/surveys",
    response_model=SurveyImportReport,
    summary="Import a batch of quarterly surveys from the provincial platform",
    openapi_extra=_MULTIPART_BODY,
    responses=problem_responses(
        {
            400: "Not a multipart upload with the file in field `file`",
            401: "Missing or refused token",
            403: "Role not allowed",
            413: f"The file is larger than {MAX_BYTES // 2**20} MB",
            415: "Neither .csv nor .xlsx",
            422: "No or a malformed batch_id, an unreadable file, or a header row that does not fit the "
            "layout (`errors` on row 1)",
        }
    ),
)
async def import_surveys(
    request: Request,
    principal: Importer,
    batch_id: Annotated[
        str | None, Query(description="The platform's batch number (or the form field `batch_id`)")
    ] = None,
    dry_run: Annotated[bool | None, Query(description="Check and decide, write nothing")] = None,
) -> SurveyImportReport:
    """One row per household's quarterly survey (docs/integration.md for the layout). Rows are
    checked one by one; rejected rows are reported in `errors` and the others imported, each as
    the household's survey (monitoring.household_surveyed, and monitoring.household_flagged when
    the rules find risk). A household is found by its head's ID number, or registered from the row
    (monitoring.household_registered). Idempotent by batch_id, household and quarter: the same
    batch again imports only the rows not yet imported (e.g. those fixed since)."""
    upload = await received(request)
    batch = _batch_id(batch_id, upload.fields.get("batch_id"))
    dry = _dry_run(dry_run, upload.fields.get("dry_run"))
    runtime = runtime_of(request)
    config = monitoring_config(runtime.settings)
    ctx = dataclasses.replace(command_context(request, principal), causation_id=f"survey-import:{batch}")
    scope = Scope(runtime.settings.county_codes, principal.covers, china_date(ctx.now))
    decider = SurveyDecider(ctx, batch, config.lines, config.rules, principal.covers, scope.today)
    if not dry:
        warm_up(len(upload.data))
    with collector_paused():
        try:
            fmt = detect(upload.filename, upload.content_type, upload.data[:8])
            read_ = await asyncio.to_thread(_checked_rows, upload.data, fmt, scope, config.masters.id_digest)
        except FileProblem as problem:
            raise _file_problem(problem) from None
        outcome = await SurveyImport(runtime.store, config.masters).run(decider, read_.valid, write=not dry)
    errors = in_order(read_.errors + outcome.errors, IMPORT_HEADERS)
    tally = outcome.tally
    return SurveyImportReport(
        batch_id=batch,
        dry_run=dry,
        rows=read_.count,
        imported=tally.imported,
        unchanged=tally.unchanged,
        households_created=tally.households_created,
        flagged=tally.flagged,
        rejected=len({e.row for e in errors}),
        events_written=0 if dry else tally.events,
        errors=[RejectedRow(**e.as_dict()) for e in errors],
    )


@router.get(
    "/exports/monitored-households",
    response_class=Response,
    summary="Export the monitored households of a region (CSV or XLSX)",
    responses={
        200: {
            "content": {"text/csv": {}, XLSX_TYPE: {}},
            "description": "The households in the documented export layout (docs/integration.md)",
        },
        **problem_responses(
            {
                401: "Missing or refused token",
                403: "Role not allowed, or a region outside the token's",
                422: "A region that is not a division-code prefix",
            }
        ),
    },
)
async def export_monitored_households(
    request: Request,
    principal: Exporter,
    region: Annotated[
        str | None, Query(description="Division-code prefix within the token's region (default: the token's)")
    ] = None,
    format: Annotated[Literal["csv", "xlsx"], Query(description="csv (UTF-8 with BOM) or xlsx")] = "csv",
    include_eliminated: Annotated[
        bool, Query(description="Also households whose risk was eliminated")
    ] = False,
) -> Response:
    """Households in a procedure or monitored (and, with `include_eliminated`, those whose risk was
    eliminated), ordered by village: stage, category, risk types, contact and assistance. The head's
    ID number is masked (1506**********0017) unless the caller is the `platform` role."""
    wanted = principal.region if region is None else region
    if not _REGION.match(wanted):
        raise Problem(
            422,
            "Invalid request",
            "region: a division-code prefix of up to 12 digits",
            errors=[{"field": "region", "reason": "digits only"}],
        )
    if not principal.covers(wanted):
        detail = f"region '{wanted}' is outside region '{principal.region}' of this token"
        raise Problem(403, "Outside your region", detail)
    runtime = runtime_of(request)
    masters = monitoring_config(runtime.settings).masters
    export = ExportRequest(wanted, include_eliminated, reveal_ids=principal.role is Role.platform)
    name = f"monitored-households-{wanted or 'all'}.{format}"
    disposition = {"content-disposition": f'attachment; filename="{name}"'}
    rows = pages(runtime.store, masters, export)
    if format == "csv":
        return StreamingResponse(csv_chunks(rows), media_type="text/csv; charset=utf-8", headers=disposition)
    collected = [row async for page in rows for row in page]
    content = await asyncio.to_thread(xlsx_file, collected)
    return Response(content, media_type=XLSX_TYPE, headers=disposition)


def _checked_rows(data: bytes, fmt: Format, scope: Scope, digest: Callable[[str], bytes]) -> RowsRead:
    rows = read_rows(read(data, fmt), scope, digest)
    if not rows.count:
        raise FileProblem("survey_has_rows", "the batch has no rows below its header")
    return rows


def _batch_id(query: str | None, form: str | None) -> str:
    query, form = (query or "").strip() or None, (form or "").strip() or None
    if query and form and query != form:
        raise _invalid("batch_id", "the query parameter and the form field name different batches")
    value = query or form
    if value is None:
        raise _invalid("batch_id", "required: the platform's batch number (query parameter or form field)")
    if not _BATCH_ID.match(value):
        raise _invalid("batch_id", "1–100 letters, digits, Chinese characters or _ - . : / #")
    return value


def _dry_run(query: bool | None, form: str | None) -> bool:
    if form is None:
        return bool(query)
    text = form.strip().lower()
    if text not in _TRUE + _FALSE:
        raise _invalid("dry_run", "true or false")
    if query is not None and query != (text in _TRUE):
        raise _invalid("dry_run", "the query parameter and the form field disagree")
    return text in _TRUE


def _invalid(field: str, reason: str) -> Problem:
    return Problem(
        422,
        "Invalid request",
        f"{field}: {reason}",
        type_=PROBLEMS + "invalid_request",
        errors=[{"field": field, "reason": reason}],
    )


def _file_problem(problem: FileProblem) -> Problem:
    return Problem(
        problem.status,
        problem.rule.replace("_", " ").capitalize(),
        problem.reason,
        type_=PROBLEMS + problem.rule,
        errors=problem.errors or None,
        extra={"rule": problem.rule},
    )
