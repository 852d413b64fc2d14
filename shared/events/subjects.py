"""Subjects and JetStream streams: the region rides in the subject so a consumer filters by it."""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings import ServiceName, Settings


def subject_for(root: str, region_code: str, event_type: str) -> str:
    """``<root>.<province 2>.<city 4>.<county 6>.<service>.<event>``."""
    return f"{root}.{region_code[:2]}.{region_code[:4]}.{region_code[:6]}.{event_type}"


def region_filter(root: str, prefix: str, service: str = "*", event: str = ">") -> str:
    """A subject filter for every event of a region given as a 2-, 4- or 6-digit prefix."""
    parts = [root]
    for length in (2, 4, 6):
        parts.append(prefix[:length] if len(prefix) >= length else "*")
    tail = f"{service}.{event}" if event != ">" else f"{service}.>"
    return ".".join([*parts, tail])


@dataclass(frozen=True)
class StreamSpec:
    """The JetStream stream that holds one producing service's events."""

    name: str
    subjects: list[str]
    duplicate_window_s: float = 600.0
    replicas: int = 1  # copies in a NATS cluster (XINGCUN_STREAM_REPLICAS)


def stream_for(settings: Settings, service: ServiceName) -> StreamSpec:
    return StreamSpec(
        name=f"{settings.stream_prefix}{service.upper()}",
        subjects=[f"{settings.subject_root}.*.*.*.{service}.>"],
        replicas=settings.stream_replicas,
    )
