"""RFC 9457 problem details: every refusal of every service has this one shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shared.domain import DomainError, InvalidInput, NotFound, NotPermitted, StateConflict
from shared.eventstore.store import ConcurrencyConflict

_MEDIA_TYPE = "application/problem+json"
_TYPE_BASE = "https://xingcun.example/problems/"


class FieldError(BaseModel):
    field: str | None = Field(description="The input the reason concerns (body field or query parameter)")
    reason: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, the shape of every refusal (media type application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    rule: str | None = Field(default=None, description="The domain rule that refused the request")
    errors: list[FieldError] | None = None


def problem_responses(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the refusals an endpoint makes, each a problem-details body."""
    return {
        status: {"model": ProblemDetails, "description": f"{text} (application/problem+json)"}
        for status, text in described.items()
    }


class Problem(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.type = type_ or "about:blank"
        self.errors = errors
        self.extra = extra or {}

    def body(self, instance: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def _respond(request: Request, problem: Problem) -> JSONResponse:
    return JSONResponse(problem.body(request.url.path), status_code=problem.status, media_type=_MEDIA_TYPE)


_DOMAIN_STATUS = {InvalidInput: 422, StateConflict: 409, NotFound: 404, NotPermitted: 403}


def from_domain(error: DomainError) -> Problem:
    status = next((s for cls, s in _DOMAIN_STATUS.items() if isinstance(error, cls)), 422)
    errors = [{"field": error.field, "reason": error.message}] if error.field else None
    return Problem(
        status,
        error.rule.replace("_", " ").capitalize(),
        error.message,
        type_=_TYPE_BASE + error.rule,
        errors=errors,
        extra={"rule": error.rule},
    )


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    """Map every refusal to problem details once, for the whole app."""

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        return _respond(request, exc)

    @app.exception_handler(DomainError)
    async def on_domain(request: Request, exc: DomainError) -> JSONResponse:
        return _respond(request, from_domain(exc))

    @app.exception_handler(ConcurrencyConflict)
    async def on_conflict(request: Request, exc: ConcurrencyConflict) -> JSONResponse:
        problem = Problem(
            409,
            "Concurrent change",
            f"{exc.stream_id} was changed by another request; load it again and retry",
            type_=_TYPE_BASE + "concurrent_change",
        )
        return _respond(request, problem)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(tuple(e["loc"])), "reason": e["msg"].removeprefix("Value error, ")}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
        problem = Problem(
            422, "Invalid request", summary, type_=_TYPE_BASE + "invalid_request", errors=errors
        )
        return _respond(request, problem)
