"""The household key table and the citizen-ID index (asyncpg, inside the command's transaction)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence

import asyncpg

from services.monitoring.personal import MasterKeys, Unreadable

log = logging.getLogger(__name__)


async def fetch_keys(
    conn: asyncpg.Connection, masters: MasterKeys, household_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, bytes]:
    """The keys of those households that still have one (an erased household has none).

    A key that does not unwrap (a damaged row, another deployment's key) is left out and logged:
    that household reads as unreadable, the others as usual.
    """
    rows = await conn.fetch(
        "SELECT household_id, wrapped FROM household_keys WHERE household_id = ANY($1::uuid[])",
        list(household_ids),
    )
    found: dict[uuid.UUID, bytes] = {}
    for row in rows:
        try:
            found[row["household_id"]] = masters.unwrap_key(row["household_id"], row["wrapped"])
        except Unreadable:
            log.error("the key of household %s does not unwrap: its personal data is unreadable", row[0])
    return found


async def store_keys(conn: asyncpg.Connection, masters: MasterKeys, keys: dict[uuid.UUID, bytes]) -> None:
    if keys:
        await conn.execute(
            "INSERT INTO household_keys (household_id, wrapped) "
            "SELECT * FROM unnest($1::uuid[], $2::bytea[])",
            list(keys),
            [masters.wrap_key(household_id, key) for household_id, key in keys.items()],
        )


async def find_households(conn: asyncpg.Connection, digests: Sequence[bytes]) -> dict[bytes, uuid.UUID]:
    """Which household each citizen-ID digest belongs to, for those on record."""
    rows = await conn.fetch(
        "SELECT id_digest, household_id FROM person_index WHERE id_digest = ANY($1::bytea[])", list(digests)
    )
    return {bytes(row["id_digest"]): row["household_id"] for row in rows}


async def index_members(conn: asyncpg.Connection, household_id: uuid.UUID, digests: dict[int, bytes]) -> None:
    """Replace the household's index rows (the primary key refuses a number held elsewhere)."""
    await conn.execute("DELETE FROM person_index WHERE household_id = $1", household_id)
    await index_many(conn, [(digest, household_id, no) for no, digest in digests.items()])


async def index_many(conn: asyncpg.Connection, rows: Sequence[tuple[bytes, uuid.UUID, int]]) -> None:
    if rows:
        await conn.execute(
            "INSERT INTO person_index (id_digest, household_id, member_no) "
            "SELECT * FROM unnest($1::bytea[], $2::uuid[], $3::int[])",
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
        )


async def shred(conn: asyncpg.Connection, household_id: uuid.UUID) -> None:
    """Destroy the household's key and forget its ID numbers: its sealed fields are noise from now on."""
    await conn.execute("DELETE FROM household_keys WHERE household_id = $1", household_id)
    await conn.execute("DELETE FROM person_index WHERE household_id = $1", household_id)
