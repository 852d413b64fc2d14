"""Reads of the monitoring service: the household list and rows (projection), a household's
personal fields and history (its stream, unsealed with its key), and the surveys what-if runs on.

Lists follow the pairing directory: one constant statement for the page and one for the total,
a filter left out binds NULL (``CAST(:x AS t) IS NULL OR …``), ``region`` a digits-only prefix
already checked against the caller. Nothing here writes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pydantic import Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.monitoring import keys
from services.monitoring.domain import ELIMINATION_STAGES, ENROLMENT_STAGES, household_stream
from services.monitoring.personal import MasterKeys, Unreadable, mask_id, unseal
from services.monitoring.whatif import SurveyedHousehold
from shared.events.catalogue.monitoring import (
    AnnualSurvey,
    HouseholdMembersUpdated,
    HouseholdRegistered,
    HouseholdStatus,
    Member,
    MonitoredCategory,
    QuarterlySurvey,
    RiskType,
    Stage,
)
from shared.events.envelope import Envelope
from shared.events.registry import decode
from shared.eventstore.store import EventStore
from shared.http.listing import Listing, Page

# A procedure is open while a step is due: one of the enrolment or the elimination stages.
OPEN_STAGES = [s.value for s in (*ENROLMENT_STAGES, *ELIMINATION_STAGES)]


class HouseholdFilters(Listing):
    """Filters of the household list (with the paging and region scope of every list)."""

    village_code: str | None = Field(default=None, pattern=r"^\d{12}$")
    stage: Stage | None = None
    category: MonitoredCategory | None = None
    risk_type: RiskType | None = Field(default=None, description="Households whose risk types include it")
    status: HouseholdStatus | None = None
    flagged: bool | None = Field(
        default=None,
        description="In an open procedure (a step of enrolment or of risk elimination is due), or not",
    )


_COLUMNS = """
    household_id, village_code, status, members, stage, flag_id, flag_source, urgent, risk_types,
    rules, flagged_on, category, enrolled_on, contact_due_on, contact_name, contact_unit,
    contact_phone, assigned_on, measures, deliveries, delivered_yuan, eliminated_on,
    times_eliminated, last_followup_on, erased
"""
_FILTERED = """
    FROM monitoring_households
    WHERE village_code LIKE :region
      AND (CAST(:village_code AS text) IS NULL OR village_code = :village_code)
      AND (CAST(:stage AS text) IS NULL OR stage = :stage)
      AND (CAST(:category AS text) IS NULL OR category = :category)
      AND (CAST(:risk_type AS text) IS NULL OR risk_types @> ARRAY[CAST(:risk_type AS text)])
      AND (CAST(:status AS text) IS NULL OR status = :status)
      AND (CAST(:flagged AS boolean) IS NULL
           OR coalesce(stage = ANY(CAST(:open_stages AS text[])), false) = :flagged)
