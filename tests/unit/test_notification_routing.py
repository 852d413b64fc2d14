"""``recipients_for``: which recipients hear of an event, and on which channels."""

from __future__ import annotations

import uuid

from services.notification.directory import Recipient, RoutingRule
from services.notification.routing import EventParties, recipients_for, rules_for
from shared.auth import Role
from shared.events.catalogue.notification import Channel, ChannelKind, Party

FLAGGED = "monitoring.household_flagged"
CARD = "reporting.supervision_card_changed"
OVERDUE = "pairing.project_milestone_overdue"
VILLAGE = "150602103201"  # in township 150602103 of county 150602
OTHER_TOWNSHIP_VILLAGE = "150602104001"
OTHER_COUNTY_VILLAGE = "150603101001"

EMAIL = ChannelKind.email
WEBHOOK = ChannelKind.webhook
SMS = ChannelKind.sms


def email(address: str) -> Channel:
    return Channel(kind=EMAIL, address=address)


def sms(number: str) -> Channel:
    return Channel(kind=SMS, address=number)


def hook(url: str) -> Channel:
    return Channel(kind=WEBHOOK, address=url, secret_ref="county-system")


def recipient(
    n: int, role: Role, region: str, *channels: Channel, active: bool = True, name: str | None = None
) -> Recipient:
    return Recipient(
        recipient_id=uuid.UUID(int=n),
        name=name or f"recipient {n}",
        role=role,
        region_code=region,
        channels=channels,
        active=active,
    )


def rule(
    n: int,
    event_type: str,
    prefix: str,
    roles: tuple[Role, ...],
    channels: tuple[ChannelKind, ...],
    active: bool = True,
    parties: tuple[Party, ...] = (),
) -> RoutingRule:
    return RoutingRule(
        rule_id=uuid.UUID(int=1000 + n),
        on_event=event_type,
        region_prefix=prefix,
        roles=roles,
        channels=channels,
        active=active,
        parties=parties,
    )


TOWNSHIP = recipient(1, Role.township_officer, "150602103", email("tw103@example.cn"), sms("13800138001"))
OTHER_TOWNSHIP = recipient(2, Role.township_officer, "150602104", email("tw104@example.cn"))
COUNTY = recipient(
    3, Role.county_officer, "150602", email("county@example.cn"), hook("https://county.example.cn/hook")
)
OTHER_COUNTY = recipient(4, Role.county_officer, "150603", email("c603@example.cn"))
VILLAGE_OFFICER = recipient(5, Role.village_officer, VILLAGE, sms("13800138005"))
RETIRED = recipient(6, Role.township_officer, "150602103", email("old@example.cn"), active=False)
PROVINCE_PLATFORM = recipient(7, Role.platform, "15", hook("https://platform.example.cn/in"))
EVERYONE = [TOWNSHIP, OTHER_TOWNSHIP, COUNTY, OTHER_COUNTY, VILLAGE_OFFICER, RETIRED, PROVINCE_PLATFORM]


def pairs(found: list[tuple[Recipient, Channel]]) -> list[tuple[int, str]]:
    return [(r.recipient_id.int, c.address) for r, c in found]


def test_a_flag_reaches_the_township_of_the_village_on_the_rules_channels() -> None:
    rules = [rule(1, FLAGGED, "150602", (Role.township_officer,), (EMAIL, SMS))]
    found = recipients_for(FLAGGED, VILLAGE, EVERYONE, rules)
    # Not the other township, not the inactive officer, not roles the rule does not name.
    assert pairs(found) == [(1, "tw103@example.cn"), (1, "13800138001")]


def test_only_channels_both_the_rule_and_the_recipient_have() -> None:
    rules = [rule(1, FLAGGED, "15", (Role.township_officer, Role.county_officer), (EMAIL,))]
    found = recipients_for(FLAGGED, VILLAGE, EVERYONE, rules)
    assert pairs(found) == [(1, "tw103@example.cn"), (3, "county@example.cn")]
    webhook_only = [rule(2, FLAGGED, "15", (Role.township_officer, Role.county_officer), (WEBHOOK,))]
    assert pairs(recipients_for(FLAGGED, VILLAGE, EVERYONE, webhook_only)) == [
        (3, "https://county.example.cn/hook")
    ]


