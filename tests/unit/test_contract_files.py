"""The committed contract (docs/events.md, docs/asyncapi.json, schemas/*) is what the models
generate, and the lock of published schema versions lists every model.

When this fails, run ``xingcun contract`` (or ``make contract``) and commit the result: the
public event contract changed, and downstream systems read these files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.events.asyncapi import envelope_name, subject_template
from shared.events.compat import lock_key
from shared.events.contract import ASYNCAPI, LOCK, contract_files
from shared.events.docs import schema_file
from shared.events.registry import all_models

REPO = Path(__file__).resolve().parents[2]
GENERATED = contract_files(REPO)


@pytest.mark.parametrize("relative", sorted(GENERATED))
def test_committed_file_equals_generated(relative: str) -> None:
    path = REPO / relative
    assert path.exists(), f"{relative} is missing: run `xingcun contract`"
    assert path.read_text() == GENERATED[relative], f"{relative} is stale: run `xingcun contract`"


def test_no_schema_file_without_a_model() -> None:
    committed = {f"schemas/{p.name}" for p in (REPO / "schemas").glob("*.json")}
    stale = committed - set(GENERATED)
    assert not stale, f"schemas without a model (remove them or restore the model): {stale}"


def test_every_model_has_a_schema_and_a_section() -> None:
    markdown = GENERATED["docs/events.md"]
    for model in all_models():
        assert f"schemas/{schema_file(model)}" in GENERATED
        assert f"## `{model.event_type}` (schema_version {model.schema_version})" in markdown


def test_schemas_are_valid_json_describing_the_data() -> None:
    envelope = json.loads(GENERATED["schemas/envelope.json"])
    assert {"event_id", "type", "schema_version", "stream_id", "stream_version", "data"} <= set(
        envelope["required"]
    )
    signed = json.loads(GENERATED["schemas/pairing.agreement_signed.v1.json"])
    assert signed["title"] == "pairing.agreement_signed v1 (data)"
    assert signed["additionalProperties"] is False
    assert "agreement_id" in signed["required"] and "commitments" in signed["properties"]


def test_the_asyncapi_document_has_a_channel_per_event_type_with_its_envelope() -> None:
    document = json.loads(GENERATED[ASYNCAPI])
    assert document["asyncapi"] == "3.0.0"
    channels, schemas = document["channels"], document["components"]["schemas"]
    assert set(channels) == {m.event_type for m in all_models()}
    for model in all_models():
        channel = channels[model.event_type]
        assert channel["address"] == subject_template(model.event_type)
        assert set(channel["parameters"]) == {"province", "city", "county"}
        operation = document["operations"][model.event_type]
        assert operation["action"] == "send"
        envelope = schemas[envelope_name(model)]
        assert envelope["properties"]["type"]["const"] == model.event_type
        assert envelope["properties"]["schema_version"]["const"] == model.schema_version
        data_ref = envelope["properties"]["data"]["$ref"]
        data = schemas[data_ref.rsplit("/", 1)[-1]]
        assert set(data["properties"]) == set(model.model_fields)
    signed = channels["pairing.agreement_signed"]
    assert signed["address"] == "xingcun.{province}.{city}.{county}.pairing.agreement_signed"
    assert "PAIRING" in signed["description"]


def test_the_lock_has_an_entry_per_model() -> None:
    lock = json.loads(GENERATED[LOCK])
    assert {lock_key(m.event_type, m.schema_version) for m in all_models()} <= set(lock)


def test_generation_is_deterministic() -> None:
    assert contract_files(REPO) == GENERATED
