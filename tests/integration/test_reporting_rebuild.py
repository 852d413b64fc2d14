"""Every reporting view rebuilt from scratch equals the live one: each projection's rows and every
table of ``GET /tables``, for the county and a township, for the current and the previous period.

The county is the end-to-end scenario (tests/support/county.py): pairing and monitoring events, and
the reporting service's own (cards, a closed period, an entered indicator)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.app import PROJECTIONS
from shared.auth import Role
from shared.runtime.rebuild import rebuild_projection
from shared.service import Consumes
from shared.settings import Settings
from tests.support.apps import wait_until
from tests.support.county import COUNTY, T1, County, build_county, county_services, county_settings
from tests.support.infra import consumer_idle

# Columns that hold the wall-clock moment a row was projected, not a fact of the events.
WALL_CLOCK = {("ledger_agreements", "projected_at")}

_KEY = text(
    """
    SELECT a.attname FROM pg_index i
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
    WHERE i.indrelid = CAST(:table AS regclass) AND i.indisprimary
    ORDER BY array_position(i.indkey, a.attnum)
    """
)
_COLUMNS = text(
    "SELECT column_name FROM information_schema.columns WHERE table_name = :table AND table_schema = "
    "current_schema() ORDER BY ordinal_position"
)


async def projection_rows(
    engine: AsyncEngine, projections: Mapping[str, Consumes] = PROJECTIONS
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of ``projections`` (reporting's by default), ordered by the table's key."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as conn:
        for consumed in projections.values():
            for table in consumed.build().tables:
                columns = [
                    c
                    for c in (await conn.execute(_COLUMNS, {"table": table})).scalars()
                    if (table, c) not in WALL_CLOCK
                ]
                key = list((await conn.execute(_KEY, {"table": table})).scalars())
                assert key, f"{table} has no primary key to order it by"
                query = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {', '.join(key)}"
                rows[table] = [tuple(r) for r in (await conn.execute(text(query))).all()]
    return rows


async def every_table(c: County) -> dict[tuple[str, str, str], dict[str, Any]]:
    listed = await c.reporting.get("/tables", headers=c.tokens[Role.viewer])
    assert listed.status_code == 200, listed.text
    names = [t["name"] for t in listed.json()["items"]]
    return {
        (name, region, period): await c.table(name, region=region, period=period)
        for name in names
        for region in (COUNTY, T1)
        for period in ("2026H2", "2026H1")
    }


async def test_rebuilt_views_equal_the_live_ones(make_settings: Callable[..., Settings]) -> None:
    settings = county_settings(make_settings())
    async with county_services(settings) as c:
        await build_county(c)
        runtime = c.reporting_app.state.runtime
        await wait_until(lambda: consumer_idle(runtime, settings), 15, "the live consumers idle")
        live_rows = await projection_rows(runtime.engine)
        live_tables = await every_table(c)
        # The scenario reached every projection table (none compared empty against empty).
        assert all(live_rows.values()), {t: len(r) for t, r in live_rows.items()}
        assert len(live_tables) >= 4 * 15

        async with runtime.engine.connect() as conn:
            started = (await conn.execute(text("SELECT clock_timestamp()"))).scalar_one()
        replayed = {name: await rebuild_projection(name, settings) for name in PROJECTIONS}
        assert all(replayed.values()), replayed
        async with runtime.engine.connect() as conn:
            # really written again, not left in place
            oldest = (
                await conn.execute(text("SELECT min(projected_at) FROM ledger_agreements"))
            ).scalar_one()
        assert oldest > started

        assert await projection_rows(runtime.engine) == live_rows
        rebuilt_tables = await every_table(c)
        assert rebuilt_tables.keys() == live_tables.keys()
        for key, table in live_tables.items():
            assert rebuilt_tables[key] == table, key
