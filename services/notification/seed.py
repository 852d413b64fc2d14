"""Recipients and routing rules seeded from the configuration (``XINGCUN_NOTIFICATION_SEED``).

The seed is checked when the service is created (a bad seed stops it before it starts), and
applied at start by a worker: each item whose stream is still empty gets its first event, so a
restart appends nothing, and an item edited through the API since is left as edited. A seeded
item's id is a UUID 5 of its ``key``, the same on every start and every instance; two instances
seeding at once collide on the stream's first version and one of them skips the item.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.notification.commands import register_recipient, set_rule
from services.notification.directory import (
    FieldProblem,
    RecipientBody,
    RuleBody,
    recipient_problems,
    recipient_stream,
    rule_problems,
    rule_stream,
)
from shared.events.envelope import Actor
from shared.eventstore.context import CommandContext
from shared.eventstore.store import ConcurrencyConflict, EventStore, EventStoreSession
from shared.service import Runtime, Worker

log = logging.getLogger(__name__)

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://xingcun.example/notification/seed")
SEED_ACTOR = Actor(id="notification-seed", role="platform", region_code="")

_Key = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$", description="Stable name → id")


class SeedRecipient(RecipientBody):
    key: str = _Key


class SeedRule(RuleBody):
    key: str = _Key


class Seed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipients: list[SeedRecipient] = []
    rules: list[SeedRule] = []


def recipient_id_of(key: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"recipient/{key}")


def rule_id_of(key: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"routing-rule/{key}")


class BadSeed(ValueError):
    """The configured seed cannot be applied; the message lists every problem."""


def parse_seed(raw: dict[str, Any], known_types: Iterable[str], allow_http: bool = False) -> Seed:
    try:
        seed = Seed.model_validate(raw)
    except ValidationError as exc:
        problems = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        raise BadSeed(_describe(problems)) from None
    known = frozenset(known_types)
    problems: list[FieldProblem] = []
    for i, recipient in enumerate(seed.recipients):
        problems += [
            (f"recipients.{i}.{field}", reason) for field, reason in recipient_problems(recipient, allow_http)
        ]
    for i, rule in enumerate(seed.rules):
        problems += [(f"rules.{i}.{field}", reason) for field, reason in rule_problems(rule, known)]
    for section, items in (("recipients", seed.recipients), ("rules", seed.rules)):
        keys = [item.key for item in items]
        problems += [
            (section, f"key {k!r} is used twice") for k in sorted({k for k in keys if keys.count(k) > 1})
        ]
    if problems:
        raise BadSeed(_describe(problems))
    return seed


def _describe(problems: list[FieldProblem]) -> str:
    return "XINGCUN_NOTIFICATION_SEED: " + "; ".join(f"{field}: {reason}" for field, reason in problems)


async def apply_seed(store: EventStore, seed: Seed, ctx: CommandContext) -> int:
    """Append the first event of every seeded item whose stream is empty; the number appended."""
    appended = 0
    for recipient in seed.recipients:
        recipient_id = recipient_id_of(recipient.key)
        body = RecipientBody.model_validate(recipient.model_dump(exclude={"key"}))
        appended += await _first(
            store,
            recipient_stream(recipient_id),
            lambda session, i=recipient_id, b=body: register_recipient(session, ctx, i, b),
        )
    for rule in seed.rules:
        rule_id = rule_id_of(rule.key)
        rule_body = RuleBody.model_validate(rule.model_dump(exclude={"key"}))
        appended += await _first(
            store,
            rule_stream(rule_id),
            lambda session, i=rule_id, b=rule_body: set_rule(session, ctx, i, None, b),
        )
    return appended


async def _first(store: EventStore, stream: str, append: Callable[[EventStoreSession], object]) -> bool:
    """Append to ``stream`` if it is empty; whether this call did."""
    try:
        async with store.session() as session:
            if await session.version(stream) != 0:
                return False
            append(session)
    except ConcurrencyConflict:
        return False  # another instance seeded it between the read and the append
    return True


def seed_worker(seed: Seed, retry_s: float = 5.0) -> Worker:
    """A worker applying ``seed`` once at start, trying again while the database refuses."""

    async def seed_directory(runtime: Runtime) -> None:
        if not seed.recipients and not seed.rules:
            return
        while True:
            ctx = CommandContext(actor=SEED_ACTOR, now=runtime.clock.now(), correlation_id=str(uuid4()))
            try:
                appended = await apply_seed(runtime.store, seed, ctx)
            except Exception:
                log.exception("seeding the notification directory failed; trying again")
                await asyncio.sleep(retry_s)
                continue
            log.info("notification seed: %d item(s) appended", appended)
            return

    return seed_directory