"""
_COUNT = text("SELECT count(*) " + _FILTERED)
_PAGE = text(f"SELECT {_COLUMNS} {_FILTERED} ORDER BY village_code, household_id LIMIT :limit OFFSET :offset")
_ONE = text(f"SELECT {_COLUMNS} FROM monitoring_households WHERE household_id = :household_id")
_SURVEYS = text(
    "SELECT period, kind, surveyed_on, survey FROM monitoring_surveys "
    "WHERE household_id = :household_id ORDER BY kind, period"
)
# What-if reads: quarterly surveys of the quarters asked for and of the year before them (the
# income-drop comparison), annual surveys of every year up to the last one; by household.
_SURVEY_HISTORIES = text(
    """
    SELECT household_id, village_code, period, kind, survey FROM monitoring_surveys
    WHERE village_code LIKE :region
      AND ((kind = 'quarterly' AND period BETWEEN :first_quarter AND :last_quarter)
           OR (kind = 'annual' AND period <= :last_year))
    ORDER BY household_id, period
    """
)
_REGION = "SELECT region_code FROM events WHERE stream_id = $1 AND stream_version = 1"


def _like(prefix: str) -> str:
    return prefix + "%"  # digits only (checked by the filters): no wildcard to escape


async def households(engine: AsyncEngine, f: HouseholdFilters, region: str) -> Page:
    params = {
        "region": _like(region),
        "village_code": f.village_code,
        "stage": f.stage.value if f.stage else None,
        "category": f.category.value if f.category else None,
        "risk_type": f.risk_type.value if f.risk_type else None,
        "status": f.status.value if f.status else None,
        "flagged": f.flagged,
        "open_stages": OPEN_STAGES,
    }
    # One snapshot for the total and the page, so they agree.
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            total = (await conn.execute(_COUNT, params)).scalar_one()
            paged = {**params, "limit": f.page_size, "offset": f.offset}
            rows = [household_item(dict(r)) for r in (await conn.execute(_PAGE, paged)).mappings()]
    return Page(rows, int(total))


async def household(engine: AsyncEngine, household_id: uuid.UUID) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        found = (await conn.execute(_ONE, {"household_id": household_id})).mappings().first()
    return household_item(dict(found)) if found is not None else None


def household_item(row: dict[str, Any]) -> dict[str, Any]:
    """A projection row in the API's shape: the open flag and the contact as objects."""
    flag_id, source = row.pop("flag_id"), row.pop("flag_source")
    urgent, rules, flagged_on = row.pop("urgent"), row.pop("rules"), row.pop("flagged_on")
    row["flag"] = (
        None
        if flag_id is None
        else {
            "flag_id": flag_id,
            "source": source,
            "urgent": urgent,
            "rules": rules,
            "flagged_on": flagged_on,
        }
    )
    contact = {key: row.pop(f"contact_{key}") for key in ("name", "unit", "phone")}
    assigned_on = row.pop("assigned_on")
    row["contact"] = None if contact["name"] is None else {**contact, "assigned_on": assigned_on}
    row["flagged"] = row["stage"] in OPEN_STAGES
    return row


async def surveys(engine: AsyncEngine, household_id: uuid.UUID) -> list[dict[str, Any]]:
    """The household's surveys, the latest correction of each period: annual by year, then quarterly."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_SURVEYS, {"household_id": household_id})).mappings().all()
    return [
        {"period": r["period"], "kind": r["kind"], "surveyed_on": r["surveyed_on"], r["kind"]: r["survey"]}
        for r in rows
    ]


@dataclass(frozen=True)
class StoredSurveys:
    """A household's survey rows as stored: (period, kind, survey as JSON), by period."""

    household_id: uuid.UUID
    village_code: str
    rows: list[tuple[str, str, dict[str, Any]]]


def surveyed_household(stored: StoredSurveys) -> SurveyedHousehold:
    quarterly: dict[str, QuarterlySurvey] = {}
    annual: dict[int, AnnualSurvey] = {}
    for period, kind, survey in stored.rows:
        if kind == "quarterly":
            quarterly[period] = QuarterlySurvey.model_validate(survey)
        else:
            annual[int(period)] = AnnualSurvey.model_validate(survey)
    return SurveyedHousehold(stored.household_id, stored.village_code, quarterly, annual)


async def survey_batches(
    engine: AsyncEngine, region: str, first_quarter: str, last_quarter: str, households: int = 500
) -> AsyncIterator[list[StoredSurveys]]:
    """The stored surveys what-if needs, grouped by household, ``households`` at a time (streamed:
    a county's surveys need not fit in memory at once). ``first_quarter`` includes the
    comparison year. The read is one snapshot, read-only: it holds back no writer."""
    params = {
        "region": _like(region),
        "first_quarter": first_quarter,
        "last_quarter": last_quarter,
        "last_year": last_quarter[:4],
    }
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ", yield_per=2000)
        async with conn.begin():
            result = await conn.stream(_SURVEY_HISTORIES, params)
            batch: list[StoredSurveys] = []
            current: StoredSurveys | None = None
            async for row in result:
                if current is None or current.household_id != row.household_id:
                    if len(batch) >= households:
                        yield batch
                        batch = []
                    current = StoredSurveys(row.household_id, row.village_code, [])
                    batch.append(current)
                current.rows.append((row.period, row.kind, row.survey))
            if batch:
                yield batch


