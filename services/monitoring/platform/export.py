"""The monitored households of a region in the documented export layout, page by page.

From the read model ``monitoring_households`` (one row per household), with the head's name and
ID number unsealed from the household's latest member list. A page is read with keyset paging
(no transaction held while the file is sent); an erased household's personal columns are empty
and marked. ID numbers are masked unless the caller may see them (the ``platform`` role).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any

from openpyxl import Workbook

from services.monitoring import keys
from services.monitoring.domain import household_stream
from services.monitoring.personal import MasterKeys, Unreadable, mask_id, unseal
from services.monitoring.platform.layout import (
    CATEGORY_NAMES,
    ERASED_MARK,
    EXPORT_HEADERS,
    LIST_SEPARATOR,
    MEASURE_NAMES,
    RISK_NAMES,
    SOURCE_NAMES,
    STAGE_NAMES,
    STATUS_NAMES,
)
from shared.events.catalogue.monitoring import HouseholdMembersUpdated, HouseholdRegistered
from shared.events.envelope import Envelope
from shared.eventstore.store import EventStore

PAGE_ROWS = 1_000
_MEMBER_EVENTS = (HouseholdRegistered.event_type, HouseholdMembersUpdated.event_type)
_PAGE = """
    SELECT household_id, village_code, status, members, stage, category, risk_types, flag_source,
           flagged_on, enrolled_on, contact_name, contact_unit, contact_phone, measures, deliveries,
           delivered_yuan, eliminated_on, erased
    FROM monitoring_households
    WHERE village_code LIKE $1 AND stage IS NOT NULL AND ($2 OR stage <> 'eliminated')
      AND (village_code, household_id) > ($3, $4)
    ORDER BY village_code, household_id
    LIMIT $5
"""


@dataclass(frozen=True)
class ExportRequest:
    region: str  # a division-code prefix (digits only: it goes into LIKE)
    include_eliminated: bool
    reveal_ids: bool  # the platform role sees ID numbers in clear; everyone else masked


@dataclass(frozen=True)
class Head:
    name: str
    id_number: str


async def pages(
    store: EventStore, masters: MasterKeys, request: ExportRequest, page_rows: int = PAGE_ROWS
) -> AsyncIterator[list[list[str]]]:
    """The export's rows (without the header), a page at a time, ordered by village and household."""
    after: tuple[str, uuid.UUID] = ("", uuid.UUID(int=0))
    while True:
        async with store.session() as session:
            records = await session.conn.fetch(
                _PAGE, request.region + "%", request.include_eliminated, *after, page_rows
            )
            if not records:
                return
            ids = [record["household_id"] for record in records]
            loaded = await session.load_many(household_stream(hid) for hid in ids)
            household_keys = await keys.fetch_keys(session.conn, masters, ids)
        heads = {hid: head_of(hid, loaded[household_stream(hid)], household_keys.get(hid)) for hid in ids}
        yield [export_row(record, heads[record["household_id"]], request.reveal_ids) for record in records]
        if len(records) < page_rows:
            return
        after = (records[-1]["village_code"], records[-1]["household_id"])


def head_of(household_id: uuid.UUID, history: Iterable[Envelope], key: bytes | None) -> Head | None:
    """The head's name and ID number from the latest member list; None when erased (no key)."""
    members: list[dict[str, Any]] = []
    for envelope in history:
        if envelope.type in _MEMBER_EVENTS:
            members = envelope.data["members"]
    head = next((m for m in members if m["relation"] == "head"), None)
    if head is None or key is None:
        return None
    try:
        fields = unseal(key, household_id, head["sealed"])
    except Unreadable:
        return None
    return Head(fields["name"], fields["id_number"])


def export_row(record: Mapping[str, Any], head: Head | None, reveal_ids: bool) -> list[str]:
    erased = head is None or bool(record["erased"])
    if erased or head is None:
        name, id_number = "", ""
    else:
        name, id_number = head.name, head.id_number if reveal_ids else mask_id(head.id_number)
    return [
        str(record["household_id"]),
        record["village_code"],
        name,
        id_number,
        _named(STATUS_NAMES, record["status"]),
        str(record["members"]),
        _named(STAGE_NAMES, record["stage"]),
        _named(CATEGORY_NAMES, record["category"]),
        LIST_SEPARATOR.join(_named(RISK_NAMES, r) for r in record["risk_types"] or ()),
        _named(SOURCE_NAMES, record["flag_source"]),
        _day(record["flagged_on"]),
        _day(record["enrolled_on"]),
        record["contact_name"] or "",
        record["contact_unit"] or "",
        record["contact_phone"] or "",
        LIST_SEPARATOR.join(_named(MEASURE_NAMES, m) for m in record["measures"] or ()),
        str(record["deliveries"] or 0),
        f"{record['delivered_yuan'] or 0:.2f}",
        _day(record["eliminated_on"]),
        ERASED_MARK if erased else "",
    ]


def _named(names: Mapping[Any, str], value: str | None) -> str:
    if value is None:
        return ""
    for member, name in names.items():
        if isinstance(member, Enum) and member.value == value:
            return name
    return value


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


async def csv_chunks(rows: AsyncIterator[list[list[str]]]) -> AsyncIterator[bytes]:
    """UTF-8 with a BOM (spreadsheets then read the Chinese headers right), a page per chunk."""
    yield "\ufeff".encode() + _csv_lines([EXPORT_HEADERS])
    async for page in rows:
        yield _csv_lines(page)


def _csv_lines(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


def xlsx_file(rows: list[list[str]]) -> bytes:
    """Every cell text, so that codes and ID numbers keep all their digits."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("监测户")
    sheet.append(EXPORT_HEADERS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
