"""The committed contract (docs/events.md, schemas/*) is what the models generate.

When this fails, run ``xingcun contract`` (or ``make contract``) and commit the result: the
public event contract changed, and downstream systems read these files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.events.docs import contract_files, schema_file
from shared.events.registry import all_models

REPO = Path(__file__).resolve().parents[2]
GENERATED = contract_files()


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


def test_generation_is_deterministic() -> None:
    assert contract_files() == GENERATED
