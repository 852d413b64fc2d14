"""Recipients and routing rules (pure): their values, the bodies that create them, and the checks
a body passes before anything is written. A refusal names the field and the reason."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Role
from shared.events.catalogue.notification import (
    ANY_EVENT,
    REGION_PREFIX_PATTERN,
    Channel,
    ChannelKind,
    Party,
    RecipientRegistered,
    RecipientUpdated,
    RoutingRuleSet,
)
from shared.events.registry import latest_version, model_for

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$")
# A mainland mobile number (optionally +86), or another country's in E.164.
_MOBILE = re.compile(r"^(\+86)?1[3-9]\d{9}$|^\+[1-9]\d{7,14}$")

FieldProblem = tuple[str, str]  # (field, reason), as in problem details' ``errors``


@dataclass(frozen=True)
class Recipient:
    recipient_id: uuid.UUID
    name: str
    role: Role
    region_code: str
    channels: tuple[Channel, ...]
    active: bool
    enterprise_id: uuid.UUID | None = None


@dataclass(frozen=True)
class RoutingRule:
    rule_id: uuid.UUID
    on_event: str
    region_prefix: str
    roles: tuple[Role, ...]
    channels: tuple[ChannelKind, ...]
    active: bool
    parties: tuple[Party, ...] = ()
    # (data field, the values it may have), all to hold: {"card": ["red"]}
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def matches(self, data: Mapping[str, Any]) -> bool:
        return all(_text(data.get(name)) in values for name, values in self.where)


class RecipientBody(BaseModel):
    """A recipient as an officer enters it (``POST /recipients``, ``PUT /recipients/{id}``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    role: Role
    region_code: str = Field(
        pattern=REGION_PREFIX_PATTERN, description="The division-code prefix it answers for"
    )
    channels: list[Channel] = Field(min_length=1, max_length=10)
    active: bool = True
    enterprise_id: uuid.UUID | None = Field(
        default=None, description="The enterprise it speaks for (role `enterprise` only)"
    )


class RuleBody(BaseModel):
    """A routing rule as an officer sets it (``PUT /routing-rules/{id}``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    on_event: str = Field(min_length=1, max_length=100, description="A catalogue event type, or `*`")
    region_prefix: str = Field(pattern=REGION_PREFIX_PATTERN)
    roles: list[Role] = Field(default_factory=list, description="Empty only when `parties` is not")
    channels: list[ChannelKind] = Field(min_length=1)
    active: bool = True
    parties: list[Party] = Field(
        default_factory=list,
        description="Also the event's parties: `assigned_contact` (its household's contact, by SMS), "
        "`enterprise` (the recipients registered for the enterprise it names)",
    )
    where: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Only events whose data field has one of the values, e.g. {"card": ["red"]}',
    )


def address_problem(channel: Channel, allow_http: bool = False) -> str | None:
    """Why the address cannot be used on its channel, or None (``allow_http``: a webhook may be
    plain http://, XINGCUN_NOTIFICATION_ALLOW_HTTP_WEBHOOKS)."""
    address = channel.address
    match channel.kind:
        case ChannelKind.email:
            if len(address) > 254 or not _EMAIL.match(address):
                return "not an e-mail address (name@domain)"
        case ChannelKind.webhook:
            try:
                parts = urlsplit(address)
                host = parts.hostname
            except ValueError:
                return "not a URL"
            schemes = ("https", "http") if allow_http else ("https",)
            if parts.scheme not in schemes or not host:
                return "a webhook is an https:// URL with a host"
            if parts.username is not None or parts.password is not None:
                # it would travel in the events in clear; use secret_ref for credentials
                return "a webhook URL carries no user or password"
            if parts.fragment:
                return "a webhook URL has no #fragment"
        case ChannelKind.sms:
            if not _MOBILE.match(address):
                return "not a mobile number (13800138000, +8613800138000 or +<country><number>)"
    return None


def channel_problems(channels: Sequence[Channel], allow_http: bool = False) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    seen: set[tuple[ChannelKind, str]] = set()
    for i, channel in enumerate(channels):
        if reason := address_problem(channel, allow_http):
            problems.append((f"channels.{i}.address", reason))
        if channel.kind is ChannelKind.webhook and channel.secret_ref is None:
            problems.append((f"channels.{i}.secret_ref", "a webhook names the secret it is signed with"))
        if channel.kind is not ChannelKind.webhook and channel.secret_ref is not None:
            problems.append((f"channels.{i}.secret_ref", "only a webhook is signed with a secret"))
        key = (channel.kind, channel.address.lower())
        if key in seen:
            problems.append((f"channels.{i}", "the same channel is listed twice"))
        seen.add(key)
    return problems


def rule_problems(body: RuleBody, known_types: Iterable[str]) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if body.on_event != ANY_EVENT and body.on_event not in set(known_types):
        problems.append(("on_event", f"no event type {body.on_event!r} in the catalogue (or use '*')"))
    if not body.roles and not body.parties:
        problems.append(("roles", "a rule names roles, parties or both"))
    if len(set(body.roles)) != len(body.roles):
        problems.append(("roles", "a role is listed twice"))
    if len(set(body.channels)) != len(body.channels):
        problems.append(("channels", "a channel kind is listed twice"))
    if len(set(body.parties)) != len(body.parties):
        problems.append(("parties", "a party is listed twice"))
    if Party.assigned_contact in body.parties and ChannelKind.sms not in body.channels:
        problems.append(("channels", "the assigned contact is reached by SMS: list `sms`"))
    problems += where_problems(body)
    return problems


def where_problems(body: RuleBody) -> list[FieldProblem]:
    """A condition names a plain field of the event type's data, with one value or more."""
    if not body.where:
        return []
    if body.on_event == ANY_EVENT:
        return [("where", "a condition needs one event type, not `*`")]
    try:
        fields = model_for(body.on_event, latest_version(body.on_event)).model_fields
    except LookupError:
        return []  # the unknown type is named by on_event's problem
    problems: list[FieldProblem] = []
    for name, values in body.where.items():
        if name not in fields:
            problems.append((f"where.{name}", f"{body.on_event} has no field {name!r}"))
        elif not values:
            problems.append((f"where.{name}", "give one value or more"))
    return problems


def recipient_of(event: RecipientRegistered | RecipientUpdated) -> Recipient:
    return Recipient(
        recipient_id=event.recipient_id,
        name=event.name,
        role=event.role,
        region_code=event.region_code,
        channels=tuple(event.channels),
        active=event.active,
        enterprise_id=event.enterprise_id,
    )


def recipient_problems(body: RecipientBody, allow_http: bool = False) -> list[FieldProblem]:
    problems = channel_problems(body.channels, allow_http)
    if body.enterprise_id is not None and body.role is not Role.enterprise:
        problems.append(
            ("enterprise_id", "only a recipient in the role `enterprise` speaks for an enterprise")
        )
    return problems


def rule_of(event: RoutingRuleSet) -> RoutingRule:
    return RoutingRule(
        rule_id=event.rule_id,
        on_event=event.on_event,
        region_prefix=event.region_prefix,
        roles=tuple(event.roles),
        channels=tuple(event.channels),
        active=event.active,
        parties=tuple(event.parties),
        where=tuple((name, tuple(values)) for name, values in sorted(event.where.items())),
    )


def _text(value: Any) -> str | None:
    """A data value as a condition compares it: enums and ids by their JSON text, booleans as
    `true`/`false`."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def stream_region(prefix: str) -> str:
    """The 12-digit region of a recipient's or a rule's events: its prefix padded with zeros."""
    return prefix.ljust(12, "0")


def recipient_stream(recipient_id: uuid.UUID) -> str:
    return f"recipient-{recipient_id}"


def rule_stream(rule_id: uuid.UUID) -> str:
    return f"routing-rule-{rule_id}"
