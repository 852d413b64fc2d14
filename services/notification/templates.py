"""Messages in Chinese made from events (pure): who, where, what, by when, and a link.

``render`` picks the template of the event's type; a type without one gets the generic message
(type, region, time), so that a rule on ``*`` still tells something. Messages carry ids and
division codes, never a household member's name or ID number: those are sealed in monitoring and
an alert travels over e-mail and SMS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from services.notification.message import Message
from shared.clock import CHINA
from shared.events.catalogue.monitoring import HouseholdFlagged
from shared.events.catalogue.notification import ReminderDue, ReminderKind
from shared.events.catalogue.pairing import AgreementTerminated, ProjectMilestoneOverdue
from shared.events.catalogue.reporting import Card, CardSubject, SupervisionCardChanged
from shared.events.envelope import Envelope, EventData
from shared.events.labels import FLAG_SOURCES, RISK_TYPES
from shared.events.registry import UnknownEventType, decode
from shared.settings import Settings

CARDS: Mapping[Card, str] = {Card.green: "绿牌", Card.yellow: "黄牌", Card.red: "红牌"}
CARD_SUBJECTS: Mapping[CardSubject, str] = {CardSubject.agreement: "结对协议", CardSubject.project: "项目"}


@dataclass(frozen=True)
class TemplateOptions:
    """What the templates read of the configuration."""

    link_base: str
    stage_deadlines: Mapping[str, int]
    card_red_overdue_days: int
    card_relay_grace_days: int

    @classmethod
    def of(cls, settings: Settings) -> TemplateOptions:
        return cls(
            link_base=settings.notification_link_base,
            stage_deadlines=dict(settings.stage_deadlines),
            card_red_overdue_days=settings.card_red_overdue_days,
            card_relay_grace_days=settings.card_relay_grace_days,
        )


Template = Callable[[Envelope, EventData, TemplateOptions], Message]
_TEMPLATES: dict[str, Template] = {}


def template(event_type: str) -> Callable[[Template], Template]:
    def register(fn: Template) -> Template:
        _TEMPLATES[event_type] = fn
        return fn

    return register


def render(envelope: Envelope, event: EventData | None, options: TemplateOptions) -> Message:
    """The message telling of ``envelope``; ``event`` is its decoded data (decoded here if None)."""
    fn = _TEMPLATES.get(envelope.type)
    if fn is None:
        return generic(envelope, options)
    if event is None:
        try:
            event = decode(envelope)
        except UnknownEventType:
            return generic(envelope, options)
    return fn(envelope, event, options)


def region_prefix(code: str) -> str:
    """A 12-digit division code as the shortest prefix naming the same region (150602000000 → 150602)."""
    for length in (2, 4, 6, 9):
        if code[length:].strip("0") == "":
            return code[:length]
    return code


def link(options: TemplateOptions, region_code: str, table: str | None = None) -> str:
    query = {"region": region_prefix(region_code)}
    if table:
        query["table"] = table
    return f"{options.link_base}?{urlencode(query)}"


def compose(envelope: Envelope, subject: str, lead: str, facts: dict[str, str], link_: str | None) -> Message:
    """The message, its text being the lead sentence, the facts one a line, and the link."""
    lines = [lead, "", *(f"{label}：{value}" for label, value in facts.items())]
    if link_:
        lines += ["", f"查看：{link_}"]
    lines += ["", f"（事件编号 {envelope.event_id}，本消息由兴村系统自动发送）"]
    return Message(
        subject=subject,
        text="\n".join(lines) + "\n",
        facts=facts,
        link=link_,
        event_id=envelope.event_id,
        event_type=envelope.type,
        region_code=envelope.region_code,
        envelope=envelope,
    )


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@template("monitoring.household_flagged")
def household_flagged(envelope: Envelope, event: EventData, options: TemplateOptions) -> Message:
    assert isinstance(event, HouseholdFlagged)
    village = envelope.region_code
    days = options.stage_deadlines.get("verification", 7)
    due = event.flagged_on + timedelta(days=days)
    urgent = "【紧急】" if event.urgent else ""
    subject = f"{urgent}防返贫监测：村 {village} 一户被识别为风险户，请于{_day(due)}前入户核实"
    facts = {
        "事项": "防返贫监测对象识别（待入户核实）",
        "农户编号": str(event.household_id),
        "所在村": village,
        "所属乡镇": village[:9],
        "风险类型": "、".join(RISK_TYPES[risk] for risk in event.risk_types),
        "识别来源": FLAG_SOURCES[event.source],
        "识别日期": _day(event.flagged_on),
        "下一步": "乡镇入户核实",
        "办理时限": f"{_day(due)}前（识别后{days}天内）",
    }
    if event.urgent:
        facts["紧急情况"] = "因灾因意外等突发困难：先行救助，后补程序"
    if event.reflagged:
        facts["再次识别"] = "该户风险曾被消除，现再次被识别"
    lead = f"村 {village} 有一户被识别为防止返贫监测的风险户，请在{_day(due)}前完成入户核实。"
    return compose(envelope, subject, lead, facts, link(options, village))


@template("reporting.supervision_card_changed")
def supervision_card_changed(envelope: Envelope, event: EventData, options: TemplateOptions) -> Message:
    assert isinstance(event, SupervisionCardChanged)
    what = CARD_SUBJECTS[event.subject]
    card = CARDS[event.card]
    change = f"由{CARDS[event.previous]}转为{card}" if event.previous is not None else f"亮{card}"
    subject = f"红黄绿牌督办：村 {event.village_code} 的{what}{change}"
    facts = {
        "事项": f"{what}督办牌变更",
        f"{what}编号": str(event.subject_id),
        "所在村": event.village_code,
        "督办牌": f"{CARDS[event.previous]} → {card}" if event.previous is not None else card,
        "原因": "；".join(reason.text for reason in event.reasons) or "无",
        "评定日期": _day(event.judged_on),
    }
    match event.card:
        case Card.red:
            facts["处理要求"] = "请县级立即督办，限期整改"
        case Card.yellow:
            facts["处理要求"] = "请督促整改，防止转为红牌"
        case Card.green:
            facts["处理要求"] = "已恢复正常，无需处理"
    lead = f"村 {event.village_code} 的一个{what}督办牌{change}（{_day(event.judged_on)}评定）。"
    return compose(envelope, subject, lead, facts, link(options, event.village_code, "cards"))


@template("pairing.project_milestone_overdue")
def project_milestone_overdue(envelope: Envelope, event: EventData, options: TemplateOptions) -> Message:
    assert isinstance(event, ProjectMilestoneOverdue)
    red_on = event.due_on + timedelta(days=options.card_red_overdue_days)
    late = (event.detected_on - event.due_on).days
    subject = (
        f"项目节点逾期：村 {event.village_code} 的项目节点 {event.milestone_id} 应于{_day(event.due_on)}完成"
    )
    facts = {
        "事项": "帮扶项目节点逾期未完成",
        "项目编号": str(event.project_id),
        "节点": event.milestone_id,
        "所在村": event.village_code,
        "应完成日期": _day(event.due_on),
        "发现日期": f"{_day(event.detected_on)}（已逾期{late}天）",
        "处理要求": f"请尽快完成并登记；{_day(red_on)}后仍未完成将亮红牌",
    }
    lead = f"村 {event.village_code} 的帮扶项目节点 {event.milestone_id} 已过应完成日期，尚未完成。"
    return compose(envelope, subject, lead, facts, link(options, event.village_code, "progress"))


@template("pairing.agreement_terminated")
def agreement_terminated(envelope: Envelope, event: EventData, options: TemplateOptions) -> Message:
    assert isinstance(event, AgreementTerminated)
    village = event.village_code
    facts = {
        "事项": "结对协议提前终止",
        "协议编号": str(event.agreement_id),
        "原帮扶企业编号": str(event.enterprise_id),
        "所在村": village,
        "终止日期": _day(event.terminated_on),
        "终止原因": event.reason,
    }
    if event.successor_agreement_id is not None:
        facts["接续协议编号"] = str(event.successor_agreement_id)
        subject = f"结对协议终止：村 {village} 的结对协议已终止，已由新协议接续"
        lead = f"村 {village} 的结对协议于{_day(event.terminated_on)}终止，同时已签订接续协议。"
        return compose(envelope, subject, lead, facts, link(options, village, "pairing-list"))
    grace = options.card_relay_grace_days
    facts["下一步"] = "另行安排企业签订接续协议（接续协议注明本协议编号）"
    facts["办理时限"] = (
        f"{_day(event.terminated_on + timedelta(days=grace))}前接续，逾期亮红牌"
        if grace
        else "尽快接续；未接续前亮红牌督办"
    )
    subject = f"结对协议待接续：村 {village} 的结对协议已终止，需安排企业接续帮扶"
    lead = f"村 {village} 的结对协议于{_day(event.terminated_on)}提前终止，尚无企业接续，请安排接续帮扶。"
    return compose(envelope, subject, lead, facts, link(options, village, "pairing-list"))


@template("notification.reminder_due")
def reminder_due(envelope: Envelope, event: EventData, options: TemplateOptions) -> Message:
    assert isinstance(event, ReminderDue)
    region = region_prefix(envelope.region_code)
    due = _day(event.due_on)
    match event.kind:
        case ReminderKind.report_deadline:
            county, period = event.item.split(":", 1)
            half = "上半年" if period.endswith("H1") else "下半年"
            subject = f"报表提醒：县 {county} {period[:4]}年{half}报表须于{due}前报送"
            facts = {
                "事项": "半年报表报送（进度表、统计表）",
                "区县": county,
                "报告期": f"{period[:4]}年{half}（{period}）",
                "截止日期": due,
                "下一步": "核对报表后在兴村系统中关闭报告期（报送）",
            }
            lead = f"县 {county} 的{period[:4]}年{half}报表尚未报送，截止日期为{due}。"
            return compose(envelope, subject, lead, facts, link(options, county))
        case ReminderKind.contact_overdue:
            household, enrolled = event.item.split(":", 1)
            enrolled_on = date.fromisoformat(enrolled)
            days = (event.due_on - enrolled_on).days  # as monitoring set it at enrolment
            subject = (
                f"帮扶提醒：村 {envelope.region_code} 一户监测对象纳入监测已超过{days}天，尚未明确帮扶联系人"
            )
            facts = {
                "事项": "明确帮扶联系人（逾期）",
                "农户编号": household,
                "所在村": envelope.region_code,
                "纳入监测日期": _day(enrolled_on),
                "应明确日期": f"{due}前",
                "下一步": "确定帮扶联系人并在系统中登记",
            }
            lead = f"村 {envelope.region_code} 有一户监测对象应于{due}前明确帮扶联系人，至今尚未明确。"
            return compose(envelope, subject, lead, facts, link(options, envelope.region_code))
        case ReminderKind.surveys_due:
            township, quarter = event.item.split(":", 1)
            label = f"{quarter[:4]}年第{quarter[-1]}季度"
            subject = f"监测提醒：乡镇 {township} 有{event.count}户监测对象未完成{label}监测"
            facts = {
                "事项": "季度监测（家庭成员、人均纯收入、合规自付支出）",
                "乡镇": township,
                "季度": label,
                "未完成户数": str(event.count),
                "截止日期": due,
            }
            lead = f"乡镇 {township} 有{event.count}户监测对象尚未完成{label}监测，请于{due}前完成。"
            return compose(envelope, subject, lead, facts, link(options, region, "monitoring"))
    return generic(envelope, options)


def generic(envelope: Envelope, options: TemplateOptions) -> Message:
    """Any other event: its type, region and time."""
    region = region_prefix(envelope.region_code)
    at = envelope.occurred_at.astimezone(CHINA)
    subject = f"兴村系统通知：{envelope.type}（地区 {region}）"
    facts = {
        "事件类型": envelope.type,
        "地区": region,
        "发生时间": f"{_day(at.date())} {at:%H:%M}（北京时间）",
        "事件编号": str(envelope.event_id),
    }
    lead = f"地区 {region} 发生事件 {envelope.type}。"
    return compose(envelope, subject, lead, facts, link(options, envelope.region_code))
