"""The envelope, the registry of event types (with upcasting), and subjects."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from shared.events import registry
from shared.events.catalogue.pairing import AgreementSigned, Mode, Pathway, VillageRegistered
from shared.events.envelope import Actor, Envelope, EventData
from shared.events.registry import (
    UnknownEventType,
    all_models,
    decode,
    event,
    latest_version,
    model_for,
    upcaster,
)
from shared.events.subjects import region_filter, stream_for, subject_for
from shared.eventstore.context import CommandContext, wrap
from shared.settings import Settings

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ACTOR = Actor(id="u-17", role="federation_officer", region_code="150602")


def envelope(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "type": "pairing.village_registered",
        "schema_version": 1,
        "stream_id": "village-150602103201",
        "stream_version": 1,
        "region_code": "150602103201",
        "occurred_at": "2026-11-23T08:00:00Z",
        "recorded_at": "2026-11-23T08:00:00.123Z",
        "actor": {"id": "u-17", "role": "village_officer", "region_code": "150602103201"},
        "correlation_id": "c-1",
        "causation_id": None,
        "data": {"village_code": "150602103201", "name": "村", "category": "key_support"},
    }
    body.update(overrides)
    return body


# -- envelope ----------------------------------------------------------------------------------


def test_envelope_round_trips_through_json() -> None:
    parsed = Envelope.model_validate(envelope())
    again = Envelope.model_validate_json(parsed.model_dump_json())
    assert again == parsed
    assert parsed.service == "pairing"
    assert parsed.recorded_at.microsecond == 123000
    dumped = json.loads(parsed.model_dump_json())
    assert set(dumped) == {
        "event_id",
        "type",
        "schema_version",
        "stream_id",
        "stream_version",
        "region_code",
        "occurred_at",
        "recorded_at",
        "actor",
        "correlation_id",
        "causation_id",
        "data",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", "not-a-uuid"),
        ("type", "PairingAgreementSigned"),
        ("type", "pairing.agreement-signed"),
        ("schema_version", 0),
        ("stream_id", ""),
        ("stream_version", 0),
        ("region_code", "150602"),
        ("region_code", "000602103201"),
        ("occurred_at", "2026-11-23T08:00:00"),  # naive: times are aware UTC
        ("recorded_at", "yesterday"),
        ("actor", {"id": "u-1"}),
        ("data", "not an object"),
    ],
)
def test_envelope_refuses_bad_fields(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as invalid:
        Envelope.model_validate(envelope(**{field: value}))
    assert invalid.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize("missing", ["event_id", "type", "stream_version", "actor", "data"])
def test_envelope_requires_its_fields(missing: str) -> None:
    body = envelope()
    del body[missing]
    with pytest.raises(ValidationError):
        Envelope.model_validate(body)


def test_envelope_is_frozen() -> None:
    parsed = Envelope.model_validate(envelope())
    with pytest.raises(ValidationError):
        parsed.stream_version = 2  # type: ignore[misc]


def test_wrap_numbers_events_after_the_loaded_version() -> None:
    ctx = CommandContext(actor=ACTOR, now=NOW, correlation_id="corr-1", causation_id="cause-1")
    events = [
        VillageRegistered(village_code="150602103201", name="村", category="key_support"),
        VillageRegistered(village_code="150602103201", name="村2", category="key_support"),
    ]
    wrapped = wrap(ctx, "village-150602103201", 4, "150602103201", events)
    assert [e.stream_version for e in wrapped] == [5, 6]
    assert len({e.event_id for e in wrapped}) == 2
    assert all(e.event_id.version == 7 for e in wrapped)  # time-ordered ids
    first = wrapped[0]
    assert first.type == "pairing.village_registered" and first.schema_version == 1
    assert (first.occurred_at, first.recorded_at) == (NOW, NOW)
    assert (first.correlation_id, first.causation_id) == ("corr-1", "cause-1")
    assert first.actor == ACTOR
    assert first.data["name"] == "村"
    assert decode(first) == events[0]


# -- registry ----------------------------------------------------------------------------------


def test_catalogue_models_are_registered_and_decode() -> None:
    assert model_for("pairing.agreement_signed", 1) is AgreementSigned
    assert latest_version("pairing.agreement_signed") == 1
    types = {(m.event_type, m.schema_version) for m in all_models()}
    assert {
        ("pairing.enterprise_registered", 1),
        ("pairing.village_registered", 1),
        ("pairing.agreement_signed", 1),
    } <= types
    data = {
        "agreement_id": str(uuid.uuid4()),
        "enterprise_id": str(uuid.uuid4()),
        "village_code": "150602103201",
        "signed_on": "2026-11-01",
        "term_years": 3,
        "document_ref": "XC-1",
        "pathways": ["industry"],
        "mode": "order_farming",
        "commitments": {"investment_yuan": "1500000.00", "jobs": 3},
    }
    decoded = decode(Envelope.model_validate(envelope(type="pairing.agreement_signed", data=data)))
    assert isinstance(decoded, AgreementSigned)
    assert decoded.signed_on == date(2026, 11, 1)
    assert decoded.pathways == [Pathway.industry] and decoded.mode is Mode.order_farming
    # Public event data refuses unknown fields rather than dropping them silently.
    with pytest.raises(ValidationError):
        decode(Envelope.model_validate(envelope(type="pairing.agreement_signed", data={**data, "extra": 1})))


def test_unknown_types_and_versions_are_refused() -> None:
    with pytest.raises(UnknownEventType):
        model_for("pairing.nothing_happened", 1)
    with pytest.raises(UnknownEventType):
        model_for("pairing.agreement_signed", 99)
    with pytest.raises(UnknownEventType):
        latest_version("pairing.nothing_happened")
    with pytest.raises(UnknownEventType):
        decode(Envelope.model_validate(envelope(type="pairing.nothing_happened")))


TYPE = "testonly.widget_made"


@pytest.fixture
def widget_models() -> Iterator[tuple[type[EventData], type[EventData]]]:
    """A throwaway event type in two schema versions, removed from the registry afterwards."""

    @event(TYPE, schema_version=1)
    class WidgetMadeV1(EventData):
        colour: str

    @event(TYPE, schema_version=2)
    class WidgetMadeV2(EventData):
        colours: list[str]
        size_mm: int

    @upcaster(TYPE, from_version=1)
    def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        return {"colours": [data["colour"]], "size_mm": 0}

    try:
        yield WidgetMadeV1, WidgetMadeV2
    finally:
        for version in (1, 2):
            registry._MODELS.pop((TYPE, version), None)
            registry._UPCASTERS.pop((TYPE, version), None)
        registry._LATEST.pop(TYPE, None)


def test_upcaster_reads_an_old_shape_as_the_new_one(
    widget_models: tuple[type[EventData], type[EventData]],
) -> None:
    v1, v2 = widget_models
    assert (v1.event_type, v1.schema_version) == (TYPE, 1)
    assert (v2.event_type, v2.schema_version) == (TYPE, 2)
    assert latest_version(TYPE) == 2

    # Written as v1 (e.g. years ago, still in the stream) ...
    old = wrap(
        CommandContext(actor=ACTOR, now=NOW, correlation_id="c"),
        "widget-1",
        0,
        "150602103201",
        [v1(colour="red")],
    )[0]
    assert old.schema_version == 1 and old.data == {"colour": "red"}
    # ... stored and published as JSON, read back, and decoded as the latest version.
    read_back = Envelope.model_validate_json(old.model_dump_json())
    decoded = decode(read_back)
    assert isinstance(decoded, v2)
    assert decoded == v2(colours=["red"], size_mm=0)

    # A current event decodes as itself, untouched.
    new = read_back.model_copy(update={"schema_version": 2, "data": {"colours": ["a", "b"], "size_mm": 5}})
    assert decode(new) == v2(colours=["a", "b"], size_mm=5)
    # The old model stays readable on its own (the contract keeps documenting it).
    assert model_for(TYPE, 1) is v1


def test_without_an_upcaster_the_old_version_decodes_as_itself(
    widget_models: tuple[type[EventData], type[EventData]],
) -> None:
    v1, _ = widget_models
    registry._UPCASTERS.pop((TYPE, 1))
    decoded = decode(Envelope.model_validate(envelope(type=TYPE, data={"colour": "blue"})))
    assert decoded == v1(colour="blue")


def test_a_type_version_cannot_be_registered_twice(
    widget_models: tuple[type[EventData], type[EventData]],
) -> None:
    with pytest.raises(ValueError, match="registered twice"):

        @event(TYPE, schema_version=1)
        class Again(EventData):
            pass


def test_throwaway_models_leave_the_catalogue_clean() -> None:
    assert all(m.event_type != TYPE for m in all_models())


# -- subjects ----------------------------------------------------------------------------------


def nats_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` one token, ``>`` one or more trailing tokens."""
    p, s = pattern.split("."), subject.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or (token != "*" and token != s[i]):
            return False
    return len(p) == len(s)