# --- the household's stream: its region, its personal fields, its history -----------------


async def household_region(store: EventStore, household_id: uuid.UUID) -> str | None:
    """The household's village as its stream says (no projection lag); None when not registered."""
    async with store.pool.acquire() as conn:
        region: str | None = await conn.fetchval(_REGION, household_stream(household_id))
    return region


async def household_by_digest(store: EventStore, digest: bytes) -> uuid.UUID | None:
    async with store.pool.acquire() as conn:
        found = await keys.find_households(conn, [digest])
    return found.get(digest)


@dataclass(frozen=True)
class Personal:
    """A household's personal fields as the caller may see them; None everywhere once erased."""

    erased: bool
    head_name: str | None
    phone: str | None
    members: list[dict[str, Any]]


def mask_phone(value: str) -> str:
    """``139****0001``: the first three and last four digits of a phone number."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


async def personal(
    store: EventStore, masters: MasterKeys, household_id: uuid.UUID, *, in_full: bool
) -> Personal:
    """The members as the latest registration or member update left them, unsealed with the
    household's key; ID numbers and the phone masked unless ``in_full``."""
    envelopes = await store.load(household_stream(household_id))
    latest: HouseholdRegistered | HouseholdMembersUpdated | None = None
    for envelope in envelopes:
        if envelope.type in (HouseholdRegistered.event_type, HouseholdMembersUpdated.event_type):
            event = decode(envelope)
            assert isinstance(event, HouseholdRegistered | HouseholdMembersUpdated)
            latest = event
    async with store.pool.acquire() as conn:
        key = (await keys.fetch_keys(conn, masters, [household_id])).get(household_id)
    if latest is None:
        return Personal(erased=key is None, head_name=None, phone=None, members=[])
    try:
        household_fields = unseal(key, household_id, latest.sealed)
        sealed = [unseal(key, household_id, m.sealed) for m in latest.members]
    except Unreadable:
        return Personal(
            erased=True,
            head_name=None,
            phone=None,
            members=[_member(m, None, in_full) for m in latest.members],
        )
    members = [_member(m, fields, in_full) for m, fields in zip(latest.members, sealed, strict=True)]
    phone = household_fields.get("phone")
    return Personal(
        erased=False,
        head_name=next((m["name"] for m in members if m["relation"] == "head"), None),
        phone=None if phone is None else phone if in_full else mask_phone(phone),
        members=members,
    )


def _member(member: Member, fields: dict[str, Any] | None, in_full: bool) -> dict[str, Any]:
    row = member.model_dump(exclude={"sealed"})
    id_number = None if fields is None else fields["id_number"]
    row["name"] = None if fields is None else fields["name"]
    row["id_number"] = None if id_number is None else id_number if in_full else mask_id(id_number)
    return row


async def history(store: EventStore, household_id: uuid.UUID) -> list[dict[str, Any]]:
    """The household's events in order, every sealed field left out."""
    return [_entry(envelope) for envelope in await store.load(household_stream(household_id))]


def _entry(envelope: Envelope) -> dict[str, Any]:
    return {
        "stream_version": envelope.stream_version,
        "type": envelope.type,
        "occurred_at": envelope.occurred_at,
        "recorded_at": envelope.recorded_at,
        "actor_role": envelope.actor.role,
        "data": without_sealed(envelope.data),
    }


def without_sealed(value: Any) -> Any:
    """``value`` with every key named ``sealed`` dropped, at any depth."""
    if isinstance(value, dict):
        return {k: without_sealed(v) for k, v in value.items() if k != "sealed"}
    if isinstance(value, list):
        return [without_sealed(v) for v in value]
    return value
