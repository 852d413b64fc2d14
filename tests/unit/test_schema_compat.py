"""A published ``schema_version`` stays readable: every model still has each field its entry in
``schemas/published.lock.json`` lists, with the same type, and requires nothing new.

When the first test fails, the change breaks consumers of events already published: put it in a
new ``schema_version`` (a new model registered with ``@event(type, 2)`` and an upcaster from 1)
instead of changing the old one. Never edit a lock entry to make the test pass; an entry for a
version that was never released may be deleted by hand before ``xingcun contract``.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.events.compat import (
    breaking_changes,
    extended_lock,
    lock_entry,
    lock_key,
    model_fields,
)
from shared.events.contract import LOCK
from shared.events.envelope import EventData
from shared.events.registry import all_models

REPO = Path(__file__).resolve().parents[2]


def test_no_model_breaks_a_published_schema_version() -> None:
    lock = json.loads((REPO / LOCK).read_text())
    breaks = breaking_changes(lock, all_models())
    assert not breaks, "published schema versions broken:\n" + "\n".join(map(str, breaks))


# -- the checker itself, on synthetic models ---------------------------------------------------


class Terms(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    investment_yuan: Decimal = Decimal(0)
    jobs: int = 0


class Published(EventData):
    """What was published as test.thing_happened v1."""

    event_type: ClassVar[str] = "test.thing_happened"
    thing_id: uuid.UUID
    happened_on: date
    count: int
    note: str | None = None
    terms: Terms
    tags: list[str] = Field(default_factory=list)


class Contact(BaseModel):
    phone: str


LOCK_V1 = extended_lock({}, [Published])


def _breaks(model: type[EventData]) -> list[str]:
    return [str(b) for b in breaking_changes(LOCK_V1, [model])]


def test_the_unchanged_model_passes() -> None:
    assert _breaks(Published) == []


def test_a_removed_field_is_named_with_the_event_and_version() -> None:
    class Removed(EventData):
        event_type: ClassVar[str] = "test.thing_happened"
        thing_id: uuid.UUID
        happened_on: date
        note: str | None = None
        terms: Terms
        tags: list[str] = Field(default_factory=list)

    assert _breaks(Removed) == ["test.thing_happened v1: field `count` was removed"]


def test_a_retyped_field_is_named_with_both_types() -> None:
    class Retyped(EventData):
        event_type: ClassVar[str] = "test.thing_happened"
        thing_id: uuid.UUID
        happened_on: str  # was a date
        count: int
        note: str | None = None
        terms: Terms
        tags: list[int] = Field(default_factory=list)  # was a list of strings

    assert _breaks(Retyped) == [
        "test.thing_happened v1: field `happened_on` changed type from string(date) to string",
        "test.thing_happened v1: field `tags` changed type from array<string> to array<integer>",
    ]


def test_a_retyped_or_removed_nested_field_is_named_by_its_path() -> None:
    class OtherTerms(BaseModel):
        investment_yuan: Decimal = Decimal(0)
        jobs: str = "0"

    class Nested(EventData):
        event_type: ClassVar[str] = "test.thing_happened"
        thing_id: uuid.UUID
        happened_on: date
        count: int
        note: str | None = None
        terms: OtherTerms
        tags: list[str] = Field(default_factory=list)

    class Flattened(EventData):
        event_type: ClassVar[str] = "test.thing_happened"
        thing_id: uuid.UUID
        happened_on: date
        count: int
        note: str | None = None
        terms: dict[str, str]
        tags: list[str] = Field(default_factory=list)

    assert _breaks(Nested) == [
        "test.thing_happened v1: field `terms.jobs` changed type from integer to string"
    ]
    assert _breaks(Flattened) == [
        "test.thing_happened v1: field `terms` changed type from object to map<string>",
        "test.thing_happened v1: field `terms.investment_yuan` was removed",
        "test.thing_happened v1: field `terms.jobs` was removed",
    ]


def test_an_added_optional_field_passes_and_an_added_required_one_does_not() -> None:
    class Optional_(EventData):
        event_type: ClassVar[str] = "test.thing_happened"
        thing_id: uuid.UUID
        happened_on: date
        count: int
        note: str | None = None
        terms: Terms
        tags: list[str] = Field(default_factory=list)
        village_code: str | None = None
        contact: Contact | None = None  # new and optional: its own required field does not matter

    class Required(EventData):
        event_type: ClassVar[str] = "test.thing_happened"
        thing_id: uuid.UUID
        happened_on: date
        count: int
        note: str | None = None
        terms: Terms
        tags: list[str] = Field(default_factory=list)
        village_code: str

    assert _breaks(Optional_) == []
    assert _breaks(Required) == [
        "test.thing_happened v1: field `village_code` was added as required "
        "(only optional fields may be added)"
    ]


def test_making_a_field_nullable_or_required_breaks_it() -> None:
    class Loosened(EventData):
        event_type: ClassVar[str] = "test.thing_happened"
        thing_id: uuid.UUID
        happened_on: date
        count: int | None
        note: str
        terms: Terms
        tags: list[str] = Field(default_factory=list)

    assert _breaks(Loosened) == [
        "test.thing_happened v1: field `count` changed type from integer to integer | null",
        "test.thing_happened v1: field `note` changed type from null | string to string",
        "test.thing_happened v1: field `note` became required (events published without it would not read)",
    ]


def test_a_new_schema_version_is_fine_and_a_dropped_one_is_not() -> None:
    class Second(EventData):
        event_type: ClassVar[str] = "test.thing_happened"
        schema_version: ClassVar[int] = 2
        thing_id: uuid.UUID
        happened_on: str

    assert [str(b) for b in breaking_changes(LOCK_V1, [Published, Second])] == []
    assert [str(b) for b in breaking_changes(LOCK_V1, [Second])] == [
        "test.thing_happened v1: has no model any more (keep it registered: old events stay readable)"
    ]


def test_the_lock_is_only_ever_extended() -> None:
    class Changed(EventData):
        event_type: ClassVar[str] = "test.thing_happened"
        thing_id: uuid.UUID

    class Second(EventData):
        event_type: ClassVar[str] = "test.thing_happened"
        schema_version: ClassVar[int] = 2
        thing_id: uuid.UUID

    lock = extended_lock(LOCK_V1, [Changed, Second])
    assert lock["test.thing_happened.v1"] == LOCK_V1["test.thing_happened.v1"] == lock_entry(Published)
    assert lock[lock_key("test.thing_happened", 2)]["fields"] == model_fields(Second)


def test_the_entry_lists_nested_fields_with_types_and_required_ness() -> None:
    assert model_fields(Published) == {
        "thing_id": {"type": "string(uuid)", "required": True},
        "happened_on": {"type": "string(date)", "required": True},
        "count": {"type": "integer", "required": True},
        "note": {"type": "null | string", "required": False},
        "terms": {"type": "object", "required": True},
        "terms.investment_yuan": {"type": "number | string", "required": False},
        "terms.jobs": {"type": "integer", "required": False},
        "tags": {"type": "array<string>", "required": False},
    }
