"""The Chinese messages made from events: the facts a person needs to act, and nothing personal."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from services.notification.templates import TemplateOptions, region_prefix, render
from shared.events.catalogue.monitoring import FlagSource, HouseholdFlagged, RiskType
from shared.events.catalogue.pairing import AgreementTerminated, ProjectMilestoneOverdue
from shared.events.catalogue.reporting import Card, CardReason, CardSubject, SupervisionCardChanged
from shared.events.envelope import Actor, Envelope, EventData

VILLAGE = "150602103201"
BASE = "http://127.0.0.1:8103/dashboard"
OPTIONS = TemplateOptions(
    link_base=BASE,
    stage_deadlines={"verification": 7, "deliberation": 7},
    card_red_overdue_days=90,
    card_relay_grace_days=0,
)


def envelope_of(event: EventData, region: str = VILLAGE, **overrides: Any) -> Envelope:
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "type": event.event_type,
        "schema_version": event.schema_version,
        "stream_id": "s-1",
        "stream_version": 1,
        "region_code": region,
        "occurred_at": datetime(2026, 5, 1, 1, 30, tzinfo=UTC),
        "recorded_at": datetime(2026, 5, 1, 1, 30, tzinfo=UTC),
        "actor": Actor(id="officer-1", role="village_officer", region_code=VILLAGE),
        "data": event.model_dump(mode="json"),
        **overrides,
    }
    return Envelope(**fields)


def flagged(**overrides: Any) -> HouseholdFlagged:
    fields: dict[str, Any] = {
        "household_id": uuid.uuid4(),
        "flag_id": uuid.uuid4(),
        "source": FlagSource.cadre_visit,
        "risk_types": [RiskType.illness, RiskType.disaster],
        "flagged_on": date(2026, 5, 1),
        "note": "张三 身份证 150602199001011234",
        **overrides,
    }
    return HouseholdFlagged(**fields)


def test_a_flagged_household_says_where_what_and_the_verification_due_date() -> None:
    event = flagged()
    envelope = envelope_of(event)
    message = render(envelope, event, OPTIONS)

    # 1 May + 7 days of verification
    assert message.subject == "防返贫监测：村 150602103201 一户被识别为风险户，请于2026年5月8日前入户核实"
    assert message.facts["农户编号"] == str(event.household_id)
    assert message.facts["所在村"] == VILLAGE
    assert message.facts["所属乡镇"] == "150602103"
    assert message.facts["风险类型"] == "因病、因灾"
    assert message.facts["识别来源"] == "干部走访排查"
    assert message.facts["识别日期"] == "2026年5月1日"
    assert message.facts["下一步"] == "乡镇入户核实"
    assert message.facts["办理时限"] == "2026年5月8日前（识别后7天内）"
    assert "紧急情况" not in message.facts
    assert message.link == f"{BASE}?region={VILLAGE}"
    assert (message.event_id, message.event_type, message.region_code) == (
        envelope.event_id,
        "monitoring.household_flagged",
        VILLAGE,
    )
    for line in (
        "风险类型：因病、因灾",
        "办理时限：2026年5月8日前（识别后7天内）",
        f"查看：{BASE}?region={VILLAGE}",
    ):
        assert line in message.text.splitlines()
    # The officer's free-text note may hold a name or an ID number: it is never sent.
    assert "张三" not in message.text and "1234" not in message.text + message.summary()


def test_the_verification_deadline_is_the_configured_one_and_urgency_is_said() -> None:
    event = flagged(urgent=True, reflagged=True, flagged_on=date(2026, 12, 30))
    options = TemplateOptions(BASE, {"verification": 3}, 90, 0)
    message = render(envelope_of(event), event, options)

    assert message.subject.startswith("【紧急】")
    assert message.subject.endswith("请于2027年1月2日前入户核实")
    assert message.facts["办理时限"] == "2027年1月2日前（识别后3天内）"
    assert "先行救助" in message.facts["紧急情况"]
    assert "再次识别" in message.facts


def test_render_decodes_the_event_when_not_given() -> None:
    event = flagged()
    assert render(envelope_of(event), None, OPTIONS).facts["农户编号"] == str(event.household_id)


def card_changed(card: Card, previous: Card | None, *texts: str) -> SupervisionCardChanged:
    return SupervisionCardChanged(
        subject=CardSubject.project,
        subject_id=uuid.uuid4(),
        village_code=VILLAGE,
        card=card,
        previous=previous,
        reasons=[CardReason(code="milestone_overdue_long", card=card, text=text) for text in texts],
        judged_on=date(2026, 9, 1),
    )


def test_a_card_turning_red_names_the_subject_colours_and_reasons() -> None:
    event = card_changed(Card.red, Card.yellow, "节点“厂房建成”逾期95天", "投资进度落后计划40%")
    message = render(envelope_of(event), event, OPTIONS)

    assert message.subject == "红黄绿牌督办：村 150602103201 的项目由黄牌转为红牌"
    assert message.facts["项目编号"] == str(event.subject_id)
    assert message.facts["督办牌"] == "黄牌 → 红牌"
    assert message.facts["原因"] == "节点“厂房建成”逾期95天；投资进度落后计划40%"
    assert message.facts["评定日期"] == "2026年9月1日"
    assert message.facts["处理要求"] == "请县级立即督办，限期整改"
    assert message.link == f"{BASE}?region={VILLAGE}&table=cards"


def test_a_first_card_and_a_card_back_to_green() -> None:
    first = card_changed(Card.yellow, None, "节点逾期")
    message = render(envelope_of(first), first, OPTIONS)
    assert message.subject == "红黄绿牌督办：村 150602103201 的项目亮黄牌"
    assert message.facts["督办牌"] == "黄牌"

    green = card_changed(Card.green, Card.red)
    message = render(envelope_of(green), green, OPTIONS)
    assert message.facts["原因"] == "无"
    assert message.facts["处理要求"] == "已恢复正常，无需处理"


def test_an_overdue_milestone_says_how_late_and_when_it_turns_red() -> None:
    event = ProjectMilestoneOverdue(
        project_id=uuid.uuid4(),
        village_code=VILLAGE,
        milestone_id="plant-built",
        due_on=date(2026, 6, 30),
        detected_on=date(2026, 7, 3),
    )
    message = render(envelope_of(event), event, OPTIONS)

    assert message.subject == "项目节点逾期：村 150602103201 的项目节点 plant-built 应于2026年6月30日完成"
    assert message.facts["项目编号"] == str(event.project_id)
    assert message.facts["节点"] == "plant-built"
    assert message.facts["应完成日期"] == "2026年6月30日"
    assert message.facts["发现日期"] == "2026年7月3日（已逾期3天）"
    # 30 June + 90 days
    assert message.facts["处理要求"] == "请尽快完成并登记；2026年9月28日后仍未完成将亮红牌"
    assert message.link == f"{BASE}?region={VILLAGE}&table=progress"


def terminated(successor: uuid.UUID | None = None) -> AgreementTerminated:
    return AgreementTerminated(
        agreement_id=uuid.uuid4(),
        enterprise_id=uuid.uuid4(),
        village_code=VILLAGE,
        terminated_on=date(2026, 8, 10),
        reason="企业经营困难",
        successor_agreement_id=successor,
    )


def test_an_agreement_ended_without_successor_asks_for_a_relay() -> None:
    event = terminated()
    message = render(envelope_of(event), event, OPTIONS)

    assert message.subject == "结对协议待接续：村 150602103201 的结对协议已终止，需安排企业接续帮扶"
    assert message.facts["协议编号"] == str(event.agreement_id)
    assert message.facts["原帮扶企业编号"] == str(event.enterprise_id)
    assert message.facts["终止日期"] == "2026年8月10日"
    assert message.facts["终止原因"] == "企业经营困难"
    assert message.facts["办理时限"] == "尽快接续；未接续前亮红牌督办"

    graced = render(envelope_of(event), event, TemplateOptions(BASE, {}, 90, 30))
    assert graced.facts["办理时限"] == "2026年9月9日前接续，逾期亮红牌"


def test_an_agreement_ended_with_its_successor_needs_nothing() -> None:
    successor = uuid.uuid4()
    event = terminated(successor)
    message = render(envelope_of(event), event, OPTIONS)
    assert "已由新协议接续" in message.subject
    assert message.facts["接续协议编号"] == str(successor)
    assert "办理时限" not in message.facts


def test_any_other_event_gets_its_type_region_and_time() -> None:
    event = terminated()
    envelope = envelope_of(event, region="150602000000", type="pairing.agreement_signed", data={})
    message = render(envelope, None, OPTIONS)

    assert message.subject == "兴村系统通知：pairing.agreement_signed（地区 150602）"
    assert message.facts == {
        "事件类型": "pairing.agreement_signed",
        "地区": "150602",
        "发生时间": "2026年5月1日 09:30（北京时间）",  # 01:30 UTC
        "事件编号": str(envelope.event_id),
    }
    assert message.link == f"{BASE}?region=150602"


def test_region_prefix() -> None:
    assert region_prefix("150602103201") == "150602103201"
    assert region_prefix("150602103000") == "150602103"
    assert region_prefix("150602000000") == "150602"
    assert region_prefix("150600000000") == "1506"
    assert region_prefix("150000000000") == "15"


def test_the_sms_summary_is_one_line_of_subject_and_facts() -> None:
    event = card_changed(Card.red, Card.yellow, "逾期")
    message = render(envelope_of(event), event, OPTIONS)
    summary = message.summary()
    assert "\n" not in summary
    assert summary.startswith(message.subject + "。事项：项目督办牌变更；")
