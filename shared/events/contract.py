"""Every file of the public event contract, as ``xingcun contract`` writes it: docs/events.md, a
JSON Schema per event, the AsyncAPI document, and the lock of published schema versions."""

from __future__ import annotations

import json
from pathlib import Path

from shared.events.asyncapi import asyncapi_json
from shared.events.compat import extended_lock, lock_json, read_lock
from shared.events.docs import event_schema, events_markdown, schema_file
from shared.events.envelope import Envelope
from shared.events.registry import all_models

ASYNCAPI = "docs/asyncapi.json"
LOCK = "schemas/published.lock.json"


def _json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def contract_files(root: Path) -> dict[str, str]:
    """Every generated contract file, by path relative to ``root`` (the repository).

    The lock is the one file that depends on what ``root`` already holds: its entries are kept
    as they are and only new types and versions are added.
    """
    models = all_models()
    files = {"docs/events.md": events_markdown(), ASYNCAPI: asyncapi_json()}
    files["schemas/envelope.json"] = _json(Envelope.model_json_schema())
    for model in models:
        files[f"schemas/{schema_file(model)}"] = _json(event_schema(model))
    lock_path = root / LOCK
    existing = read_lock(lock_path.read_text() if lock_path.exists() else None)
    files[LOCK] = lock_json(extended_lock(existing, models))
    return files


def write_contract(root: Path) -> list[str]:
    """Write the files that differ from what the models generate; the paths written."""
    written = []
    for relative, content in contract_files(root).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != content:
            path.write_text(content)
            written.append(relative)
    return written