def test_subject_carries_province_city_county_and_type() -> None:
    subject = subject_for("xingcun", "150602103201", "monitoring.household_flagged")
    assert subject == "xingcun.15.1506.150602.monitoring.household_flagged"
    assert subject_for("t1", "150602000000", "pairing.enterprise_registered") == (
        "t1.15.1506.150602.pairing.enterprise_registered"
    )


def test_region_filters() -> None:
    assert region_filter("xingcun", "15") == "xingcun.15.*.*.*.>"
    assert region_filter("xingcun", "1506") == "xingcun.15.1506.*.*.>"
    assert region_filter("xingcun", "150602") == "xingcun.15.1506.150602.*.>"
    assert region_filter("xingcun", "150602103201") == "xingcun.15.1506.150602.*.>"
    assert region_filter("xingcun", "") == "xingcun.*.*.*.*.>"
    assert (
        region_filter("xingcun", "", service="pairing", event="agreement_signed")
        == "xingcun.*.*.*.pairing.agreement_signed"
    )
    assert region_filter("xingcun", "15", service="monitoring") == "xingcun.15.*.*.monitoring.>"


@pytest.mark.parametrize(
    ("prefix", "takes"),
    [
        ("", {"county", "city", "province"}),
        ("15", {"county", "city"}),
        ("1506", {"county"}),
        ("150602", set()),
    ],
)
def test_region_filter_takes_exactly_the_region(prefix: str, takes: set[str]) -> None:
    pattern = region_filter("xingcun", prefix)
    assert nats_matches(pattern, subject_for("xingcun", "150602103201", "pairing.agreement_signed"))
    neighbours = {
        "county": "150603103201",
        "city": "150702103201",
        "province": "140602103201",
    }
    for name, code in neighbours.items():
        subject = subject_for("xingcun", code, "pairing.agreement_signed")
        assert nats_matches(pattern, subject) == (name in takes), (pattern, subject)
    other_root = subject_for("other", "150602103201", "pairing.agreement_signed")
    assert not nats_matches(pattern, other_root)


