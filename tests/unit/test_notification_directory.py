"""Checks a recipient's or a rule's body passes, and the seed read from the configuration."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from services.notification.api import known_event_types
from services.notification.directory import (
    RecipientBody,
    RuleBody,
    address_problem,
    channel_problems,
    recipient_problems,
    rule_problems,
)
from services.notification.seed import BadSeed, parse_seed, recipient_id_of, rule_id_of
from shared.auth import Role
from shared.events.catalogue.notification import Channel, ChannelKind


def problems_of(*channels: dict[str, Any]) -> list[tuple[str, str]]:
    return channel_problems([Channel.model_validate(c) for c in channels])


@pytest.mark.parametrize(
    "channel",
    [
        {"kind": "email", "address": "wang.fang@tongxin.gov.cn"},
        {"kind": "email", "address": "xzb+alerts@mail.example.cn"},
        {"kind": "webhook", "address": "https://county.example.cn/alerts", "secret_ref": "county-system"},
        {"kind": "webhook", "address": "https://10.0.0.5:8443/in?src=xingcun", "secret_ref": "k1"},
        {"kind": "sms", "address": "13800138000"},
        {"kind": "sms", "address": "+8613800138000"},
        {"kind": "sms", "address": "+447911123456"},
    ],
)
def test_good_addresses_pass(channel: dict[str, Any]) -> None:
    assert problems_of(channel) == []


@pytest.mark.parametrize(
    ("channel", "field"),
    [
        ({"kind": "email", "address": "wang.fang"}, "channels.0.address"),
        ({"kind": "email", "address": "a@b"}, "channels.0.address"),
        ({"kind": "email", "address": "a b@example.cn"}, "channels.0.address"),
        (
            {"kind": "webhook", "address": "http://county.example.cn/in", "secret_ref": "k"},
            "channels.0.address",
        ),
        ({"kind": "webhook", "address": "county.example.cn/in", "secret_ref": "k"}, "channels.0.address"),
        (
            {"kind": "webhook", "address": "https://user:pw@example.cn/in", "secret_ref": "k"},
            "channels.0.address",
        ),
        ({"kind": "webhook", "address": "https://example.cn/in#x", "secret_ref": "k"}, "channels.0.address"),
        ({"kind": "webhook", "address": "https://[::1/in", "secret_ref": "k"}, "channels.0.address"),
        ({"kind": "webhook", "address": "https://example.cn/in"}, "channels.0.secret_ref"),
        ({"kind": "sms", "address": "1380013800"}, "channels.0.address"),
        ({"kind": "sms", "address": "12800138000"}, "channels.0.address"),
        ({"kind": "sms", "address": "0471-1234567"}, "channels.0.address"),
        ({"kind": "email", "address": "a@example.cn", "secret_ref": "k"}, "channels.0.secret_ref"),
    ],
)
def test_bad_channels_are_refused_with_the_field(channel: dict[str, Any], field: str) -> None:
    problems = problems_of(channel)
    assert [f for f, _ in problems] == [field]
    assert all(reason for _, reason in problems)


def test_the_same_channel_twice_is_refused() -> None:
    problems = problems_of(
        {"kind": "email", "address": "a@example.cn"},
        {"kind": "sms", "address": "13800138000"},
        {"kind": "email", "address": "A@example.cn"},
    )
    assert [f for f, _ in problems] == ["channels.2"]


def test_unknown_kinds_roles_and_regions_are_refused_by_the_body() -> None:
    good = {"name": "镇乡村振兴办", "role": "township_officer", "region_code": "150602103",
            "channels": [{"kind": "email", "address": "a@example.cn"}]}  # fmt: skip
    assert RecipientBody.model_validate(good).active is True
    for change, field in [
        ({"role": "mayor"}, "role"),
        ({"channels": [{"kind": "fax", "address": "x"}]}, "channels.0.kind"),
        ({"channels": []}, "channels"),
        ({"region_code": "1506021"}, "region_code"),  # 7 digits is no level
        ({"region_code": "00"}, "region_code"),
        ({"region_code": ""}, "region_code"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
    ]:
        with pytest.raises(ValidationError) as raised:
            RecipientBody.model_validate({**good, **change})
        assert [".".join(str(p) for p in e["loc"]) for e in raised.value.errors()] == [field]


def test_a_rule_names_a_catalogue_event_type_or_star() -> None:
    known = known_event_types()
    assert "monitoring.household_flagged" in known
    assert "notification.routing_rule_set" in known

    def body(**change: Any) -> RuleBody:
        values = {"on_event": "monitoring.household_flagged", "region_prefix": "150602",
                  "roles": ["township_officer"], "channels": ["email"]}  # fmt: skip
        return RuleBody.model_validate({**values, **change})

    assert rule_problems(body(), known) == []
    assert rule_problems(body(on_event="*"), known) == []
    assert [f for f, _ in rule_problems(body(on_event="monitoring.household_flaged"), known)] == ["on_event"]
    assert [f for f, _ in rule_problems(body(on_event="monitoring.*"), known)] == ["on_event"]
    twice = body(roles=["county_officer", "county_officer"], channels=["sms", "sms"])
    assert [f for f, _ in rule_problems(twice, known)] == ["roles", "channels"]
    with pytest.raises(ValidationError):
        body(roles=["mayor"])
    with pytest.raises(ValidationError):
        body(channels=["pigeon"])
    # Roles or parties: a rule reaching nobody is refused, one reaching only the event's parties is not.
    assert [f for f, _ in rule_problems(body(roles=[]), known)] == ["roles"]
    assert rule_problems(body(roles=[], parties=["enterprise"]), known) == []
    contact_by_email = body(parties=["assigned_contact"], channels=["email"])
    assert [f for f, _ in rule_problems(contact_by_email, known)] == ["channels"]
    assert [f for f, _ in rule_problems(body(parties=["enterprise", "enterprise"]), known)] == ["parties"]
    with pytest.raises(ValidationError):
        body(parties=["mayor"])
    # A condition names fields of the one event type's data.
    red = body(on_event="reporting.supervision_card_changed", where={"card": ["red"]})
    assert rule_problems(red, known) == []
    assert [f for f, _ in rule_problems(body(where={"colour": ["red"]}), known)] == ["where.colour"]
    assert [f for f, _ in rule_problems(body(where={"urgent": []}), known)] == ["where.urgent"]
    assert [f for f, _ in rule_problems(body(on_event="*", where={"card": ["red"]}), known)] == ["where"]


def test_only_an_enterprise_recipient_speaks_for_an_enterprise() -> None:
    values = {"name": "某企业", "role": "enterprise", "region_code": "150602",
              "channels": [{"kind": "email", "address": "e@example.cn"}],
              "enterprise_id": str(uuid.uuid4())}  # fmt: skip
    assert recipient_problems(RecipientBody.model_validate(values)) == []
    officer = RecipientBody.model_validate({**values, "role": "county_officer"})
    assert [f for f, _ in recipient_problems(officer)] == ["enterprise_id"]


def test_a_webhook_may_be_plain_http_only_where_allowed() -> None:
    hook = Channel(kind=ChannelKind.webhook, address="http://127.0.0.1:9000/in", secret_ref="k")
    assert address_problem(hook) is not None
    assert address_problem(hook, allow_http=True) is None
    assert address_problem(hook.model_copy(update={"address": "ftp://x.example.cn/in"}), allow_http=True)


SEED = {
    "recipients": [
        {"key": "tw-103", "name": "城关镇", "role": "township_officer", "region_code": "150602103",
         "channels": [{"kind": "email", "address": "tw103@example.cn"}]},
        {"key": "county", "name": "县乡村振兴局", "role": "county_officer", "region_code": "150602",
         "channels": [{"kind": "webhook", "address": "https://county.example.cn/in",
                       "secret_ref": "county"}]},
    ],
    "rules": [
        {"key": "flags", "on_event": "monitoring.household_flagged", "region_prefix": "150602",
         "roles": ["township_officer", "county_officer"], "channels": ["email", "webhook"]},
    ],
}  # fmt: skip


def test_a_seed_is_read_with_ids_from_its_keys() -> None:
    seed = parse_seed(SEED, known_event_types())
    assert [r.key for r in seed.recipients] == ["tw-103", "county"]
    assert seed.recipients[1].role is Role.county_officer
    assert seed.rules[0].channels == [ChannelKind.email, ChannelKind.webhook]
    # The same key gives the same id on every start; recipients and rules never share one.
    assert recipient_id_of("tw-103") == recipient_id_of("tw-103") != recipient_id_of("county")
    assert recipient_id_of("flags") != rule_id_of("flags")
    assert parse_seed({}, known_event_types()).recipients == []


def test_a_bad_seed_names_every_problem() -> None:
    bad = {
        "recipients": [
            {**SEED["recipients"][0], "channels": [{"kind": "email", "address": "nobody"}]},
            {**SEED["recipients"][1], "key": "tw-103"},
        ],
        "rules": [{**SEED["rules"][0], "on_event": "monitoring.nothing"}],
    }
    with pytest.raises(BadSeed) as raised:
        parse_seed(bad, known_event_types())
    message = str(raised.value)
    assert "recipients.0.channels.0.address" in message
    assert "rules.0.on_event" in message
    assert "'tw-103' is used twice" in message
    with pytest.raises(BadSeed) as raised:
        parse_seed({"recipients": [{"name": "no key"}]}, known_event_types())
    assert "recipients.0.key" in str(raised.value)
