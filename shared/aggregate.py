"""The base of every aggregate: state rebuilt by applying its past events in order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

from shared.events.envelope import EventData


class Aggregate:
    def __init__(self) -> None:
        self.version = 0

    @classmethod
    def from_history(cls, events: Iterable[EventData]) -> Self:
        aggregate = cls()
        for event in events:
            aggregate.apply(event)
        return aggregate

    def apply(self, event: EventData) -> None:
        self.version += 1
        self.when(event)

    def when(self, event: EventData) -> None:
        """Change state for one event; subclasses override."""
