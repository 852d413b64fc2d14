"""Refusals the domain raises, each naming the rule it enforces. The HTTP layer maps them once."""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused. ``rule`` names the rule, ``field`` the input it concerns."""

    def __init__(self, rule: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """The command contradicts itself or a fixed rule (422)."""


class StateConflict(DomainError):
    """The command is refused by the current state of what it changes (409)."""


class NotFound(DomainError):
    """The command names something that does not exist (404)."""


class NotPermitted(DomainError):
    """The caller's role may not take this step (403)."""
