"""An event's own parties against real PostgreSQL and JetStream: the household's assigned contact,
told by SMS through the gateway when the household is flagged again (monitoring driven over HTTP,
in the same process and on the same clock as notification), and the recipients of an enterprise,
told of their own projects and agreements only (pairing and reporting events published into
their streams as those services' relays would)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from shared.auth import Role
from shared.events.catalogue.pairing import (
    AgreementSigned,
    AgreementTerminated,
    Commitments,
    Funding,
    FundingSource,
    HolderKind,
    MilestonePlan,
    Mode,
    Pathway,
    ProjectMilestoneOverdue,
    ProjectRegistered,
    Share,
)
from shared.events.catalogue.reporting import Card, CardReason, CardSubject, SupervisionCardChanged
from shared.events.envelope import Envelope, EventData
from shared.service import wait_caught_up
from tests.support.apps import wait_until
from tests.support.monitoring import annual_survey, quarterly_survey, village_code
from tests.support.notification_services import COUNTY, Services, envelope_of, parsed, services

FLAGGED = "monitoring.household_flagged"
VILLAGE = village_code(1)
TOWNSHIP = VILLAGE[:9]
CONTACT_PHONE = "13800000001"
NEIGHBOURS_CONTACT = "13800000002"


async def contact(s: Services, household_id: str, phone: str) -> None:
    body = {"name": "李帮扶", "unit": "镇农业站", "phone": phone, "assigned_on": s.desk.next_day()}
    await s.desk.ok(f"/households/{household_id}/contact", body, Role.township_officer)


async def eliminate(s: Services, household_id: str) -> None:
    """Two quarters above the line since enrolment, then the elimination procedure."""
    desk = s.desk
    desk.set_day(date(2026, 4, 2))
    await desk.survey(household_id, quarterly_survey("2026Q1", 9000))
    desk.set_day(date(2026, 7, 2))
    await desk.survey(household_id, quarterly_survey("2026Q2", 9500))
    await desk.propose(household_id)
    await desk.verify(household_id, ())
    await desk.deliberate(household_id)
    await desk.review(household_id)
    assert (await desk.approve(household_id, category=None))["stage"] == "eliminated"


async def test_the_assigned_contact_is_told_by_sms_when_the_household_is_flagged_again(
    make_settings: Any,
) -> None:
    async with services(make_settings) as s:
        desk = s.desk
        hid = await desk.register(1)
        neighbour = await desk.register(2)
        assert (await desk.survey(hid, annual_survey(2025)))["flag"] is None
        await desk.enrol(hid)
        await contact(s, hid, CONTACT_PHONE)
        await desk.enrol(neighbour)
        await contact(s, neighbour, NEIGHBOURS_CONTACT)
        await eliminate(s, hid)
        # Everything so far taken in (the elimination is the household's last event) and routed,
        # before the rules exist: what follows is told because of the new flag alone.
        await s.until(
            "SELECT NOT monitored AND contact_phone = $2 FROM household_watch WHERE household_id = $1",
            uuid.UUID(hid),
            CONTACT_PHONE,
            what="the contact and the elimination taken in",
        )
        runtime = s.notification.state.runtime
        assert await wait_caught_up(runtime, 10, {"notification-router-monitoring"}) == 0

        township = await s.recipient(
            "township_officer", TOWNSHIP, [{"kind": "email", "address": "cgz@example.cn"}]
        )
        await s.rule(FLAGGED, ["email", "sms"], roles=["township_officer"], parties=["assigned_contact"])
        await s.directory_has(recipients=1, rules=1)

        await desk.flag(hid)
        items = await s.settled(2)
        by_channel = {i["channel"]: i for i in items}
        assert set(by_channel) == {"email", "sms"}
        sms = by_channel["sms"]
        assert (sms["status"], sms["address"], sms["recipient_name"]) == (
            "delivered",
            CONTACT_PHONE,
            "李帮扶（镇农业站，帮扶联系人）",
        )
        assert sms["recipient_id"] != township
        assert (by_channel["email"]["recipient_id"], by_channel["email"]["status"]) == (township, "delivered")
        assert by_channel["email"]["event_id"] == sms["event_id"]

        # The gateway got one text, for this household's contact only, with the bearer token.
        [sent] = s.receiver.accepted
        assert sent["headers"]["authorization"] == "Bearer gateway-token"
        assert sent["body"]["to"] == CONTACT_PHONE
        text = sent["body"]["text"]
        assert text.startswith(f"防返贫监测：村 {VILLAGE} 一户被识别为风险户")
        assert f"农户编号：{hid}" in text
        assert len(text) <= s.settings.sms_max_chars
        assert NEIGHBOURS_CONTACT not in {a["body"]["to"] for a in s.receiver.accepted}

        [(to, mail)] = await s.mails(1)
        assert to == ["cgz@example.cn"]
        assert "再次识别：该户风险曾被消除，现再次被识别" in mail.get_content().splitlines()
        assert len(s.receiver.accepted) == 1


# -- enterprises ---------------------------------------------------------------------------------

FIRM_A = uuid.uuid4()
FIRM_B = uuid.uuid4()
PROJECT_A = uuid.uuid4()
PROJECT_B = uuid.uuid4()
AGREEMENT_A = uuid.uuid4()
AGREEMENT_B = uuid.uuid4()
FIRM_A_MAIL = "a@firm-a.example.cn"
FIRM_A_PHONE = "13900000001"
FIRM_B_MAIL = "b@firm-b.example.cn"
OFFICE = "county@example.cn"


def project(project_id: uuid.UUID, enterprise: uuid.UUID) -> ProjectRegistered:
    return ProjectRegistered(
        project_id=project_id,
        village_code=VILLAGE,
        agreement_ids=[],
        enterprise_ids=[enterprise],
        name="肉牛养殖基地",
        industry="畜牧",
        budget_yuan=Decimal("1000000.00"),
        funding=[Funding(source=FundingSource.enterprise, amount_yuan=Decimal("1000000.00"))],
        shareholding=[Share(holder=HolderKind.village_collective, percent=Decimal("100"))],
        beneficiary_households=20,
        jobs=5,
        milestones=[MilestonePlan(milestone_id="barn", name="牛舍建成", due_on=date(2026, 5, 31))],
    )


def agreement(agreement_id: uuid.UUID, enterprise: uuid.UUID) -> AgreementSigned:
    return AgreementSigned(
        agreement_id=agreement_id,
        enterprise_id=enterprise,
        village_code=VILLAGE,
        signed_on=date(2025, 3, 1),
        term_years=3,
        document_ref="县结对〔2025〕1号",
        pathways=[Pathway.industry],
        mode=Mode.leading_enterprise,
        commitments=Commitments(),
    )


async def publish(s: Services, service: Any, event: EventData, stream_id: str, version: int = 1) -> Envelope:
    """As the service's relay would: each stream's events in their order, numbered from 1."""
    envelope = envelope_of(event, VILLAGE, stream_id, s.clock.now(), version)
    await s.publish(service, envelope)
    return envelope


def mails_to(s: Services, address: str) -> list[str]:
    return [str(parsed(raw)["Subject"]) for to, raw in list(s.mailbox.received) if to == [address]]


async def test_an_enterprises_recipients_hear_of_its_own_projects_and_agreements_only(
    make_settings: Any,
) -> None:
    async with services(make_settings) as s:
        # Refused: an enterprise named by a recipient not in the enterprise role; a contact rule
        # without SMS.
        refused = await s.client.post(
            "/recipients",
            json={
                "name": "x",
                "role": "county_officer",
                "region_code": COUNTY,
                "channels": [{"kind": "email", "address": "x@example.cn"}],
                "enterprise_id": str(FIRM_A),
            },
            headers=s.county,
        )
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "enterprise_id"
        no_sms = await s.client.put(
            f"/routing-rules/{uuid.uuid4()}",
            json={
                "on_event": FLAGGED,
                "region_prefix": COUNTY,
                "parties": ["assigned_contact"],
                "channels": ["email"],
            },
            headers=s.county,
        )
        assert no_sms.status_code == 422 and no_sms.json()["errors"][0]["field"] == "channels"

        firm_a = await s.recipient(
            "enterprise",
            COUNTY,
            [{"kind": "email", "address": FIRM_A_MAIL}, {"kind": "sms", "address": FIRM_A_PHONE}],
            enterprise_id=str(FIRM_A),
        )
        firm_b = await s.recipient(
            "enterprise", COUNTY, [{"kind": "email", "address": FIRM_B_MAIL}], enterprise_id=str(FIRM_B)
        )
        office = await s.recipient("county_officer", COUNTY, [{"kind": "email", "address": OFFICE}])
        # The county hears of overdue milestones by role; the enterprises, as parties, also by SMS.
        # A rule naming the enterprise role reaches no recipient speaking for an enterprise.
        await s.rule(
            "pairing.project_milestone_overdue",
            ["email", "sms"],
            roles=["county_officer", "enterprise"],
            parties=["enterprise"],
        )
        await s.rule("pairing.agreement_terminated", ["email"], parties=["enterprise"])
        await s.rule("reporting.supervision_card_changed", ["email"], parties=["enterprise"])
        await s.directory_has(recipients=3, rules=3)

        await publish(s, "pairing", project(PROJECT_A, FIRM_A), f"project-{PROJECT_A}")
        await publish(s, "pairing", project(PROJECT_B, FIRM_B), f"project-{PROJECT_B}")
        await publish(s, "pairing", agreement(AGREEMENT_A, FIRM_A), f"village-{VILLAGE}")
        await publish(s, "pairing", agreement(AGREEMENT_B, FIRM_B), f"village-{VILLAGE}", 2)
        await s.until("SELECT count(*) = 4 FROM enterprise_links", what="the enterprises' links taken in")

        overdue = ProjectMilestoneOverdue(
            project_id=PROJECT_A,
            village_code=VILLAGE,
            milestone_id="barn",
            due_on=date(2026, 5, 31),
            detected_on=date(2026, 6, 2),
        )
        told_overdue = await publish(s, "pairing", overdue, f"project-{PROJECT_A}", 2)
        terminated = AgreementTerminated(
            agreement_id=AGREEMENT_B,
            enterprise_id=FIRM_B,
            village_code=VILLAGE,
            terminated_on=date(2026, 6, 1),
            reason="企业经营困难",
        )
        told_terminated = await publish(s, "pairing", terminated, f"village-{VILLAGE}", 3)
        card = SupervisionCardChanged(
            subject=CardSubject.agreement,
            subject_id=AGREEMENT_A,
            village_code=VILLAGE,
            card=Card.yellow,
            previous=Card.green,
            reasons=[CardReason(code="investment_behind_plan", card=Card.yellow, text="投资进度落后计划40%")],
            judged_on=date(2026, 6, 2),
        )
        told_card = await publish(s, "reporting", card, f"card-agreement-{AGREEMENT_A}")

        items = await s.settled(5)
        assert {i["status"] for i in items} == {"delivered"}
        told = {(i["event_id"], i["recipient_id"], i["channel"]) for i in items}
        assert told == {
            (str(told_overdue.event_id), firm_a, "email"),
            (str(told_overdue.event_id), firm_a, "sms"),
            (str(told_overdue.event_id), office, "email"),
            (str(told_terminated.event_id), firm_b, "email"),
            (str(told_card.event_id), firm_a, "email"),
        }

        await wait_until(lambda: len(s.mailbox.received) == 4, 10, "4 mails")
        assert sorted(mails_to(s, FIRM_A_MAIL)) == sorted(
            [
                "项目节点逾期：村 150602100002 的项目节点 barn 应于2026年5月31日完成",
                "红黄绿牌督办：村 150602100002 的结对协议由绿牌转为黄牌",
            ]
        )
        assert mails_to(s, FIRM_B_MAIL) == [
            "结对协议待接续：村 150602100002 的结对协议已终止，需安排企业接续帮扶"
        ]
        assert mails_to(s, OFFICE) == ["项目节点逾期：村 150602100002 的项目节点 barn 应于2026年5月31日完成"]
        [sms] = s.receiver.accepted
        assert sms["body"]["to"] == FIRM_A_PHONE
        assert sms["body"]["text"].startswith("项目节点逾期：村 150602100002 的项目节点 barn")
        assert str(PROJECT_A) in sms["body"]["text"]

        # Their own projects' news once more: the other firm's milestone reaches the other firm.
        other = ProjectMilestoneOverdue(
            project_id=PROJECT_B,
            village_code=VILLAGE,
            milestone_id="barn",
            due_on=date(2026, 5, 31),
            detected_on=date(2026, 6, 3),
        )
        told_other = await publish(s, "pairing", other, f"project-{PROJECT_B}", 2)
        items = await s.settled(7)
        assert {
            (i["recipient_id"], i["channel"]) for i in items if i["event_id"] == str(told_other.event_id)
        } == {
            (firm_b, "email"),
            (office, "email"),
        }
        assert len(s.receiver.accepted) == 1
