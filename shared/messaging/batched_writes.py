"""Apply a projector batch's SQL writes in few round trips, keeping each aggregate's order.

A projection that turns an event into plain writes (a statement and its parameters) lets the
projector send a whole batch as one ``executemany`` per statement and step, instead of one round
trip per write: the n-th write of every aggregate in the batch goes in step n, grouped by
statement. This keeps every aggregate's writes in their order; writes of different aggregates
may change order, so it is only for projections whose writes for one aggregate touch no row
another aggregate's writes touch (e.g. every row keyed by the aggregate's id).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.events.envelope import Envelope, EventData

Write = tuple[TextClause, dict[str, Any]]


async def execute_in_steps(conn: AsyncConnection, writes: Sequence[tuple[str, Write]]) -> None:
    """``writes``: (aggregate key, write) in the order the events came."""
    steps: list[dict[TextClause, list[dict[str, Any]]]] = []
    depth: dict[str, int] = {}
    for key, (statement, params) in writes:
        step = depth.get(key, 0)
        depth[key] = step + 1
        if step == len(steps):
            steps.append({})
        steps[step].setdefault(statement, []).append(params)
    for step_writes in steps:
        for statement, rows in step_writes.items():
            await conn.execute(statement, rows if len(rows) > 1 else rows[0])


async def driver_connection(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn``, in its transaction: for COPY and prepared
    ``executemany`` on hot paths, where SQLAlchemy's per-row parameter handling costs more than
    the database's own work."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def copy_rows(
    conn: AsyncConnection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Append ``rows`` (tuples in ``columns`` order) to ``table`` with COPY, in ``conn``'s transaction."""
    if rows:
        await (await driver_connection(conn)).copy_records_to_table(
            table, records=rows, columns=list(columns)
        )


class StepwiseProjection:
    """A projection whose every event becomes plain writes keyed by the event's own stream
    (``execute_in_steps``). A subclass names its ``handled`` event types and its ``writes``."""

    name: str
    tables: Sequence[str]
    handled: frozenset[str]

    def writes(self, envelope: Envelope, event: EventData) -> list[Write]:
        raise NotImplementedError

    def handles(self, event_type: str) -> bool:
        return event_type in self.handled

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: EventData) -> None:
        await self.apply_many(conn, [(envelope, event)])

    async def apply_many(self, conn: AsyncConnection, events: Sequence[tuple[Envelope, EventData]]) -> None:
        writes = [(envelope.stream_id, w) for envelope, event in events for w in self.writes(envelope, event)]
        await execute_in_steps(conn, writes)
