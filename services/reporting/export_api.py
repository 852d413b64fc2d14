"""Downloads of the reporting tables: ``GET /exports/tables/{name}.csv|.xlsx`` (one whole table)
and ``GET /exports/report.xlsx`` (every table, or those asked for, one sheet each).

The same region, as-of and period parameters as ``GET /tables/{name}``, and the same facts and
builders (``tables_api``); no paging, a file holds the whole table.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.reporting import export, tables_api
from services.reporting.facts.model import Facts
from services.reporting.periods import PERIOD_PATTERN
from services.reporting.tables.registry import TABLES, Options
from services.reporting.tables.table import Table
from shared.auth import Principal, authenticate
from shared.http.problems import Problem

router = APIRouter(tags=["exports"])

_NAME = r"^[a-z0-9-]{1,60}$"
REPORT_TITLE = "帮扶报表"  # the workbook of every table


class ExportQuery(BaseModel):
    """``TableQuery`` without paging: unknown parameters (``page``…) are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    region: str | None = Field(
        default=None,
        pattern=r"^\d{1,12}$",
        description="A division-code prefix inside the caller's region (default: the caller's region)",
    )
    as_of: date | AwareDatetime | None = Field(
        default=None, description="As in GET /tables/{name}: a date (end of that day, China time) or a moment"
    )
    period: str | None = Field(default=None, pattern=PERIOD_PATTERN, description="e.g. 2026H1")
    deadlines: str | None = Field(
        default=None,
        pattern=tables_api.DEADLINES_PATTERN,
        description="As in GET /tables/{name}: stage deadlines over the configured ones",
    )

    def table_query(self) -> tables_api.TableQuery:
        return tables_api.TableQuery(
            region=self.region, as_of=self.as_of, period=self.period, deadlines=self.deadlines
        )


class ReportQuery(ExportQuery):
    tables: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9-]{1,60}(,[a-z0-9-]{1,60})*$",
        description="Comma-separated table names, in the order of the sheets (default: every table)",
    )


async def _one_table(
    request: Request, principal: Principal, name: str, query: ExportQuery
) -> tuple[Table, Facts, Options]:
    _known([name])
    facts, options = await _facts(request, principal, query)
    return tables_api.build(name, facts, options), facts, options


@router.get("/exports/tables/{name}.csv", summary="One whole table as CSV (UTF-8 with BOM)")
async def table_csv(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    name: Annotated[str, Path(pattern=_NAME)],
    query: Annotated[ExportQuery, Query()],
) -> Response:
    table, facts, options = await _one_table(request, principal, name, query)
    return _file(export.csv_bytes(table), export.CSV_TYPE, name, table.title, facts, options, "csv")


@router.get("/exports/tables/{name}.xlsx", summary="One whole table as an XLSX workbook")
async def table_xlsx(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    name: Annotated[str, Path(pattern=_NAME)],
    query: Annotated[ExportQuery, Query()],
) -> Response:
    table, facts, options = await _one_table(request, principal, name, query)
    content = export.xlsx_bytes([table], caption(facts, options))
    return _file(content, export.XLSX_TYPE, name, table.title, facts, options, "xlsx")


@router.get("/exports/report.xlsx", summary="Every table (or those listed), one sheet each")
async def report_xlsx(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    query: Annotated[ReportQuery, Query()],
) -> Response:
    names = list(dict.fromkeys(query.tables.split(","))) if query.tables else list(TABLES)
    _known(names)
    facts, options = await _facts(request, principal, query)
    tables = [tables_api.build(name, facts, options) for name in names]
    content = export.xlsx_bytes(tables, caption(facts, options))
    return _file(content, export.XLSX_TYPE, "report", REPORT_TITLE, facts, options, "xlsx")


def caption(facts: Facts, options: Options) -> str:
    """What a printed sheet says under its title: whose figures, as of when, for which half-year."""
    return f"地区：{region_label(facts.region)}　截至：{facts.today.isoformat()}　期间：{options.period.name}"


def region_label(region: str) -> str:
    return region or "全部"


def filename(stem: str, facts: Facts, options: Options, extension: str) -> str:
    """``<stem>_<region>_<period>_<as-of date>.<extension>``, e.g. ``统计表_150602_2026H1_2026-06-30.csv``."""
    region = facts.region or "all"
    return f"{stem}_{region}_{options.period.name}_{facts.today.isoformat()}.{extension}"


def content_disposition(ascii_name: str, name: str) -> str:
    """An ASCII ``filename`` for old clients and the Chinese one as RFC 5987 ``filename*``."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", ascii_name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _known(names: list[str]) -> None:
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise Problem(404, "No such table", f"no table {', '.join(unknown)}; GET /tables lists them")


async def _facts(request: Request, principal: Principal, query: ExportQuery) -> tuple[Facts, Options]:
    facts = await tables_api.facts_for(request, principal, query.table_query())
    return facts, tables_api.options_for(request, facts, query.period, query.deadlines)


def _file(
    content: bytes, media_type: str, name: str, title: str, facts: Facts, options: Options, extension: str
) -> Response:
    disposition = content_disposition(
        filename(name, facts, options, extension), filename(title, facts, options, extension)
    )
    # Personal and official figures: no shared cache keeps a copy.
    headers = {"content-disposition": disposition, "cache-control": "no-store"}
    return Response(content=content, media_type=media_type, headers=headers)
