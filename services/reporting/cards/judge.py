"""The card judge: applies the rules to every agreement and project and publishes each change of
card (``reporting.supervision_card_changed``) once.

The facts come from the reporting projections as of the judge's clock; whether a judgement is a
change is decided from the subject's own stream (``card-<subject>-<id>``) in the event store, and
appended with the version it was decided on. Two judges at once, or a judge and ``POST /cards/check``,
therefore never publish a change twice: the later append conflicts, and that judge reloads the
stream and decides again (finding, as a rule, that the card is already what it would publish).
"""

from __future__ import annotations

import logging
import uuid
from datetime import date

from pydantic import BaseModel

from services.reporting.cards.changes import card_stream, change_of
from services.reporting.cards.rules import Judgement, Thresholds, judge_all
from services.reporting.facts.load import load_facts
from shared.auth import Role
from shared.events.catalogue.reporting import SupervisionCardChanged
from shared.events.envelope import Actor, Envelope
from shared.events.registry import decode
from shared.eventstore.context import CommandContext, wrap
from shared.eventstore.store import ConcurrencyConflict, EventStore
from shared.service import Runtime, Worker, every

log = logging.getLogger(__name__)

JUDGE = Actor(id="card-judge", role=Role.platform.value, region_code="")
# Each conflict means another judge just wrote the stream; after a few, the next tick decides.
_ATTEMPTS = 3


class CardCheck(BaseModel):
    judged_on: date
    changes: list[SupervisionCardChanged]


async def judge_cards(
    runtime: Runtime, *, region: str = "", actor: Actor = JUDGE, correlation_id: str | None = None
) -> CardCheck:
    """Judge every agreement and project in ``region`` (a division-code prefix; "" is everywhere)
    now, and publish the changes of card."""
    now = runtime.clock.now()
    facts = await load_facts(runtime.engine, region, now, households=False)  # cards judge pairing facts
    judgements = judge_all(facts, Thresholds.of(runtime.settings))
    ctx = CommandContext(actor=actor, now=now, correlation_id=correlation_id or str(uuid.uuid4()))
    async with runtime.store.session() as s:
        streams = await s.load_many(card_stream(j.subject, j.subject_id) for j in judgements)
    changes = []
    for judgement in judgements:
        stream = card_stream(judgement.subject, judgement.subject_id)
        change = await publish(runtime.store, ctx, judgement, streams[stream])
        if change is not None:
            changes.append(change)
    return CardCheck(judged_on=facts.today, changes=changes)


async def publish(
    store: EventStore, ctx: CommandContext, judgement: Judgement, history: list[Envelope]
) -> SupervisionCardChanged | None:
    """Append the change ``judgement`` makes after ``history`` (the subject's card stream as loaded),
    deciding again on the reloaded stream when another writer got there first."""
    stream = card_stream(judgement.subject, judgement.subject_id)
    for _ in range(_ATTEMPTS):
        change = change_of(judgement, _last(history))
        if change is None:
            return None
        version = history[-1].stream_version if history else 0
        try:
            async with store.session() as s:
                s.append(version, wrap(ctx, stream, version, judgement.village_code, [change]))
            return change
        except ConcurrencyConflict:
            async with store.session() as s:
                history = await s.load(stream)
    log.info("card stream %s kept changing while being judged; it is judged again next time", stream)
    return None


def _last(history: list[Envelope]) -> SupervisionCardChanged | None:
    if not history:
        return None
    event = decode(history[-1])
    if not isinstance(event, SupervisionCardChanged):
        raise TypeError(f"{history[-1].stream_id} holds a {history[-1].type}, not a card")
    return event


card_worker = every(
    "card check",
    judge_cards,
    lambda settings: settings.card_check_interval_s,
    lambda result: f"{len(result.changes)} supervision cards changed" if result.changes else None,
)
WORKERS: list[Worker] = [card_worker]
