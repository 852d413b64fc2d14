"""Closing a half-year period (半年报送) and reading what was filed: ``POST
/periods/{county}/{period}/close``, ``GET /periods``, ``GET /periods/{county}/{period}`` and its
``/comparison`` with the tables as corrected since.

A period closes once: ``reporting.period_closed`` is the first and only event of the stream
``period-<county>-<period>`` (appended at expected version 0, so of two concurrent closes one
wins and the other is refused). The filed tables go into ``period_filings`` in the same
transaction, so an event never names a filing that is not there, nor a filing exists unannounced.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import text

from services.reporting.facts.load import load_facts
from services.reporting.filing import compare_filing, digests, filing, form
from services.reporting.periods import PERIOD_PATTERN, HalfYear
from services.reporting.tables.registry import TABLES, Options, build_all
from shared.auth import Principal, Role, allow, authenticate, ensure_covers
from shared.clock import china_date
from shared.domain import InvalidInput, NotFound, StateConflict
from shared.events.catalogue.reporting import PeriodClosed
from shared.eventstore.context import wrap
from shared.eventstore.store import ConcurrencyConflict
from shared.http.listing import Listing, Paged, scope
from shared.http.problems import Problem, problem_responses
from shared.ids import uuid7
from shared.service import Runtime, command_context, runtime_of, wait_caught_up
from shared.settings import Settings

router = APIRouter(tags=["periods"])

CountyOfficer = Annotated[Principal, Depends(allow(Role.county_officer))]
Reader = Annotated[Principal, Depends(authenticate)]
County = Annotated[str, Path(pattern=r"^\d{6}$", description="6-digit county code")]
Period = Annotated[str, Path(pattern=PERIOD_PATTERN, description="`2026H1` (Jan–Jun) or `2026H2` (Jul–Dec)")]


def period_stream(county_code: str, period: HalfYear) -> str:
    return f"period-{county_code}-{period.name}"


class Closing(BaseModel):
    """A closed period: when, whether after the day its tables were due, and what was filed."""

    county_code: str
    period: str
    period_start: date
    period_end: date
    due_on: date = Field(description="The day the tables were due upward (20 June, 21 December)")
    closed_at: datetime
    late: bool = Field(description="Closed after the China date ``due_on``")
    filing_id: str
    tables: dict[str, str] = Field(description="Each filed table's name and its SHA-256 (hex)")


class Closings(Paged):
    items: list[Closing]


class Filing(Closing):
    matches_event: bool | None = Field(
        description="The stored content hashes to the `tables` of `reporting.period_closed` "
        "(None while the event is not yet projected)"
    )
    filed: list[dict[str, Any]] = Field(
        description="The tables as filed. A table's SHA-256 is that of its canonical JSON: keys "
        "sorted, no spaces, UTF-8 (services/reporting/filing.py)"
    )


class Comparison(Closing):
    as_of: datetime = Field(description="The corrected tables count what was recorded by then")
    comparison: list[dict[str, Any]] = Field(
        description="Each filed table beside the same table as corrected since: rows and totals "
        "marked unchanged, changed, added or removed, each changed cell with both values"
    )


class PeriodQuery(Listing):
    period: str | None = Field(default=None, pattern=PERIOD_PATTERN, description="Only this half-year")


def closing(
    county_code: str, period: HalfYear, closed_at: datetime, filing_id: Any, tables: dict[str, str]
) -> Closing:
    return Closing(
        county_code=county_code,
        period=period.name,
        period_start=period.start,
        period_end=period.end,
        due_on=period.due_on,
        closed_at=closed_at,
        late=china_date(closed_at) > period.due_on,
        filing_id=str(filing_id),
        tables=tables,
    )


def _options(settings: Settings, period: HalfYear) -> Options:
    return Options(period=period, stage_deadlines=settings.stage_deadlines)


def _already_closed(county_code: str, period: HalfYear, closed_at: Any = None) -> StateConflict:
    when = f" at {closed_at}" if closed_at else ""
    return StateConflict(
        "period_closed_once",
        f"{county_code} closed {period.name}{when}; a filing is never rewritten: later corrections "
        f"count in the next open period",
        "period",
    )


_FILE = (
    "INSERT INTO period_filings (filing_id, county_code, period, closed_at, tables) "
    "VALUES ($1, $2, $3, $4, $5::jsonb)"
)


@router.post(
    "/periods/{county_code}/{period}/close",
    summary="Close a half-year period: file its tables as they stand now",
    responses=problem_responses(
        {
            403: "Not a county officer, or the county lies outside the token's region",
            409: "The period is already closed (period_closed_once)",
            422: "A malformed county or period, or a period not started yet (period_started)",
            503: "The projections are still taking in events: close again shortly",
        }
    ),
)
async def close_period(
    request: Request, principal: CountyOfficer, county_code: County, period: Period
) -> Closing:
    ensure_covers(principal, county_code)
    half = HalfYear.parse(period)
    runtime = runtime_of(request)
    ctx = command_context(request, principal)
    if china_date(ctx.now) < half.start:
        raise InvalidInput(
            "period_started", f"{half.name} starts on {half.start}: it cannot be closed before", "period"
        )
    stream = period_stream(county_code, half)
    # Checked first only to spare building the tables; the append at version 0 decides.
    history = await runtime.store.load(stream)
    if history:
        raise _already_closed(county_code, half, history[0].data.get("closed_at"))
    # What was recorded before the closing must be in the filing: a fact the projections take in
    # later would count in neither period (it was recorded before the period closed).
    await caught_up(runtime)
    facts = await load_facts(runtime.engine, county_code, ctx.now)
    filed = filing(build_all(facts, _options(runtime.settings, half), filed_only=True))
    filing_id = uuid7()
    event = PeriodClosed(
        county_code=county_code,
        period=half.name,
        period_start=half.start,
        period_end=half.end,
        due_on=half.due_on,
        closed_at=ctx.now,
        tables=digests(filed),
        filing_id=filing_id,
    )
    content = json.dumps(filed, ensure_ascii=False)
    try:
        async with runtime.store.session(transaction=True) as session:
            session.append(0, wrap(ctx, stream, 0, county_code.ljust(12, "0"), [event]))
            await session.conn.execute(_FILE, filing_id, county_code, half.name, ctx.now, content)
    except ConcurrencyConflict:
        raise _already_closed(county_code, half) from None
    return closing(county_code, half, ctx.now, filing_id, event.tables)


CATCH_UP_S = 10.0


async def caught_up(runtime: Runtime) -> None:
    """Wait until every projection has taken in what its stream holds (503 after CATCH_UP_S).
    An event its producer committed but has not yet published (a relay's few milliseconds) is
    not seen: such a fact counts in the next period."""
    if behind := await wait_caught_up(runtime, CATCH_UP_S):
        raise Problem(
            503,
            "Reporting is catching up",
            f"{behind} events are still to be taken in; close the period again in a minute",
        )


# A county's closings are shown to the regions inside it too (a township sees that its county
# filed), as the facts of a region count the closings of the county above it.
_VISIBLE = """
    FROM period_closings
    WHERE (county_code LIKE :region || '%' OR :region LIKE county_code || '%')
      AND (CAST(:period AS text) IS NULL OR period = :period)
"""


@router.get("/periods", summary="Closed periods visible to the caller, latest first")
async def list_closings(
    request: Request, principal: Reader, query: Annotated[PeriodQuery, Query()]
) -> Closings:
    region = scope(principal, query.region)
    params = {"region": region, "period": query.period}
    async with runtime_of(request).engine.connect() as conn:
        total = (await conn.execute(text("SELECT count(*)" + _VISIBLE), params)).scalar_one()
        rows = (
            await conn.execute(
                text(
                    "SELECT county_code, period, closed_at, filing_id, tables"
                    + _VISIBLE
                    + " ORDER BY period DESC, county_code LIMIT :limit OFFSET :offset"
                ),
                {**params, "limit": query.page_size, "offset": query.offset},
            )
        ).mappings()
        items = [
            closing(
                r["county_code"], HalfYear.parse(r["period"]), r["closed_at"], r["filing_id"], r["tables"]
            )
            for r in rows
        ]
    return Closings(items=items, page=query.page, page_size=query.page_size, total=total)


_FILED = """
    SELECT f.filing_id, f.closed_at, f.tables, c.tables AS published
    FROM period_filings f LEFT JOIN period_closings c USING (filing_id)
    WHERE f.county_code = :county AND f.period = :period
"""


async def _filed(request: Request, principal: Principal, county_code: str, half: HalfYear) -> Filing:
    ensure_covers(principal, county_code)
    async with runtime_of(request).engine.connect() as conn:
        row = (
            (await conn.execute(text(_FILED), {"county": county_code, "period": half.name}))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound("period_closed", f"{county_code} has not closed {half.name}", "period")
    filed: list[dict[str, Any]] = row["tables"]
    published = row["published"]  # the hashes the event carried, as projected
    head = closing(county_code, half, row["closed_at"], row["filing_id"], published or digests(filed))
    matches = None if published is None else digests(filed) == published
    return Filing(**head.model_dump(), filed=filed, matches_event=matches)


@router.get(
    "/periods/{county_code}/{period}",
    summary="The tables of a closed period exactly as filed",
    responses=problem_responses(
        {403: "The county lies outside the token's region", 404: "The period is not closed (period_closed)"}
    ),
)
async def get_filing(request: Request, principal: Reader, county_code: County, period: Period) -> Filing:
    return await _filed(request, principal, county_code, HalfYear.parse(period))


@router.get(
    "/periods/{county_code}/{period}/comparison",
    summary="A closed period's tables as filed beside the same tables as corrected since",
    responses=problem_responses(
        {403: "The county lies outside the token's region", 404: "The period is not closed (period_closed)"}
    ),
)
async def get_comparison(
    request: Request, principal: Reader, county_code: County, period: Period
) -> Comparison:
    half = HalfYear.parse(period)
    filed = await _filed(request, principal, county_code, half)
    runtime = runtime_of(request)
    facts = await load_facts(runtime.engine, county_code, runtime.clock.now())
    # Without its own closing, what was recorded after it (late entries, corrections) counts in
    # the period again: the period as it would be filed now.
    reopened = dataclasses.replace(
        facts, closings={k: v for k, v in facts.closings.items() if k != (county_code, half.name)}
    )
    options = _options(runtime.settings, half)
    names = [t["name"] for t in filed.filed]
    names += [r.name for r in TABLES.values() if r.filed and r.name not in names]
    corrected = [form(TABLES[n].build(reopened, options)) for n in names if n in TABLES]
    return Comparison(
        **filed.model_dump(exclude={"filed"}),
        as_of=facts.as_of,
        comparison=compare_filing(filed.filed, corrected),
    )
