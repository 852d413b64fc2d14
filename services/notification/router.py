"""The router: from each event of the streams it follows, the deliveries the routing rules ask
for, written before anything is sent (``alerts`` and ``deliveries``).

Not a projector: it keeps no checkpoint per stream. Its rows are keyed by ids derived from the
event (``delivery.delivery_id_for``) and inserted with ``ON CONFLICT DO NOTHING``, so a batch
JetStream delivers again, or that a second instance routes, adds nothing; and it may start
anywhere in a stream. An event older than ``notification_max_event_age_h`` when it is first
routed (a new router reading history, or a long outage) is not told: that news is stale.
The directory read is the one of the moment of routing.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.notification.delivery import Intent, intents_for, stored_message
from services.notification.directory import Recipient, RoutingRule, address_problem
from services.notification.routing import NO_PARTIES, EventParties, rules_for
from services.notification.templates import TemplateOptions, render
from shared.auth import Role
from shared.clock import Clock
from shared.events.catalogue.notification import ANY_EVENT, Channel, ChannelKind, Party
from shared.events.envelope import Envelope
from shared.messaging.batched_writes import driver_connection
from shared.messaging.checkpoints import DeadLetter, record_dead_letter
from shared.messaging.projector import Delivery, Outcome

log = logging.getLogger(__name__)

_RULES = (
    "SELECT rule_id, on_event, region_prefix, roles, channels, parties, condition "
    "FROM routing_rules WHERE active"
)
# The regions covering an event's are its prefixes (2, 4, 6, 9, 12 digits): an index probe each.
_RECIPIENTS = (
    "SELECT recipient_id, name, role, region_code, channels, enterprise_id FROM recipients "
    "WHERE active AND region_code = ANY($1::text[])"
)
# One statement for both: atomic without a transaction around it (and the foreign key of a
# delivery is checked when the statement ends, its alert inserted).
_WRITE = """
    WITH alerts_added AS (
        INSERT INTO alerts (alert_id, alert_type, region_code, occurred_at, message, envelope, correlation_id)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[],
            $6::jsonb[], $7::text[])
        ON CONFLICT (alert_id) DO NOTHING
    )
    INSERT INTO deliveries (delivery_id, alert_id, alert_type, region_code, recipient_id,
        recipient_name, channel, address, secret_ref, status, next_attempt_at, created_at)
    SELECT d, a, t, r, rid, n, c, addr, s, 'pending', now(), now()
    FROM unnest($8::uuid[], $9::uuid[], $10::text[], $11::text[], $12::uuid[], $13::text[], $14::text[],
        $15::text[], $16::text[]) AS x(d, a, t, r, rid, n, c, addr, s)
    ON CONFLICT (delivery_id) DO NOTHING