def test_service_and_event_filters() -> None:
    signed = subject_for("xingcun", "150602103201", "pairing.agreement_signed")
    flagged = subject_for("xingcun", "150602103201", "monitoring.household_flagged")
    pairing_only = region_filter("xingcun", "15", service="pairing")
    assert nats_matches(pairing_only, signed) and not nats_matches(pairing_only, flagged)
    one_event = region_filter("xingcun", "", service="pairing", event="agreement_signed")
    assert nats_matches(one_event, signed)
    assert not nats_matches(one_event, subject_for("xingcun", "150602103201", "pairing.village_registered"))


def test_each_service_stream_takes_its_own_subjects() -> None:
    settings = Settings(subject_root="t9", stream_prefix="T9_", auth_secret="x")
    pairing = stream_for(settings, "pairing")
    monitoring = stream_for(settings, "monitoring")
    assert pairing.name == "T9_PAIRING" and monitoring.name == "T9_MONITORING"
    assert pairing.subjects == ["t9.*.*.*.pairing.>"]
    assert pairing.duplicate_window_s >= 120  # DESIGN §2: at least 2 minutes
    signed = subject_for("t9", "150602103201", "pairing.agreement_signed")
    assert nats_matches(pairing.subjects[0], signed)
    assert not nats_matches(monitoring.subjects[0], signed)
