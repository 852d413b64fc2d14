"""Reads of the directory: list filters and the SQL answering them (a filter left out binds NULL).

Recipients are listed when their region lies inside the region read. Rules are listed when they
can apply there: their prefix lies inside the region read, or covers it (a province's rule applies
to each of its counties, and a county officer sees it).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.auth import Role
from shared.events.catalogue.notification import ChannelKind
from shared.http.listing import Listing, Page


class RecipientFilters(Listing):
    role: Role | None = None
    active: bool | None = None
    channel: ChannelKind | None = Field(default=None, description="Has a channel of this kind")


class RuleFilters(Listing):
    on_event: str | None = Field(default=None, max_length=100, description="Exactly this type (or `*`)")
    role: Role | None = Field(default=None, description="Rules reaching this role")
    active: bool | None = None


_RECIPIENT_COLUMNS = "recipient_id, name, role, region_code, channels, active, enterprise_id, version"
_RECIPIENT_SOURCE = """
    FROM recipients
    WHERE region_code LIKE :region
      AND (CAST(:role AS text) IS NULL OR role = :role)
      AND (CAST(:active AS boolean) IS NULL OR active = :active)
      AND (CAST(:channel AS jsonb) IS NULL OR channels @> CAST(:channel AS jsonb))
"""
_RULE_COLUMNS = (
    'rule_id, on_event, region_prefix, roles, channels, active, parties, condition AS "where", version'
)
_RULE_SOURCE = """
    FROM routing_rules
    WHERE (region_prefix LIKE :region OR :scope LIKE region_prefix || '%')
      AND (CAST(:on_event AS text) IS NULL OR on_event = :on_event)
      AND (CAST(:role AS jsonb) IS NULL OR roles @> CAST(:role AS jsonb))
      AND (CAST(:active AS boolean) IS NULL OR active = :active)
"""
_RECIPIENTS = (
    text("SELECT count(*) " + _RECIPIENT_SOURCE),
    text(f"SELECT {_RECIPIENT_COLUMNS} {_RECIPIENT_SOURCE} ORDER BY region_code, name, recipient_id "
         "LIMIT :limit OFFSET :offset"),
)  # fmt: skip
_RULES = (
    text("SELECT count(*) " + _RULE_SOURCE),
    text(f"SELECT {_RULE_COLUMNS} {_RULE_SOURCE} ORDER BY region_prefix, on_event, rule_id "
         "LIMIT :limit OFFSET :offset"),
)  # fmt: skip


async def _page(
    engine: AsyncEngine, statements: tuple[TextClause, TextClause], f: Listing, params: dict[str, Any]
) -> Page:
    count, page = statements
    # One snapshot for the total and the page, so they agree.
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            total = (await conn.execute(count, params)).scalar_one()
            paging = {**params, "limit": f.page_size, "offset": f.offset}
            rows = [dict(r) for r in (await conn.execute(page, paging)).mappings()]
    return Page(rows, int(total))


async def recipients(engine: AsyncEngine, f: RecipientFilters, region: str) -> Page:
    params = {
        "region": region + "%",  # digits only (checked by the filters and the token): no wildcard
        "role": f.role.value if f.role else None,
        "active": f.active,
        "channel": json.dumps([{"kind": f.channel.value}]) if f.channel else None,
    }
    return await _page(engine, _RECIPIENTS, f, params)


async def rules(engine: AsyncEngine, f: RuleFilters, region: str) -> Page:
    params = {
        "region": region + "%",
        "scope": region,
        "on_event": f.on_event,
        "role": json.dumps([f.role.value]) if f.role else None,
        "active": f.active,
    }
    return await _page(engine, _RULES, f, params)


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its first try, or for the next one after a failure
    sending = "sending"  # a try is under way
    delivered = "delivered"
    failed = "failed"


class DeliveryFilters(Listing):
    recipient_id: uuid.UUID | None = None
    event_id: uuid.UUID | None = Field(default=None, description="The event told of (or the reminder's id)")
    event_type: str | None = Field(default=None, max_length=100, description="The type of the event told of")
    status: DeliveryStatus | None = None
    channel: ChannelKind | None = None
    since: datetime | None = Field(default=None, description="Routed at or after (ISO 8601 with a zone)")
    until: datetime | None = Field(default=None, description="Routed before")

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-06-20T08:00:00+08:00")
        return value


_DELIVERY_COLUMNS = """
    delivery_id, alert_id AS event_id, alert_type AS event_type, region_code, recipient_id,
    recipient_name, channel, address, status, attempts, failure, last_error,
    created_at, next_attempt_at, finished_at
"""
_DELIVERY_SOURCE = """
    FROM deliveries
    WHERE region_code LIKE :region
      AND (CAST(:recipient_id AS uuid) IS NULL OR recipient_id = :recipient_id)
      AND (CAST(:event_id AS uuid) IS NULL OR alert_id = :event_id)
      AND (CAST(:event_type AS text) IS NULL OR alert_type = :event_type)
      AND (CAST(:status AS text) IS NULL OR status = :status)
      AND (CAST(:channel AS text) IS NULL OR channel = :channel)
      AND (CAST(:since AS timestamptz) IS NULL OR created_at >= :since)
      AND (CAST(:until AS timestamptz) IS NULL OR created_at < :until)
"""
_DELIVERIES = (
    text("SELECT count(*) " + _DELIVERY_SOURCE),
    text(f"SELECT {_DELIVERY_COLUMNS} {_DELIVERY_SOURCE} ORDER BY created_at DESC, delivery_id "
         "LIMIT :limit OFFSET :offset"),
)  # fmt: skip
_DELIVERY = text(f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE delivery_id = :delivery_id")
_ATTEMPTS = text(
    "SELECT attempt, started_at, finished_at, outcome, error FROM delivery_attempts "
    "WHERE delivery_id = :delivery_id ORDER BY attempt"
)


async def deliveries(engine: AsyncEngine, f: DeliveryFilters, region: str) -> Page:
    params = {
        "region": region + "%",
        "recipient_id": f.recipient_id,
        "event_id": f.event_id,
        "event_type": f.event_type,
        "status": f.status.value if f.status else None,
        "channel": f.channel.value if f.channel else None,
        "since": f.since,
        "until": f.until,
    }
    return await _page(engine, _DELIVERIES, f, params)


async def delivery(engine: AsyncEngine, delivery_id: uuid.UUID) -> dict[str, Any] | None:
    """One delivery with each of its tries, or None."""
    async with engine.connect() as conn:
        row = (await conn.execute(_DELIVERY, {"delivery_id": delivery_id})).mappings().first()
        if row is None:
            return None
        tries = (await conn.execute(_ATTEMPTS, {"delivery_id": delivery_id})).mappings()
        return {**row, "tries": [dict(t) for t in tries]}
