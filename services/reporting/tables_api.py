"""``GET /tables`` and ``GET /tables/{name}``: every reporting table, region-scoped, paged, as of
any past moment and for any half-year period."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AwareDatetime, Field

from services.reporting.facts.load import load_facts
from services.reporting.facts.model import Facts
from services.reporting.periods import PERIOD_PATTERN, HalfYear
from services.reporting.tables.registry import TABLES, Options
from services.reporting.tables.table import Table
from shared.auth import Principal, authenticate
from shared.clock import CHINA
from shared.domain import InvalidInput
from shared.http.listing import Listing, scope
from shared.http.problems import Problem
from shared.service import runtime_of
from shared.settings import STAGE_STEPS

router = APIRouter(tags=["tables"])
DEADLINES_PATTERN = r"^[a-z_]+=\d{1,4}(,[a-z_]+=\d{1,4})*$"


class TableQuery(Listing):
    as_of: date | AwareDatetime | None = Field(
        default=None,
        description="Compute from the events recorded by then: a date (to the end of that day, China "
        "time) or a moment; default now",
    )
    period: str | None = Field(
        default=None,
        pattern=PERIOD_PATTERN,
        description="The half-year of the in-period figures, e.g. 2026H1",
    )
    page_size: int = Field(default=200, ge=1, le=5000)
    deadlines: str | None = Field(
        default=None,
        pattern=DEADLINES_PATTERN,
        description="Stage deadlines in days over the configured ones (XINGCUN_STAGE_DEADLINES), e.g. "
        "`verification=5,contact=10`: a deadline set today applies to past cases too",
    )


def moment(as_of: date | datetime | None, now: datetime) -> datetime:
    """The moment a view is computed as of: a date means the end of that day in China."""
    if as_of is None:
        return now
    if isinstance(as_of, datetime):
        return as_of
    return datetime.combine(as_of + timedelta(days=1), time(), CHINA) - timedelta(microseconds=1)


async def facts_for(request: Request, principal: Principal, query: TableQuery) -> Facts:
    region = scope(principal, query.region)
    runtime = runtime_of(request)
    return await load_facts(runtime.engine, region, moment(query.as_of, runtime.clock.now()))


def options_for(request: Request, facts: Facts, period: str | None, deadlines: str | None = None) -> Options:
    settings = runtime_of(request).settings
    chosen = HalfYear.parse(period) if period else HalfYear.of(facts.today)
    return Options(period=chosen, stage_deadlines={**settings.stage_deadlines, **stage_deadlines(deadlines)})


def stage_deadlines(given: str | None) -> dict[str, int]:
    """``verification=5,contact=10`` as days by step; an unknown step is refused (422)."""
    if not given:
        return {}
    days = {step: int(n) for step, n in (pair.split("=") for pair in given.split(","))}
    unknown = sorted(set(days) - set(STAGE_STEPS))
    if unknown:
        raise InvalidInput(
            "known_stage_steps",
            f"no step {', '.join(unknown)}; the steps are {', '.join(STAGE_STEPS)}",
            "deadlines",
        )
    return days


def build(name: str, facts: Facts, options: Options) -> Table:
    registered = TABLES.get(name)
    if registered is None:
        raise Problem(404, "No such table", f"no table {name!r}; GET /tables lists them")
    return registered.build(facts, options)


@router.get("/tables", summary="The tables this service computes")
async def list_tables(principal: Annotated[Principal, Depends(authenticate)]) -> dict[str, Any]:
    return {
        "items": [{"name": r.name, "title": r.title, "filed": r.filed} for r in TABLES.values()],
    }


@router.get("/tables/{name}", summary="One table, region-scoped and paged, as of a moment")
async def get_table(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    name: Annotated[str, Path(pattern=r"^[a-z0-9-]{1,60}$")],
    query: Annotated[TableQuery, Query()],
) -> dict[str, Any]:
    if name not in TABLES:
        raise Problem(404, "No such table", f"no table {name!r}; GET /tables lists them")
    facts = await facts_for(request, principal, query)
    options = options_for(request, facts, query.period, query.deadlines)
    body = build(name, facts, options).as_json()
    rows = body["rows"]
    body.update(
        rows=rows[query.offset : query.offset + query.page_size],
        page=query.page,
        page_size=query.page_size,
        total=len(rows),
        region=facts.region,
        as_of=facts.as_of.isoformat(),
        period=options.period.name,
    )
    return body
