"""Refuse text that PostgreSQL cannot store: a NUL character in a query parameter or a JSON body.

PostgreSQL's text types hold no U+0000. Let through, such a value fails at the first query (a 500)
or, worse, inside an event that every projection then fails to apply. Checked once here for every
endpoint, before any handler runs.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_REASON = "text may not contain the NUL character (U+0000)"


class RefuseNul:
    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
            await _refuse(send, "query", scope["path"])
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if _holds_nul(body):
            await _refuse(send, "body", scope["path"])
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _holds_nul(body: bytes) -> bool:
    if b"\x00" in body:
        return True
    if b"\\u0000" not in body:  # the common case: no parsing
        return False
    try:
        return _any_nul(json.loads(body))
    except ValueError:
        return False  # not JSON after all: the endpoint's validation answers


def _any_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_any_nul(k) or _any_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_any_nul(v) for v in value)
    return False


def _is_json(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    return b"json" in headers.get(b"content-type", b"").lower()


async def _refuse(send: Send, where: str, path: str) -> None:
    body = json.dumps(
        {
            "type": "https://xingcun.example/problems/no_nul_characters",
            "title": "NUL character in the request",
            "status": 422,
            "detail": f"the request's {where} holds a NUL character",
            "instance": path,
            "rule": "no_nul_characters",
            "errors": [{"field": where, "reason": _REASON}],
        },
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