def test_a_rule_for_another_event_type_or_region_applies_to_nothing() -> None:
    rules = [
        rule(1, CARD, "150602", (Role.township_officer,), (EMAIL,)),
        rule(2, FLAGGED, "150603", (Role.township_officer,), (EMAIL,)),
        rule(3, FLAGGED, "150602104", (Role.township_officer,), (EMAIL,)),
    ]
    assert recipients_for(FLAGGED, VILLAGE, EVERYONE, rules) == []
    assert rules_for(FLAGGED, VILLAGE, rules) == []


def test_a_star_rule_applies_to_every_event_type() -> None:
    rules = [rule(1, "*", "150602", (Role.county_officer,), (EMAIL,))]
    for event_type in (FLAGGED, CARD, "pairing.project_milestone_overdue"):
        assert pairs(recipients_for(event_type, VILLAGE, EVERYONE, rules)) == [(3, "county@example.cn")]


def test_an_inactive_rule_applies_to_nothing() -> None:
    rules = [rule(1, FLAGGED, "150602", (Role.township_officer,), (EMAIL,), active=False)]
    assert recipients_for(FLAGGED, VILLAGE, EVERYONE, rules) == []


def test_the_recipients_region_must_cover_the_events() -> None:
    rules = [
        rule(
            1,
            FLAGGED,
            "15",
            (Role.county_officer, Role.village_officer, Role.platform),
            (EMAIL, SMS, WEBHOOK),
        )
    ]
    in_other_county = recipients_for(FLAGGED, OTHER_COUNTY_VILLAGE, EVERYONE, rules)
    assert pairs(in_other_county) == [(4, "c603@example.cn"), (7, "https://platform.example.cn/in")]
    in_village = recipients_for(FLAGGED, VILLAGE, EVERYONE, rules)
    assert pairs(in_village) == [
        (3, "county@example.cn"),
        (3, "https://county.example.cn/hook"),
        (5, "13800138005"),
        (7, "https://platform.example.cn/in"),
    ]
    # The village officer hears of their own village only, not of another in the same township.
    assert 5 not in {r.recipient_id.int for r, _ in recipients_for(FLAGGED, "150602103202", EVERYONE, rules)}


def test_a_county_level_event_reaches_the_county_not_its_townships() -> None:
    rules = [rule(1, CARD, "150602", (Role.township_officer, Role.county_officer), (EMAIL,))]
    found = recipients_for(CARD, "150602000000", EVERYONE, rules)
    assert pairs(found) == [(3, "county@example.cn")]


def test_rules_add_up_and_each_channel_is_given_once() -> None:
    rules = [
        rule(1, FLAGGED, "150602", (Role.township_officer,), (EMAIL,)),
        rule(2, "*", "15", (Role.township_officer,), (EMAIL, SMS)),
        rule(3, FLAGGED, "150602103", (Role.township_officer,), (SMS,)),
    ]
    found = recipients_for(FLAGGED, VILLAGE, EVERYONE, rules)
    assert pairs(found) == [(1, "tw103@example.cn"), (1, "13800138001")]
    # Rules naming different roles each bring their own recipients.
    rules.append(rule(4, FLAGGED, "150602", (Role.county_officer,), (WEBHOOK,)))
    assert pairs(recipients_for(FLAGGED, VILLAGE, EVERYONE, rules)) == [
        (1, "tw103@example.cn"),
        (1, "13800138001"),
        (3, "https://county.example.cn/hook"),
    ]


def test_a_recipient_with_two_addresses_of_a_kind_gets_both() -> None:
    two = recipient(8, Role.county_officer, "150602", email("a@example.cn"), email("b@example.cn"))
    rules = [rule(1, FLAGGED, "150602", (Role.county_officer,), (EMAIL,))]
    assert pairs(recipients_for(FLAGGED, VILLAGE, [two], rules)) == [(8, "a@example.cn"), (8, "b@example.cn")]


def test_the_order_does_not_depend_on_the_order_given() -> None:
    rules = [rule(1, "*", "15", tuple(Role), tuple(ChannelKind))]
    forward = recipients_for(FLAGGED, VILLAGE, EVERYONE, rules)
    backward = recipients_for(FLAGGED, VILLAGE, list(reversed(EVERYONE)), list(reversed(rules)))
    assert forward == backward
    assert [r.recipient_id.int for r, _ in forward] == sorted(r.recipient_id.int for r, _ in forward)


