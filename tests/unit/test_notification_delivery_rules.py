"""Delivery decided without I/O: ids, what an event's data lets through, the stored message, and
what a failed try leads to."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from services.notification.delivery import (
    Failed,
    Retry,
    RetryPolicy,
    after_failure,
    delivery_id_for,
    for_delivery,
    intents_for,
    message_from,
    stored_message,
)
from services.notification.directory import Recipient, RoutingRule
from services.notification.message import DeliveryError
from services.notification.templates import TemplateOptions, render
from shared.auth import Role
from shared.events.catalogue.notification import Channel, ChannelKind, FailureKind
from shared.events.catalogue.reporting import Card, CardSubject, SupervisionCardChanged
from shared.events.envelope import Actor, Envelope
from shared.settings import Settings

VILLAGE = "150602103201"
EMAIL = Channel(kind=ChannelKind.email, address="County@Example.cn")
COUNTY = Recipient(uuid.uuid4(), "县乡村振兴局", Role.county_officer, "150602", (EMAIL,), True)


def card_event(card: Card) -> Envelope:
    event = SupervisionCardChanged(
        subject=CardSubject.project,
        subject_id=uuid.uuid4(),
        village_code=VILLAGE,
        card=card,
        previous=Card.yellow,
        reasons=[],
        judged_on=date(2026, 7, 1),
    )
    now = datetime(2026, 7, 1, 2, tzinfo=UTC)
    return Envelope(
        event_id=uuid.uuid4(),
        type=event.event_type,
        schema_version=1,
        stream_id="card-project-1",
        stream_version=2,
        region_code=VILLAGE,
        occurred_at=now,
        recorded_at=now,
        actor=Actor(id="card-judge", role="platform", region_code=""),
        data=event.model_dump(mode="json"),
    )


def rule(**change: object) -> RoutingRule:
    values: dict[str, object] = {
        "rule_id": uuid.uuid4(),
        "on_event": "reporting.supervision_card_changed",
        "region_prefix": "150602",
        "roles": (Role.county_officer,),
        "channels": (ChannelKind.email,),
        "active": True,
    }
    return RoutingRule(**{**values, **change})  # type: ignore[arg-type]


def test_a_delivery_id_is_the_same_for_the_same_event_recipient_and_address() -> None:
    event_id, recipient_id = uuid.uuid4(), uuid.uuid4()
    same = delivery_id_for(event_id, recipient_id, EMAIL)
    assert same == delivery_id_for(
        event_id, recipient_id, EMAIL.model_copy(update={"address": "county@example.cn"})
    )
    others = {
        delivery_id_for(uuid.uuid4(), recipient_id, EMAIL),
        delivery_id_for(event_id, uuid.uuid4(), EMAIL),
        delivery_id_for(event_id, recipient_id, Channel(kind=ChannelKind.email, address="b@example.cn")),
        delivery_id_for(event_id, recipient_id, Channel(kind=ChannelKind.sms, address="13800138000")),
    }
    assert same not in others and len(others) == 4


def test_a_rule_with_a_condition_lets_only_red_cards_through() -> None:
    red_only = rule(where=(("card", ("red",)),))
    red, yellow = card_event(Card.red), card_event(Card.yellow)
    [intent] = intents_for(red, [COUNTY], [red_only])
    assert intent.recipient == COUNTY and intent.alert_id == red.event_id
    assert intent.delivery_id == delivery_id_for(red.event_id, COUNTY.recipient_id, EMAIL)
    assert intents_for(yellow, [COUNTY], [red_only]) == []
    assert len(intents_for(yellow, [COUNTY], [rule()])) == 1  # no condition: every change
    either = rule(where=(("card", ("red", "yellow")), ("subject", ("project",))))
    assert len(intents_for(yellow, [COUNTY], [either])) == 1
    agreements = rule(where=(("subject", ("agreement",)),))
    assert intents_for(red, [COUNTY], [agreements]) == []


def test_a_message_comes_back_from_its_stored_form_with_its_facts_in_order() -> None:
    envelope = card_event(Card.red)
    message = render(envelope, None, TemplateOptions.of(Settings()))
    back = message_from(stored_message(message), envelope.event_id, envelope.type, VILLAGE, envelope)
    assert back == message
    assert list(back.facts) == list(message.facts)
    delivery_id = uuid.uuid4()
    sent = for_delivery(back, delivery_id)
    assert sent.as_json()["delivery_id"] == str(delivery_id)
    assert sent.as_json()["envelope"]["event_id"] == str(envelope.event_id)


def test_waits_double_up_to_the_most_and_honour_retry_after() -> None:
    policy = RetryPolicy(max_attempts=6, base_s=30, max_s=100)
    assert [policy.wait_s(n) for n in range(1, 5)] == [30, 60, 100, 100]
    assert policy.wait_s(1, asked_s=45) == 45
    assert policy.wait_s(2, asked_s=10) == 60  # never sooner than the backoff
    assert policy.wait_s(1, asked_s=10_000) == 100  # a receiver cannot park it for days


def test_a_failed_try_is_tried_again_until_the_last_and_a_hopeless_one_ends_at_once() -> None:
    policy = RetryPolicy(max_attempts=3, base_s=1, max_s=60)
    busy = DeliveryError("HTTP 503", retryable=True)
    assert after_failure(busy, 1, policy) == Retry(1, "HTTP 503")
    assert after_failure(busy, 2, policy) == Retry(2, "HTTP 503")
    last = after_failure(busy, 3, policy)
    assert isinstance(last, Failed) and last.failure is FailureKind.exhausted and "HTTP 503" in last.error
    refused = after_failure(DeliveryError("HTTP 404", retryable=False), 1, policy)
    assert refused == Failed(FailureKind.refused, "HTTP 404")
