"""Generated descriptions of the event contract: docs/events.md and one JSON Schema per event."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.events.envelope import Envelope, EventData
from shared.events.registry import all_models

_HEADER = """# Events

Generated from the pydantic models by `xingcun contract` (do not edit by hand; a test compares).
Every event travels in the envelope below; its own fields are in `data`. Subjects are
`xingcun.<province 2>.<city 4>.<county 6>.<type>`, e.g.
`xingcun.15.1506.150602.pairing.agreement_signed`; one JetStream stream per producing service
(`PAIRING`, `MONITORING`, `REPORTING`, `NOTIFICATION`). The JSON Schemas are in `schemas/`.

Money is a decimal string in yuan (`"1500000.00"`), dates are ISO `YYYY-MM-DD`, times are UTC.
A change within a `schema_version` only adds optional fields; a breaking change is a new version
and the old one stays readable (upcast on read).

Personal data never travels in clear. In monitoring events, names, citizen ID numbers and phone
numbers are `sealed`: ciphertext under a key of the household's own that only the monitoring
service holds. A consumer identifies a household by `household_id`; after
`monitoring.personal_data_erased` the key is destroyed and the sealed fields are unreadable
everywhere, while every other field (and every statistic built on them) stays. The notification
directory's events carry officers' work contacts (工作联系方式: e-mail, phone, webhook URL) in
clear, since every alert is routed by them; a webhook's secret never travels, only its name.
"""


def schema_file(model: type[EventData]) -> str:
    return f"{model.event_type}.v{model.schema_version}.json"


def event_schema(model: type[EventData]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema["title"] = f"{model.event_type} v{model.schema_version} (data)"
    return schema


def _type_of(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " or ".join(_type_of(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"list of {_type_of(prop.get('items', {}))}"
    kind = prop.get("type", "any")
    fmt = prop.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def _fields_table(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    lines = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, prop in schema.get("properties", {}).items():
        description = (prop.get("description") or "").replace("\n", " ")
        needed = "yes" if name in required else "no"
        lines.append(f"| `{name}` | {_type_of(prop)} | {needed} | {description} |")
    return lines


def _definitions(schemas: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, dict[str, Any]] = {}
    for schema in schemas:
        seen.update(schema.get("$defs", {}))
    lines: list[str] = []
    for name in sorted(seen):
        definition = seen[name]
        lines += ["", f"### `{name}`", ""]
        if "enum" in definition:
            lines.append("One of: " + ", ".join(f"`{v}`" for v in definition["enum"]))
        else:
            lines += _fields_table(definition)
    return lines


def events_markdown() -> str:
    lines = [_HEADER, "## The envelope", ""]
    lines += _fields_table(Envelope.model_json_schema())
    models = all_models()
    schemas = [event_schema(m) for m in models]
    for model, schema in zip(models, schemas, strict=True):
        doc = " ".join((model.__doc__ or "").split())
        lines += ["", f"## `{model.event_type}` (schema_version {model.schema_version})", "", doc, ""]
        lines += _fields_table(schema)
        lines += ["", f"JSON Schema: `schemas/{schema_file(model)}`"]
    lines += ["", "## Shared types"]
    lines += _definitions(schemas)
    return "\n".join(lines) + "\n"


def contract_files() -> dict[str, str]:
    """Every generated contract file, by path relative to the repository root."""
    files = {"docs/events.md": events_markdown()}
    envelope = Envelope.model_json_schema()
    files["schemas/envelope.json"] = json.dumps(envelope, indent=2, ensure_ascii=False) + "\n"
    for model in all_models():
        text = json.dumps(event_schema(model), indent=2, ensure_ascii=False) + "\n"
        files[f"schemas/{schema_file(model)}"] = text
    return files


def write_contract(root: Path) -> list[str]:
    written = []
    for relative, content in contract_files().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != content:
            path.write_text(content)
            written.append(relative)
    return written
