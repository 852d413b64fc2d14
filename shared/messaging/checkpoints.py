"""Consumer checkpoints and dead letters: the SQL a projector writes beside its own changes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# A stream's row may already stand at 0, put there by lock_streams.
_CLAIM_FIRST = text(
    "INSERT INTO consumer_checkpoints (consumer, stream_id, version) VALUES (:c, :s, 1) "
    "ON CONFLICT (consumer, stream_id) DO UPDATE SET version = 1 "
    "WHERE consumer_checkpoints.version = 0 RETURNING version"
)
# The row lock taken here makes a concurrent claim of the same version (a replay beside the live
# consumer) wait, re-check the WHERE, and find nothing to claim.
_CLAIM_NEXT = text(
    "UPDATE consumer_checkpoints SET version = :v "
    "WHERE consumer = :c AND stream_id = :s AND version = :v - 1 RETURNING version"
)
# The no-op update locks each stream's row, existing or new, and returns where it stands.
_LOCK_STREAMS = text(
    "INSERT INTO consumer_checkpoints (consumer, stream_id, version) "
    "SELECT :c, s, 0 FROM unnest(CAST(:streams AS text[])) AS s "
    "ON CONFLICT (consumer, stream_id) DO UPDATE SET version = consumer_checkpoints.version "
    "RETURNING stream_id, version"
)
_ADVANCE = text(
    "UPDATE consumer_checkpoints AS c SET version = t.v "
    "FROM unnest(CAST(:streams AS text[]), CAST(:versions AS bigint[])) AS t(s, v) "
    "WHERE c.consumer = :c AND c.stream_id = t.s"
)
# Moves each stream's checkpoint from first - 1 to last, or creates it when first is 1; a row that
# stands elsewhere (or exists already for a first version) is left alone and not counted. An
# UPDATE waiting on another transaction's lock re-checks its condition once that one commits.
_ADVANCE_FROM = text(
    """
    WITH runs AS (
        SELECT * FROM unnest(CAST(:streams AS text[]), CAST(:firsts AS bigint[]), CAST(:lasts AS bigint[]))
            AS t(stream_id, first, last)
    ), moved AS (
        UPDATE consumer_checkpoints AS c SET version = runs.last FROM runs
        WHERE c.consumer = :c AND c.stream_id = runs.stream_id AND runs.first > 1
          AND c.version = runs.first - 1
        RETURNING 1
    ), added AS (
        INSERT INTO consumer_checkpoints (consumer, stream_id, version)
        SELECT :c, stream_id, last FROM runs WHERE first = 1
        ON CONFLICT (consumer, stream_id) DO NOTHING
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM moved) + (SELECT count(*) FROM added)
    """
)
_CURRENT = text("SELECT version FROM consumer_checkpoints WHERE consumer = :c AND stream_id = :s")
_DEAD_LETTER = text(
    """
    INSERT INTO dead_letters (consumer, subject, stream_sequence, event_id, stream_id,
                              stream_version, reason, payload, attempts)
    VALUES (:consumer, :subject, :seq, CAST(:event_id AS uuid), :stream_id, :stream_version,
            :reason, :payload, :attempts)
    ON CONFLICT (consumer, stream_sequence) DO NOTHING
    """
)


async def claim(conn: AsyncConnection, consumer: str, stream_id: str, version: int) -> bool:
    """Advance the checkpoint to ``version`` if it stands right before it; False otherwise."""
    if version == 1:
        result = await conn.execute(_CLAIM_FIRST, {"c": consumer, "s": stream_id})
    else:
        result = await conn.execute(_CLAIM_NEXT, {"c": consumer, "s": stream_id, "v": version})
    return result.first() is not None


async def lock_streams(conn: AsyncConnection, consumer: str, stream_ids: list[str]) -> dict[str, int]:
    """Lock the checkpoints of ``stream_ids`` until the transaction ends; where each stands."""
    # Sorted: two transactions locking overlapping sets take the rows in the same order.
    result = await conn.execute(_LOCK_STREAMS, {"c": consumer, "streams": sorted(set(stream_ids))})
    return {stream_id: int(version) for stream_id, version in result}


async def advance(conn: AsyncConnection, consumer: str, versions: dict[str, int]) -> None:
    """Move checkpoints locked by :func:`lock_streams` to ``versions``."""
    if versions:
        await conn.execute(
            _ADVANCE, {"c": consumer, "streams": list(versions), "versions": list(versions.values())}
        )


async def advance_from(conn: AsyncConnection, consumer: str, runs: dict[str, tuple[int, int]]) -> bool:
    """Move every stream of ``runs`` (stream → (first, last) version applied) from ``first - 1`` to
    ``last``; True when each stood there (else the caller rolls back what it applied)."""
    if not runs:
        return True
    streams = sorted(runs)  # rows taken in one order by every transaction
    params = {
        "c": consumer,
        "streams": streams,
        "firsts": [runs[s][0] for s in streams],
        "lasts": [runs[s][1] for s in streams],
    }
    moved = (await conn.execute(_ADVANCE_FROM, params)).scalar_one()
    return int(moved) == len(streams)


async def current(conn: AsyncConnection, consumer: str, stream_id: str) -> int:
    value = (await conn.execute(_CURRENT, {"c": consumer, "s": stream_id})).scalar()
    return int(value or 0)


@dataclass(frozen=True)
class DeadLetter:
    consumer: str
    subject: str
    stream_sequence: int | None
    reason: str
    payload: str
    attempts: int
    event_id: str | None = None
    stream_id: str | None = None
    stream_version: int | None = None


async def record_dead_letter(conn: AsyncConnection, letter: DeadLetter) -> None:
    await conn.execute(
        _DEAD_LETTER,
        {
            "consumer": letter.consumer,
            "subject": letter.subject,
            "seq": letter.stream_sequence,
            "event_id": letter.event_id,
            "stream_id": letter.stream_id,
            "stream_version": letter.stream_version,
            "reason": letter.reason[:2000],
            "payload": letter.payload,
            "attempts": letter.attempts,
        },
    )