"""
_CONTACTS = (
    "SELECT household_id, region_code, contact_name, contact_unit, contact_phone FROM household_watch "
    "WHERE household_id = ANY($1::uuid[]) AND contact_phone IS NOT NULL"
)
_LINKS = "SELECT subject_id, enterprise_ids FROM enterprise_links WHERE subject_id = ANY($1::uuid[])"
_ENTERPRISE_RECIPIENTS = (
    "SELECT recipient_id, name, role, region_code, channels, enterprise_id FROM recipients "
    "WHERE active AND enterprise_id = ANY($1::uuid[])"
)
_PREFIXES = (2, 4, 6, 9, 12)
# Fields through which an event names an enterprise: directly, or by an agreement or a project
# (a card's subject is one of those).
_ENTERPRISE_FIELDS = ("enterprise_id", "enterprise_ids")
_LINKED_FIELDS = ("agreement_id", "agreement_ids", "project_id", "subject_id", "successor_agreement_id")
_CONTACTS_NAMESPACE = uuid.UUID("3d0c6a52-96e1-5b1f-b7a4-1f0e2d9c8a77")


def covering(region_code: str) -> list[str]:
    return [region_code[:n] for n in _PREFIXES if n <= len(region_code)]


def event_type_of(subject: str) -> str:
    """``<root>.<2>.<4>.<6>.<service>.<event>`` → ``<service>.<event>``."""
    return ".".join(subject.rsplit(".", 2)[-2:])


class Router:
    """Routes one source stream's events (``notification-router-<source>``)."""

    def __init__(
        self,
        engine: AsyncEngine,
        source: str,
        options: TemplateOptions,
        clock: Clock,
        max_age: timedelta,
        routed: Callable[[], None],
    ) -> None:
        self.engine = engine
        self.name = f"notification-router-{source}"
        self.options = options
        self.clock = clock
        self.max_age = max_age
        self.routed = routed  # wakes the dispatcher

    async def apply_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        # Statements in autocommit on the driver's connection, one round trip each: reads of the
        # directory, then one write that is atomic and idempotent on its own.
        async with self.engine.connect() as conn:
            raw = await driver_connection(conn)
            rules = [_rule(row) for row in await raw.fetch(_RULES)]
            intents, alerts, letters = await self._route(raw, deliveries, rules)
            if intents:
                await _write(raw, alerts, intents)
            if letters:
                async with conn.begin():
                    for letter in letters:
                        await record_dead_letter(conn, letter)
        if intents:
            self.routed()
        return [Outcome() for _ in deliveries]

    async def _route(
        self, raw: Any, deliveries: Sequence[Delivery], rules: list[RoutingRule]
    ) -> tuple[list[Intent], dict[str, tuple[Envelope, str]], list[DeadLetter]]:
        # Most events concern no rule (surveys, registrations): judged by the subject, unread.
        types = {rule.on_event for rule in rules}
        candidates: list[tuple[Envelope, list[RoutingRule]]] = []
        letters: list[DeadLetter] = []
        oldest = self.clock.now() - self.max_age
        for delivery in deliveries:
            if ANY_EVENT not in types and event_type_of(delivery.subject) not in types:
                continue
            try:
                envelope = Envelope.model_validate_json(delivery.payload)
            except Exception as exc:
                letters.append(_letter(self.name, delivery, exc))
                continue
            applying = rules_for(envelope.type, envelope.region_code, rules, envelope.data)
            if not applying:
                continue
            if envelope.recorded_at < oldest:
                continue
            candidates.append((envelope, applying))
        if not candidates:
            return [], {}, letters
        regions = sorted({prefix for envelope, _ in candidates for prefix in covering(envelope.region_code)})
        recipients = [_recipient(row) for row in await raw.fetch(_RECIPIENTS, regions)]
        parties = await _parties(raw, [e for e, rules in candidates if any(r.parties for r in rules)])
        intents: list[Intent] = []
        alerts: dict[str, tuple[Envelope, str]] = {}
        for envelope, applying in candidates:
            found = intents_for(envelope, recipients, applying, parties.get(envelope.event_id, NO_PARTIES))
            if found:
                intents.extend(found)
                alerts[str(envelope.event_id)] = (
                    envelope,
                    stored_message(render(envelope, None, self.options)),
                )
        return intents, alerts, letters


async def _write(raw: Any, alerts: dict[str, tuple[Envelope, str]], intents: list[Intent]) -> None:
    values = list(alerts.values())
    regions = {str(e.event_id): e.region_code for e, _ in values}
    types = {str(e.event_id): e.type for e, _ in values}
    await raw.execute(
        _WRITE,
        [e.event_id for e, _ in values],
        [e.type for e, _ in values],
        [e.region_code for e, _ in values],
        [e.recorded_at for e, _ in values],
        [message for _, message in values],
        [e.model_dump_json() for e, _ in values],
        [e.correlation_id for e, _ in values],
        [i.delivery_id for i in intents],
        [i.alert_id for i in intents],
        [types[str(i.alert_id)] for i in intents],
        [regions[str(i.alert_id)] for i in intents],
        [i.recipient.recipient_id for i in intents],
        [i.recipient.name for i in intents],
        [i.channel.kind.value for i in intents],
        [i.channel.address for i in intents],
        [i.channel.secret_ref for i in intents],
    )