def test_nothing_without_rules_or_recipients() -> None:
    rules = [rule(1, "*", "15", tuple(Role), tuple(ChannelKind))]
    assert recipients_for(FLAGGED, VILLAGE, EVERYONE, []) == []
    assert recipients_for(FLAGGED, VILLAGE, [], rules) == []


# -- an event's own parties: the household's contact, the enterprise --------------------------------

ENTERPRISE_A = uuid.UUID(int=9001)
ENTERPRISE_B = uuid.UUID(int=9002)


def enterprise_recipient(n: int, enterprise: uuid.UUID, *channels: Channel, active: bool = True) -> Recipient:
    return Recipient(
        recipient_id=uuid.UUID(int=n),
        name=f"enterprise {n}",
        role=Role.enterprise,
        region_code="150602",
        channels=channels,
        active=active,
        enterprise_id=enterprise,
    )


# As the router makes the contact (router._contact): by SMS only, at the phone monitoring recorded.
CONTACT = recipient(50, Role.viewer, VILLAGE, sms("13800138050"), name="李帮扶（镇农业站，帮扶联系人）")
FIRM_A = enterprise_recipient(
    60, ENTERPRISE_A, email("a@firm.example.cn"), hook("https://firm-a.example.cn/hook")
)
FIRM_A_DESK = enterprise_recipient(61, ENTERPRISE_A, sms("13800138061"))
FIRM_B = enterprise_recipient(62, ENTERPRISE_B, email("b@firm.example.cn"))
FIRMS = [FIRM_A, FIRM_A_DESK, FIRM_B]


def test_an_assigned_contact_rule_reaches_the_contact_by_sms_only() -> None:
    parties = EventParties(contact=CONTACT)
    sms_rule = [rule(1, FLAGGED, "150602", (), (SMS,), parties=(Party.assigned_contact,))]
    assert pairs(recipients_for(FLAGGED, VILLAGE, EVERYONE, sms_rule, parties)) == [(50, "13800138050")]
    # The contact has no other channel: a rule asking for e-mail only reaches nobody through them.
    email_rule = [rule(2, FLAGGED, "150602", (), (EMAIL, WEBHOOK), parties=(Party.assigned_contact,))]
    assert recipients_for(FLAGGED, VILLAGE, EVERYONE, email_rule, parties) == []
    # No contact assigned (or none with a mobile number): nobody.
    assert recipients_for(FLAGGED, VILLAGE, EVERYONE, sms_rule) == []
    assert recipients_for(FLAGGED, VILLAGE, EVERYONE, sms_rule, EventParties()) == []
    # A rule naming the contact and not the event's type, or another region, reaches nobody.
    elsewhere = [rule(3, FLAGGED, "150603", (), (SMS,), parties=(Party.assigned_contact,))]
    assert recipients_for(FLAGGED, VILLAGE, EVERYONE, elsewhere, parties) == []
    inactive = [rule(4, FLAGGED, "150602", (), (SMS,), active=False, parties=(Party.assigned_contact,))]
    assert recipients_for(FLAGGED, VILLAGE, EVERYONE, inactive, parties) == []


