"""Reminders from time against real PostgreSQL and JetStream: the monitoring service driven over
HTTP and the notification service, in one process on one clock that the test moves. A reminder
due is raised once (however often, and by however many instances, it is looked for), routed like
any event and told in Chinese by e-mail."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

from services.notification.app import create as notification_app
from shared.auth import Role
from shared.events.catalogue.pairing import VillageCategory, VillageRegistered
from shared.events.catalogue.reporting import PeriodClosed
from tests.support.apps import running, token
from tests.support.desk import Desk
from tests.support.monitoring import quarterly_survey, village_code
from tests.support.notification_services import COUNTY, Services, envelope_of, services

REMINDER = "notification.reminder_due"
OFFICE = "county@example.cn"
VILLAGE = village_code(1)  # township 150602100
OTHER_TOWNSHIP_VILLAGE = village_code(999)  # township 150602101


async def county_told_of_reminders(s: Services) -> None:
    await s.recipient("county_officer", COUNTY, [{"kind": "email", "address": OFFICE}])
    await s.rule(REMINDER, ["email"], roles=["county_officer"])
    await s.directory_has(recipients=1, rules=1)


async def assign_contact(desk: Desk, household_id: str, phone: str = "13800000001") -> None:
    body = {"name": "李帮扶", "unit": "镇农业站", "phone": phone, "assigned_on": desk.next_day()}
    await desk.ok(f"/households/{household_id}/contact", body, Role.township_officer)


def lines(text: str) -> list[str]:
    return text.splitlines()


async def test_a_contact_not_assigned_in_time_is_reminded_once_by_one_of_two_instances(
    make_settings: Any,
) -> None:
    async with services(make_settings) as s:
        await county_told_of_reminders(s)
        second = notification_app(s.settings, s.clock)
        async with running(second) as other:
            desk = s.desk
            # The urgent path: helped at once, a contact before the county approves.
            urgent = await desk.register(3)
            await desk.flag(urgent, urgent=True, risk_types=["disaster"])
            await assign_contact(desk, urgent)
            await desk.verify(urgent, ("disaster",))
            await desk.deliberate(urgent)
            await desk.review(urgent)
            assert (await desk.approve(urgent))["stage"] == "monitored"
            late = await desk.register(1)
            await desk.enrol(late)
            enrolled = desk.today
            in_time = await desk.register(2)
            await desk.enrol(in_time)
            await assign_contact(desk, in_time)
            # Not due yet for either; asked right after monitoring wrote, the check is no 503.
            assert await s.check() == []
            for hid in (in_time, urgent):
                await s.until(
                    "SELECT contact_assigned_on IS NOT NULL AND monitored FROM household_watch "
                    "WHERE household_id = $1",
                    uuid.UUID(hid),
                    what="the contact and the enrolment taken in",
                )

            # Past both households' deadlines: only the one without a contact is reminded.
            desk.set_day(desk.today + timedelta(days=s.settings.contact_within_days + 1))
            # (the first household was enrolled before the others: its deadline is the earliest)
            # Asked of both instances at once, three times each: one of the calls raises it.
            answers = await asyncio.gather(*(s.check(client) for client in (s.client, other) * 3))
            raised = [r for answer in answers for r in answer]
            due_on = enrolled + timedelta(days=s.settings.contact_within_days)
            assert [{k: v for k, v in r.items() if k != "reminder_id"} for r in raised] == [
                {
                    "kind": "contact_overdue",
                    "item": f"{late}:{enrolled.isoformat()}",
                    "region_code": VILLAGE,
                    "due_on": due_on.isoformat(),
                    "count": None,
                }
            ]
            # Found again, by either instance, the next day too: raised no more.
            assert await s.check() == [] and await s.check(other) == []
            desk.next_day()
            assert await s.check(other) == []
            stored = await s.value(
                "SELECT count(*) FROM events WHERE type = $1 AND stream_id = $2",
                REMINDER,
                f"reminder-{raised[0]['reminder_id']}",
            )
            assert stored == 1
            assert await s.value("SELECT count(*) FROM events WHERE type = $1", REMINDER) == 1

            [item] = await s.settled(1, event_type=REMINDER)
            assert (item["status"], item["channel"], item["address"]) == ("delivered", "email", OFFICE)
            reminder_event = await s.value(
                "SELECT event_id FROM events WHERE type = $1 AND stream_id = $2",
                REMINDER,
                f"reminder-{raised[0]['reminder_id']}",
            )
            assert item["event_id"] == str(reminder_event)
            [(to, mail)] = await s.mails(1)
            assert to == [OFFICE]
            assert mail["Subject"] == (
                f"帮扶提醒：村 {VILLAGE} 一户监测对象纳入监测已超过"
                f"{s.settings.contact_within_days}天，尚未明确帮扶联系人"
            )
            text = mail.get_content()
            for line in (
                "事项：明确帮扶联系人（逾期）",
                f"农户编号：{late}",
                f"所在村：{VILLAGE}",
                f"纳入监测日期：{enrolled.year}年{enrolled.month}月{enrolled.day}日",
                f"应明确日期：{due_on.year}年{due_on.month}月{due_on.day}日前",
                f"查看：{s.settings.notification_link_base}?region={VILLAGE}",
            ):
                assert line in lines(text), text
            assert in_time not in text and urgent not in text
        # Every delivery is settled: one mail, though two dispatchers were running.
        assert len(s.mailbox.received) == 1
        assert len(await s.deliveries()) == 1


async def test_surveys_due_per_township_and_report_deadlines_of_open_periods(make_settings: Any) -> None:
    async with services(make_settings) as s:
        await county_told_of_reminders(s)
        desk = s.desk
        # The desk's village officer works in two townships' villages here.
        desk.tokens[Role.village_officer] = token(s.settings, Role.village_officer, COUNTY)
        township = [await desk.register(n) for n in (1, 2, 3)]
        other = await desk.register(4, village=OTHER_TOWNSHIP_VILLAGE)
        await desk.register(5, village=OTHER_TOWNSHIP_VILLAGE)  # registered, never monitored
        for hid in (*township, other):
            await desk.enrol(hid)
            await assign_contact(desk, hid)
        await s.until(
            "SELECT count(*) FILTER (WHERE monitored AND contact_assigned_on IS NOT NULL) = 4 "
            "AND count(*) = 5 FROM household_watch",
            what="the households taken in",
        )
        assert desk.today < date(2026, 3, 16)
        assert await s.check() == []

        # 11 days before the first quarter ends: one township has surveyed one of its three.
        desk.set_day(date(2026, 3, 20))
        surveyed = quarterly_survey("2026Q1", 9000)
        surveyed["surveyed_on"] = desk.today.isoformat()
        assert (await desk.survey(township[0], surveyed))["recorded"]
        await s.until(
            "SELECT last_quarter = '2026Q1' FROM household_watch WHERE household_id = $1",
            uuid.UUID(township[0]),
            what="the survey taken in",
        )
        raised = await s.check()
        assert [(r["kind"], r["item"], r["region_code"], r["due_on"], r["count"]) for r in raised] == [
            ("surveys_due", "150602100:2026Q1", "150602100000", "2026-03-31", 2),
            ("surveys_due", "150602101:2026Q1", "150602101000", "2026-03-31", 1),
        ]
        mails = await s.mails(2)
        assert sorted(mail["Subject"] for _, mail in mails) == [
            "监测提醒：乡镇 150602100 有2户监测对象未完成2026年第1季度监测",
            "监测提醒：乡镇 150602101 有1户监测对象未完成2026年第1季度监测",
        ]
        by_township = {mail["Subject"].split()[1]: mail.get_content() for _, mail in mails}
        assert "未完成户数：2" in lines(by_township["150602100"])
        assert "截止日期：2026年3月31日" in lines(by_township["150602100"])
        # One reminder per township and quarter, whatever the count becomes.
        desk.next_day()
        assert await s.check() == []

        # Another county, known from the pairing service's villages, that closed its half-year.
        at = s.clock.now()
        village = VillageRegistered(
            village_code="150603101001", name="另一县某村", category=VillageCategory.key_support
        )
        await s.publish("pairing", envelope_of(village, "150603101001", "village-150603101001", at))
        closed = PeriodClosed(
            county_code="150603",
            period="2026H1",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 6, 30),
            due_on=date(2026, 6, 20),
            closed_at=at,
            tables={},
            filing_id=uuid.uuid4(),
        )
        await s.publish("reporting", envelope_of(closed, "150603000000", "period-150603-2026H1", at))
        await s.until(
            "SELECT (SELECT count(*) FROM counties WHERE county_code = '150603') "
            "+ (SELECT count(*) FROM closed_periods WHERE county_code = '150603') = 2",
            what="the other county and its closed period taken in",
        )

        desk.set_day(date(2026, 6, 12))  # 8 days before 20 June
        assert await s.check() == []
        desk.set_day(date(2026, 6, 13))
        raised = await s.check()
        assert [(r["kind"], r["item"], r["region_code"], r["due_on"], r["count"]) for r in raised] == [
            ("report_deadline", "150602:2026H1", "150602000000", "2026-06-20", None)
        ]
        mails = await s.mails(3)
        assert len(mails) == 3
        _, mail = mails[2]
        assert mail["Subject"] == "报表提醒：县 150602 2026年上半年报表须于2026年6月20日前报送"
        for line in ("区县：150602", "报告期：2026年上半年（2026H1）", "截止日期：2026年6月20日"):
            assert line in lines(mail.get_content())
        assert await s.check() == []
        items = await s.settled(3, event_type=REMINDER)
        assert {i["status"] for i in items} == {"delivered"}
        assert len(s.mailbox.received) == 3


async def test_the_service_finds_reminders_itself_as_time_passes(make_settings: Any) -> None:
    async with services(make_settings, reminder_check_interval_s=0.2) as s:
        await county_told_of_reminders(s)
        desk = s.desk
        hid = await desk.register(1)
        await desk.enrol(hid)
        await s.until(
            "SELECT monitored FROM household_watch WHERE household_id = $1",
            uuid.UUID(hid),
            what="the enrolment taken in",
        )
        desk.set_day(desk.today + timedelta(days=s.settings.contact_within_days + 1))
        [(_, mail)] = await s.mails(1)
        assert f"农户编号：{hid}" in lines(mail.get_content())
        # Days later, many checks later, and asked by hand: still the one reminder and the one mail.
        desk.next_day(3)
        await asyncio.sleep(1.0)  # a few more of the service's own checks
        assert await s.check() == []
        assert await s.value("SELECT count(*) FROM events WHERE type = $1", REMINDER) == 1
        [item] = await s.settled(1)
        assert item["status"] == "delivered"
        assert len(s.mailbox.received) == 1