def _values(data: dict[str, Any], fields: Sequence[str]) -> list[str]:
    found: list[str] = []
    for name in fields:
        value = data.get(name)
        if isinstance(value, list):
            found.extend(str(v) for v in value)
        elif value is not None:
            found.append(str(value))
    return found


async def _parties(raw: Any, envelopes: list[Envelope]) -> dict[uuid.UUID, EventParties]:
    """Each event's parties: its household's contact, the recipients of the enterprises it names."""
    if not envelopes:
        return {}
    households = {str(e.data["household_id"]) for e in envelopes if e.data.get("household_id")}
    contacts: dict[str, Recipient] = {}
    if households:
        for row in await raw.fetch(_CONTACTS, sorted(households)):
            if contact := _contact(row):
                contacts[str(row["household_id"])] = contact
    linked = {v for e in envelopes for v in _values(e.data, _LINKED_FIELDS)}
    links: dict[str, list[str]] = {}
    if linked:
        for row in await raw.fetch(_LINKS, sorted(linked)):
            links[str(row["subject_id"])] = [str(i) for i in row["enterprise_ids"]]
    named = {
        e.event_id: {
            *_values(e.data, _ENTERPRISE_FIELDS),
            *(i for v in _values(e.data, _LINKED_FIELDS) for i in links.get(v, ())),
        }
        for e in envelopes
    }
    wanted = sorted({i for ids in named.values() for i in ids})
    by_enterprise: dict[str, list[Recipient]] = {}
    if wanted:
        for row in await raw.fetch(_ENTERPRISE_RECIPIENTS, wanted):
            by_enterprise.setdefault(str(row["enterprise_id"]), []).append(_recipient(row))
    return {
        e.event_id: EventParties(
            contact=contacts.get(str(e.data.get("household_id"))),
            enterprises=tuple(r for i in sorted(named[e.event_id]) for r in by_enterprise.get(i, ())),
        )
        for e in envelopes
    }


def _contact(row: Any) -> Recipient | None:
    """The household's assigned contact as a recipient: reached by SMS at the phone monitoring
    recorded, when it is a mobile number."""
    channel = Channel(kind=ChannelKind.sms, address=str(row["contact_phone"]).strip())
    if address_problem(channel) is not None:
        return None
    household_id = row["household_id"]
    return Recipient(
        recipient_id=uuid.uuid5(_CONTACTS_NAMESPACE, f"{household_id}/{channel.address}"),
        name=f"{row['contact_name']}（{row['contact_unit']}，帮扶联系人）",
        role=Role.viewer,
        region_code=row["region_code"],
        channels=(channel,),
        active=True,
    )


def _json(value: Any) -> Any:
    """A json/jsonb column as the driver gives it: text on a bare connection, decoded where a codec
    is set."""
    return json.loads(value) if isinstance(value, str) else value


def _rule(row: Any) -> RoutingRule:
    return RoutingRule(
        rule_id=row["rule_id"],
        on_event=row["on_event"],
        region_prefix=row["region_prefix"],
        roles=tuple(Role(r) for r in _json(row["roles"])),
        channels=tuple(ChannelKind(c) for c in _json(row["channels"])),
        active=True,
        parties=tuple(Party(p) for p in _json(row["parties"])),
        where=tuple((name, tuple(values)) for name, values in sorted(_json(row["condition"]).items())),
    )


def _recipient(row: Any) -> Recipient:
    return Recipient(
        recipient_id=row["recipient_id"],
        name=row["name"],
        role=Role(row["role"]),
        region_code=row["region_code"],
        channels=tuple(Channel.model_validate(c) for c in _json(row["channels"])),
        active=True,
        enterprise_id=row["enterprise_id"],
    )


def _letter(consumer: str, delivery: Delivery, exc: Exception) -> DeadLetter:
    return DeadLetter(
        consumer=consumer,
        subject=delivery.subject,
        stream_sequence=delivery.stream_sequence,
        reason=f"not an event envelope: {exc!r}"[:2000],
        payload=delivery.payload.decode("utf-8", "replace"),
        attempts=delivery.attempt,
    )
