"""What a published ``schema_version`` promised, and the changes that would break that promise.

``schemas/published.lock.json`` records, per ``<type>.v<N>``, every field of ``data`` (nested ones
as ``parent.child``, list items as ``parent[].child``, map values as ``parent{}.child``) with its
JSON type and whether it is required. ``xingcun contract`` only ever adds entries for new types
and versions; it never rewrites one, so a model that drifts from its entry is caught rather than
followed. Within a version a change may only add optional fields (or make a required one
optional): removing a field, changing its type or requiring it breaks readers of old events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.events.envelope import EventData

Fields = dict[str, dict[str, Any]]  # path -> {"type": str, "required": bool}
Lock = dict[str, dict[str, Any]]  # "<type>.v<N>" -> {"event_type", "schema_version", "fields"}


def lock_key(event_type: str, schema_version: int) -> str:
    return f"{event_type}.v{schema_version}"


def schema_fields(schema: dict[str, Any]) -> Fields:
    """Every field of a JSON Schema object, nested ones included, with its type and required-ness."""
    out: Fields = {}
    _walk(schema, schema.get("$defs", {}), "", out, ())
    return out


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = prop.get("$ref")
    return defs[ref.rsplit("/", 1)[-1]] if ref else prop


def _variants(prop: dict[str, Any]) -> list[dict[str, Any]]:
    return prop.get("anyOf") or prop.get("oneOf") or [prop]


def _json_type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """A normalised type: the JSON type with its format, element types for lists and maps,
    and a union's members sorted; constraints, titles and enum members do not count."""
    prop = _resolve(prop, defs)
    if "anyOf" in prop or "oneOf" in prop:
        return " | ".join(sorted({_json_type(v, defs) for v in _variants(prop)}))
    kind = prop.get("type")
    if kind is None and "const" in prop:
        kind = {str: "string", bool: "boolean", int: "integer", float: "number"}.get(
            type(prop["const"]), "any"
        )
    if kind is None and "enum" in prop:
        kind = "string" if all(isinstance(v, str) for v in prop["enum"]) else "any"
    if isinstance(kind, list):
        return " | ".join(sorted(kind))
    if kind == "array":
        return f"array<{_json_type(prop.get('items', {}), defs)}>"
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        return f"map<{_json_type(prop['additionalProperties'], defs)}>"
    if kind is None:
        return "any"
    return f"{kind}({prop['format']})" if "format" in prop else str(kind)


def _objects_within(
    prop: dict[str, Any], defs: dict[str, Any], path: str
) -> list[tuple[str, dict[str, Any]]]:
    """The object schemas a field holds (itself, its list items, its map values), with the path
    prefix their own fields get."""
    found: list[tuple[str, dict[str, Any]]] = []
    for variant in _variants(_resolve(prop, defs)):
        variant = _resolve(variant, defs)
        if variant.get("type") == "array" and isinstance(variant.get("items"), dict):
            found += _objects_within(variant["items"], defs, f"{path}[]")
        elif variant.get("type") == "object" and isinstance(variant.get("additionalProperties"), dict):
            found += _objects_within(variant["additionalProperties"], defs, f"{path}{{}}")
        elif "properties" in variant:
            found.append((f"{path}.", variant))
    return found


def _walk(
    schema: dict[str, Any], defs: dict[str, Any], prefix: str, out: Fields, seen: tuple[int, ...]
) -> None:
    if id(schema) in seen:  # a recursive type: its fields are listed once
        return
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        out[path] = {"type": _json_type(prop, defs), "required": name in required}
        for nested_prefix, nested in _objects_within(prop, defs, path):
            _walk(nested, defs, nested_prefix, out, (*seen, id(schema)))


def model_fields(model: type[EventData]) -> Fields:
    return schema_fields(model.model_json_schema())


def lock_entry(model: type[EventData]) -> dict[str, Any]:
    return {
        "event_type": model.event_type,
        "schema_version": model.schema_version,
        "fields": model_fields(model),
    }


def extended_lock(existing: Lock, models: list[type[EventData]]) -> Lock:
    """The lock with an entry added for each model not yet in it; existing entries unchanged."""
    lock = dict(existing)
    for model in models:
        lock.setdefault(lock_key(model.event_type, model.schema_version), lock_entry(model))
    return dict(sorted(lock.items()))


def read_lock(text: str | None) -> Lock:
    return json.loads(text) if text else {}


def lock_json(lock: Lock) -> str:
    return json.dumps(lock, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Break:
    """One way a model no longer reads what its published schema_version promised."""

    event_type: str
    schema_version: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = f"field `{self.field}` " if self.field else ""
        return f"{self.event_type} v{self.schema_version}: {where}{self.reason}"


def _parent(path: str) -> str | None:
    if "." not in path:
        return None
    return path.rsplit(".", 1)[0].removesuffix("[]").removesuffix("{}")


def compare(event_type: str, schema_version: int, locked: Fields, current: Fields) -> list[Break]:
    def brk(field: str, reason: str) -> Break:
        return Break(event_type, schema_version, field, reason)

    breaks: list[Break] = []
    for path, was in locked.items():
        now = current.get(path)
        if now is None:
            breaks.append(brk(path, "was removed"))
            continue
        if now["type"] != was["type"]:
            breaks.append(brk(path, f"changed type from {was['type']} to {now['type']}"))
        if now["required"] and not was["required"]:
            breaks.append(brk(path, "became required (events published without it would not read)"))
    for path, now in current.items():
        parent = _parent(path)
        # A new required field inside a new optional field is fine: old events lack the parent.
        if path not in locked and now["required"] and (parent is None or parent in locked):
            breaks.append(brk(path, "was added as required (only optional fields may be added)"))
    return breaks


def breaking_changes(lock: Lock, models: list[type[EventData]]) -> list[Break]:
    """Every published entry a current model breaks, and every published version without a model."""
    by_key = {lock_key(m.event_type, m.schema_version): m for m in models}
    breaks: list[Break] = []
    for key, entry in lock.items():
        event_type, schema_version = entry["event_type"], entry["schema_version"]
        model = by_key.get(key)
        if model is None:
            reason = "has no model any more (keep it registered: old events stay readable)"
            breaks.append(Break(event_type, schema_version, None, reason))
            continue
        breaks += compare(event_type, schema_version, entry["fields"], model_fields(model))
    return breaks
