"""Every HTTP request: its correlation id (the caller's ``X-Correlation-Id``, or a new one, sent
back in the answer) in hand while it is served, and its latency by route and status."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from uuid import uuid4

from shared.observability.correlation import CORRELATION_HEADER, correlated
from shared.observability.metrics import LatencyHistogram

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("xingcun.http")
_HEADER = CORRELATION_HEADER.encode()
# A caller's id is kept as it came when it looks like one; anything else is replaced.
_MAX_ID = 100


def _caller_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == _HEADER:
            text = value.decode("latin-1").strip()
            if 0 < len(text) <= _MAX_ID and text.isprintable():
                return text
    return None


class ObserveRequests:
    def __init__(self, app: App, histogram: LatencyHistogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation = _caller_id(scope) or str(uuid4())
        status = 500
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (_HEADER, correlation.encode())]
            await send(message)

        with correlated(correlation):
            try:
                await self.app(scope, receive, sending)
            finally:
                seconds = time.perf_counter() - started
                route = getattr(scope.get("route"), "path", "unmatched")
                self.histogram.observe(seconds, method=scope["method"], route=route, status=str(status))
                # The access log, with the request's correlation id (uvicorn's own is turned off).
                fields = {
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "ms": round(seconds * 1000, 1),
                }
                log.info("%s %s %s", scope["method"], scope["path"], status, extra={"fields": fields})