def test_an_enterprise_rule_reaches_only_the_recipients_of_that_enterprise() -> None:
    rules = [rule(1, OVERDUE, "150602", (), (EMAIL, SMS, WEBHOOK), parties=(Party.enterprise,))]
    everyone = [*EVERYONE, *FIRMS]
    of_a = EventParties(enterprises=(FIRM_A, FIRM_A_DESK))
    assert pairs(recipients_for(OVERDUE, VILLAGE, everyone, rules, of_a)) == [
        (60, "a@firm.example.cn"),
        (60, "https://firm-a.example.cn/hook"),
        (61, "13800138061"),
    ]
    of_b = EventParties(enterprises=(FIRM_B,))
    assert pairs(recipients_for(OVERDUE, VILLAGE, everyone, rules, of_b)) == [(62, "b@firm.example.cn")]
    # The channels are those of the rule, as for roles.
    email_only = [rule(2, OVERDUE, "150602", (), (EMAIL,), parties=(Party.enterprise,))]
    assert pairs(recipients_for(OVERDUE, VILLAGE, everyone, email_only, of_a)) == [(60, "a@firm.example.cn")]
    # An event naming no enterprise, or a rule not naming the party, reaches no enterprise.
    assert recipients_for(OVERDUE, VILLAGE, everyone, rules, EventParties()) == []
    by_contact = [rule(3, OVERDUE, "150602", (), (SMS,), parties=(Party.assigned_contact,))]
    assert recipients_for(OVERDUE, VILLAGE, everyone, by_contact, of_a) == []
    # A deactivated enterprise recipient is told nothing.
    retired = enterprise_recipient(63, ENTERPRISE_A, email("old@firm.example.cn"), active=False)
    assert recipients_for(OVERDUE, VILLAGE, everyone, email_only, EventParties(enterprises=(retired,))) == []


def test_a_recipient_of_an_enterprise_is_never_reached_by_role() -> None:
    # Even a rule naming the enterprise role, in the recipient's region, with its channels.
    by_role = [rule(1, "*", "15", tuple(Role), tuple(ChannelKind))]
    everyone = [*EVERYONE, *FIRMS]
    reached = {r.recipient_id.int for r, _ in recipients_for(OVERDUE, VILLAGE, everyone, by_role)}
    assert reached == {1, 3, 5, 7}
    county_level = {r.recipient_id.int for r, _ in recipients_for(CARD, "150602000000", everyone, by_role)}
    assert county_level.isdisjoint({60, 61, 62})
    # An enterprise-role recipient speaking for no one enterprise is reached by role as any other.
    office = recipient(64, Role.enterprise, "150602", email("federation@example.cn"))
    enterprise_role = [rule(2, OVERDUE, "150602", (Role.enterprise,), (EMAIL,))]
    found = recipients_for(OVERDUE, VILLAGE, [*FIRMS, office], enterprise_role)
    assert pairs(found) == [(64, "federation@example.cn")]
    # And when the event is the enterprise's own, the role rule still does not reach it.
    of_a = EventParties(enterprises=(FIRM_A,))
    assert pairs(recipients_for(OVERDUE, VILLAGE, [*FIRMS, office], enterprise_role, of_a)) == [
        (64, "federation@example.cn")
    ]


def test_roles_and_parties_add_up_without_duplicates() -> None:
    parties = EventParties(contact=CONTACT, enterprises=(FIRM_A,))
    rules = [
        rule(1, FLAGGED, "150602", (Role.township_officer,), (EMAIL, SMS), parties=(Party.assigned_contact,)),
        rule(
            2, "*", "15", (Role.township_officer,), (SMS,), parties=(Party.assigned_contact, Party.enterprise)
        ),
        rule(3, FLAGGED, "150602103", (), (EMAIL,), parties=(Party.enterprise,)),
    ]
    found = recipients_for(FLAGGED, VILLAGE, [*EVERYONE, *FIRMS], rules, parties)
    assert pairs(found) == [
        (1, "tw103@example.cn"),
        (1, "13800138001"),
        (50, "13800138050"),
        (60, "a@firm.example.cn"),
    ]
    # Two rules reaching the firm bring the channels of either, each once.
    more = [*rules, rule(4, FLAGGED, "150602", (), (WEBHOOK, EMAIL), parties=(Party.enterprise,))]
    assert pairs(recipients_for(FLAGGED, VILLAGE, [*EVERYONE, *FIRMS], more, parties)) == [
        (1, "tw103@example.cn"),
        (1, "13800138001"),
        (50, "13800138050"),
        (60, "a@firm.example.cn"),
        (60, "https://firm-a.example.cn/hook"),
    ]
    # A party that is also among the recipients by role (the same id) is told once per channel.
    contact_on_record = recipient(
        1, Role.township_officer, "150602103", email("tw103@example.cn"), sms("13800138001")
    )
    same = EventParties(contact=contact_on_record)
    assert pairs(recipients_for(FLAGGED, VILLAGE, EVERYONE, rules[:1], same)) == [
        (1, "tw103@example.cn"),
        (1, "13800138001"),
    ]
