"""The correlation id of the work in hand: the HTTP request's (its ``X-Correlation-Id``, or a new
one), or that of the event being handled. Commands stamp it on every event they append, and log
lines carry it, so one request can be followed through every event it causes and every service
that handles them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

CORRELATION_HEADER = "x-correlation-id"
_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current_correlation() -> str | None:
    return _current.get()


@contextlib.contextmanager
def correlated(correlation_id: str | None) -> Iterator[None]:
    """Work done in the block carries ``correlation_id`` (None: keeps the one in hand)."""
    if correlation_id is None:
        yield
        return
    token = _current.set(correlation_id)
    try:
        yield
    finally:
        _current.reset(token)
