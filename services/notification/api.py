"""The directory's HTTP API: recipients and routing rules.

County officers (inside their region) and the platform account edit; every role reads inside its
region. A recipient or a rule read by id comes from its stream (what was just written shows at
once); lists come from the projection (``notification-directory``) and show a change a moment
later. Refusals are problem details; a refused body writes nothing.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from services.notification import commands, queries
from services.notification.commands import Versioned
from services.notification.directory import (
    FieldProblem,
    Recipient,
    RecipientBody,
    RoutingRule,
    RuleBody,
    recipient_problems,
    recipient_stream,
    rule_problems,
    rule_stream,
)
from services.notification.queries import RecipientFilters, RuleFilters
from shared.auth import Principal, Role, allow, authenticate, ensure_covers
from shared.events.catalogue.notification import Channel, ChannelKind, Party
from shared.events.registry import all_models
from shared.http.listing import Paged, paged, scope
from shared.http.problems import Problem, problem_responses
from shared.ids import uuid7
from shared.regions import within
from shared.service import command_context, runtime_of

router = APIRouter(tags=["directory"])

Editor = Annotated[Principal, Depends(allow(Role.county_officer, Role.platform))]
Reader = Annotated[Principal, Depends(authenticate)]

_READ_PROBLEMS = problem_responses(
    {401: "Missing or refused bearer token", 403: "Outside the caller's region", 422: "Invalid parameter"}
)
_WRITE_PROBLEMS = problem_responses(
    {
        401: "Missing or refused bearer token",
        403: "Not a county officer or the platform, or a region outside the caller's",
        409: "A concurrent change of the same recipient or rule",
        422: "Invalid body: the field and the reason in `errors`",
    }
)


class RecipientView(BaseModel):
    recipient_id: uuid.UUID
    name: str
    role: Role
    region_code: str
    channels: list[Channel]
    active: bool
    enterprise_id: uuid.UUID | None = None
    version: int


class RecipientPage(Paged):
    items: list[RecipientView]


class RuleView(BaseModel):
    rule_id: uuid.UUID
    on_event: str
    region_prefix: str
    roles: list[Role]
    channels: list[ChannelKind]
    active: bool
    parties: list[Party] = []
    where: dict[str, list[str]] = {}
    version: int


class RulePage(Paged):
    items: list[RuleView]


@cache
def known_event_types() -> frozenset[str]:
    return frozenset(model.event_type for model in all_models())


def _refuse(problems: list[FieldProblem]) -> None:
    if problems:
        summary = "; ".join(f"{field}: {reason}" for field, reason in problems[:5])
        raise Problem(
            422,
            "Invalid request",
            summary,
            type_="https://xingcun.example/problems/invalid_request",
            errors=[{"field": field, "reason": reason} for field, reason in problems],
        )


def _recipient_view(found: Versioned[Recipient]) -> RecipientView:
    return RecipientView.model_validate({**vars(found.value), "version": found.version})


def _rule_view(found: Versioned[RoutingRule]) -> RuleView:
    rule = found.value
    return RuleView.model_validate({**vars(rule), "where": dict(rule.where), "version": found.version})


@router.post(
    "/recipients",
    status_code=201,
    response_model=RecipientView,
    summary="Register a recipient: a person or system with a role, a region and channels",
    responses=_WRITE_PROBLEMS,
)
async def register_recipient(
    request: Request, response: Response, principal: Editor, body: RecipientBody
) -> RecipientView:
    """Append ``notification.recipient_registered``. E-mail addresses, https webhook URLs (with the
    ``secret_ref`` of a configured secret) and mobile numbers are checked."""
    _refuse(recipient_problems(body, runtime_of(request).settings.notification_allow_http_webhooks))
    ensure_covers(principal, body.region_code, "region_code")
    recipient_id = uuid7()
    async with runtime_of(request).store.session() as session:
        made = commands.register_recipient(session, command_context(request, principal), recipient_id, body)
    response.headers["location"] = f"/recipients/{recipient_id}"
    return _recipient_view(made)


@router.put(
    "/recipients/{recipient_id}",
    response_model=RecipientView,
    summary="Replace a recipient (name, role, region, channels, active)",
    responses={**_WRITE_PROBLEMS, **problem_responses({404: "No such recipient"})},
)
async def update_recipient(
    request: Request, principal: Editor, recipient_id: uuid.UUID, body: RecipientBody
) -> RecipientView:
    """Append ``notification.recipient_updated`` with the whole recipient; unchanged, nothing is
    appended. Both the recipient's region and the new one must lie in the caller's."""
    _refuse(recipient_problems(body, runtime_of(request).settings.notification_allow_http_webhooks))
    store = runtime_of(request).store
    async with store.session() as session:
        current = commands.latest_recipient(await session.load(recipient_stream(recipient_id)))
        if current is None:
            raise Problem(404, "Recipient not found", f"no recipient {recipient_id}")
        ensure_covers(principal, current.value.region_code, "recipient_id")
        ensure_covers(principal, body.region_code, "region_code")
        updated = commands.update_recipient(session, command_context(request, principal), current, body)
    return _recipient_view(updated)


@router.get(
    "/recipients",
    response_model=RecipientPage,
    summary="List recipients in a region",
    responses=_READ_PROBLEMS,
)
async def list_recipients(
    request: Request, principal: Reader, filters: Annotated[RecipientFilters, Query()]
) -> dict[str, Any]:
    """Recipients whose region lies in ``region`` (default: the caller's), by region and name."""
    region = scope(principal, filters.region)
    return paged(filters, await queries.recipients(runtime_of(request).engine, filters, region))


@router.get(
    "/recipients/{recipient_id}",
    response_model=RecipientView,
    summary="One recipient as it is now",
    responses={**_READ_PROBLEMS, **problem_responses({404: "No such recipient"})},
)
async def get_recipient(request: Request, principal: Reader, recipient_id: uuid.UUID) -> RecipientView:
    found = await commands.load_recipient(runtime_of(request).store, recipient_id)
    if found is None:
        raise Problem(404, "Recipient not found", f"no recipient {recipient_id}")
    ensure_covers(principal, found.value.region_code)
    return _recipient_view(found)


@router.put(
    "/routing-rules/{rule_id}",
    response_model=RuleView,
    summary="Create or replace a routing rule (idempotent)",
    responses={**_WRITE_PROBLEMS, 201: {"model": RuleView, "description": "Created"}},
)
async def set_rule(
    request: Request, response: Response, principal: Editor, rule_id: uuid.UUID, body: RuleBody
) -> RuleView:
    """Append ``notification.routing_rule_set`` with the whole rule (201 when the rule is new). The
    same body again appends nothing. ``on_event`` is a catalogue type (docs/events.md) or ``*``;
    the rule's region, and a replaced rule's former region, must lie in the caller's."""
    _refuse(rule_problems(body, known_event_types()))
    ensure_covers(principal, body.region_prefix, "region_prefix")
    async with runtime_of(request).store.session() as session:
        current = commands.latest_rule(await session.load(rule_stream(rule_id)))
        if current is not None:
            ensure_covers(principal, current.value.region_prefix, "rule_id")
        result = commands.set_rule(session, command_context(request, principal), rule_id, current, body)
    if current is None:
        response.status_code = 201
        response.headers["location"] = f"/routing-rules/{rule_id}"
    return _rule_view(result)


@router.get(
    "/routing-rules",
    response_model=RulePage,
    summary="List the routing rules that can apply in a region",
    responses=_READ_PROBLEMS,
)
async def list_rules(
    request: Request, principal: Reader, filters: Annotated[RuleFilters, Query()]
) -> dict[str, Any]:
    """Rules whose region prefix lies in ``region`` or covers it (a province's rules show to each of
    its counties), by prefix and event type."""
    region = scope(principal, filters.region)
    return paged(filters, await queries.rules(runtime_of(request).engine, filters, region))


@router.get(
    "/routing-rules/{rule_id}",
    response_model=RuleView,
    summary="One routing rule as it is now",
    responses={**_READ_PROBLEMS, **problem_responses({404: "No such rule"})},
)
async def get_rule(request: Request, principal: Reader, rule_id: uuid.UUID) -> RuleView:
    """Readable where it can apply: its prefix lies in the caller's region or covers it."""
    found = await commands.load_rule(runtime_of(request).store, rule_id)
    if found is None:
        raise Problem(404, "Routing rule not found", f"no routing rule {rule_id}")
    prefix = found.value.region_prefix
    if not within(principal.region, prefix):  # a rule covering the caller's region applies to it
        ensure_covers(principal, prefix)
    return _rule_view(found)
