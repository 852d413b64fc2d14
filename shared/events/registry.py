"""Event types by (type, schema_version), and the upcasters that read old shapes as new ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from shared.events.envelope import Envelope, EventData

E = TypeVar("E", bound=type[EventData])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    """No model is registered for an event's type and schema version."""


_MODELS: dict[tuple[str, int], type[EventData]] = {}
_LATEST: dict[str, int] = {}  # each type's highest registered version (decode runs per event)
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def event(type_name: str, schema_version: int = 1) -> Callable[[E], E]:
    """Class decorator: register an ``EventData`` model as the shape of ``type_name`` v``schema_version``."""

    def register(cls: E) -> E:
        key = (type_name, schema_version)
        if key in _MODELS:
            raise ValueError(f"{type_name} v{schema_version} is registered twice")
        cls.event_type = type_name
        cls.schema_version = schema_version
        _MODELS[key] = cls
        _LATEST[type_name] = max(schema_version, _LATEST.get(type_name, 0))
        return cls

    return register


def upcaster(type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function turning ``from_version`` data into ``from_version + 1`` data."""

    def register(fn: Upcaster) -> Upcaster:
        _UPCASTERS[(type_name, from_version)] = fn
        return fn

    return register


def model_for(type_name: str, schema_version: int) -> type[EventData]:
    try:
        return _MODELS[(type_name, schema_version)]
    except KeyError:
        raise UnknownEventType(f"no event model for {type_name} v{schema_version}") from None


def latest_version(type_name: str) -> int:
    try:
        return _LATEST[type_name]
    except KeyError:
        raise UnknownEventType(f"no event model for {type_name}") from None


def all_models() -> list[type[EventData]]:
    """Every registered model, ordered by type and version (for docs and schemas)."""
    load_catalogue()
    return [_MODELS[k] for k in sorted(_MODELS)]


def decode(envelope: Envelope) -> EventData:
    """The envelope's data as the latest model of its type, upcasting older shapes on read."""
    data, version = envelope.data, envelope.schema_version
    latest = latest_version(envelope.type)
    while version < latest:
        step = _UPCASTERS.get((envelope.type, version))
        if step is None:
            break
        data, version = step(data), version + 1
    return model_for(envelope.type, version).model_validate(data)


def load_catalogue() -> None:
    """Import every catalogue module so that their models are registered."""
    from shared.events.catalogue import monitoring, notification, pairing, reporting  # noqa: F401
