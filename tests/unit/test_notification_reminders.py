"""Reminders found from time (pure): what is due on a given day in China, each due item with one
stable id; the periods they are counted in; and the Chinese message each kind is told with."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.notification.reminder_job import stream_of
from services.notification.reminders import (
    Due,
    ReminderOptions,
    WatchedHousehold,
    contacts_overdue,
    due_reminders,
    report_deadlines,
    surveys_due,
)
from services.notification.templates import TemplateOptions, render
from shared.events.catalogue.notification import ReminderDue, ReminderKind
from shared.events.envelope import Actor, Envelope
from shared.periods import HalfYear, Quarter
from shared.settings import Settings

COUNTY = "150602"
OTHER_COUNTY = "150603"
TOWNSHIP = "150602103"
OTHER_TOWNSHIP = "150602104"
VILLAGE = "150602103201"
BASE = "http://127.0.0.1:8103/dashboard"


def household(
    n: int,
    village: str = VILLAGE,
    enrolled_on: date | None = date(2026, 1, 10),
    contact_assigned_on: date | None = None,
    last_quarter: str | None = None,
    contact_days: int = 15,
    flagged_on: date | None = None,
) -> WatchedHousehold:
    # monitoring sets the contact's due day at enrolment (XINGCUN_CONTACT_WITHIN_DAYS)
    return WatchedHousehold(
        household_id=uuid.UUID(int=n),
        region_code=village,
        flagged_on=flagged_on,
        enrolled_on=enrolled_on,
        contact_due_on=None if enrolled_on is None else enrolled_on + timedelta(days=contact_days),
        contact_assigned_on=contact_assigned_on,
        last_quarter=last_quarter,
    )


# -- report deadlines: 20 June, 21 December ------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2026, 6, 12), False),  # 8 days before
        (date(2026, 6, 13), True),  # 7 days before: the window opens
        (date(2026, 6, 17), True),
        (date(2026, 6, 20), True),  # the due day itself
        (date(2026, 6, 21), False),  # past it: too late to remind
        (date(2026, 6, 30), False),
        (date(2026, 1, 15), False),
    ],
)
def test_a_half_years_tables_are_reminded_from_seven_days_before_20_june(today: date, due: bool) -> None:
    found = report_deadlines([COUNTY], set(), today, days_before=7)
    if not due:
        assert found == []
        return
    assert found == [Due(ReminderKind.report_deadline, "150602:2026H1", "150602000000", date(2026, 6, 20))]
    assert found[0].count is None


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2026, 12, 13), False),
        (date(2026, 12, 14), True),
        (date(2026, 12, 21), True),
        (date(2026, 12, 22), False),
        (date(2026, 12, 31), False),
    ],
)
def test_the_second_half_is_due_on_21_december(today: date, due: bool) -> None:
    found = report_deadlines([COUNTY], set(), today, days_before=7)
    expected = [Due(ReminderKind.report_deadline, "150602:2026H2", "150602000000", date(2026, 12, 21))]
    assert found == (expected if due else [])


def test_a_county_that_closed_the_period_is_not_reminded() -> None:
    today = date(2026, 6, 15)
    closed = {(OTHER_COUNTY, "2026H1")}
    found = report_deadlines([COUNTY, OTHER_COUNTY], closed, today, days_before=7)
    assert [d.item for d in found] == ["150602:2026H1"]
    # Closing another period (last half-year's, or the next one early) does not count for this one.
    earlier = {(COUNTY, "2025H2"), (COUNTY, "2026H2")}
    assert [d.item for d in report_deadlines([COUNTY], earlier, today, 7)] == ["150602:2026H1"]
    # The second half's window, for a county that closed its first half.
    december = report_deadlines([COUNTY], {(COUNTY, "2026H1")}, date(2026, 12, 20), 7)
    assert [d.item for d in december] == ["150602:2026H2"]
    assert report_deadlines([COUNTY], {(COUNTY, "2026H2")}, date(2026, 12, 20), 7) == []


def test_each_county_once_in_order_and_the_window_follows_the_setting() -> None:
    found = report_deadlines([OTHER_COUNTY, COUNTY, OTHER_COUNTY], set(), date(2026, 6, 20), 7)
    assert [(d.item, d.region_code) for d in found] == [
        ("150602:2026H1", "150602000000"),
        ("150603:2026H1", "150603000000"),
    ]
    assert report_deadlines([COUNTY], set(), date(2026, 6, 19), days_before=0) == []
    assert len(report_deadlines([COUNTY], set(), date(2026, 6, 20), days_before=0)) == 1
    assert len(report_deadlines([COUNTY], set(), date(2026, 5, 21), days_before=30)) == 1
    assert report_deadlines([], set(), date(2026, 6, 20), 7) == []


# -- contacts not assigned in time ---------------------------------------------------------------


def test_a_contact_is_overdue_only_once_the_days_after_enrolment_have_passed() -> None:
    h = household(1, enrolled_on=date(2026, 1, 10))
    # 10 January + 15 days = 25 January: still in time that day.
    assert contacts_overdue([h], date(2026, 1, 10)) == []
    assert contacts_overdue([h], date(2026, 1, 25)) == []
    [due] = contacts_overdue([h], date(2026, 1, 26))
    assert due == Due(
        ReminderKind.contact_overdue,
        f"{uuid.UUID(int=1)}:2026-01-10",
        VILLAGE,
        date(2026, 1, 25),
    )
    # Still overdue (the same item) any later day: raising it once is the job's.
    assert contacts_overdue([h], date(2026, 3, 1)) == [due]
    assert contacts_overdue([household(1, contact_days=10)], date(2026, 1, 21))[0].due_on == date(2026, 1, 20)


def test_a_contact_assigned_on_or_after_enrolment_ends_it() -> None:
    late = date(2026, 2, 20)
    on_the_day = household(1, enrolled_on=date(2026, 1, 10), contact_assigned_on=date(2026, 1, 10))
    later = household(2, enrolled_on=date(2026, 1, 10), contact_assigned_on=date(2026, 2, 1))
    # Assigned late (after the deadline) is still assigned: nothing more to remind.
    too_late = household(3, enrolled_on=date(2026, 1, 10), contact_assigned_on=date(2026, 2, 19))
    not_enrolled = household(4, enrolled_on=None)
    assert contacts_overdue([on_the_day, later, too_late, not_enrolled], late) == []


def test_on_the_urgent_path_a_contact_assigned_before_enrolment_counts() -> None:
    # Flagged as urgent on 5 January, helped at once (contact on the 6th), enrolled on the 14th.
    urgent = household(1, flagged_on=date(2026, 1, 5), enrolled_on=date(2026, 1, 14),
                       contact_assigned_on=date(2026, 1, 6))  # fmt: skip
    assert contacts_overdue([urgent], date(2026, 3, 1)) == []
    # A contact from before the flag belongs to an earlier procedure.
    earlier = household(2, flagged_on=date(2026, 1, 5), enrolled_on=date(2026, 1, 14),
                        contact_assigned_on=date(2026, 1, 4))  # fmt: skip
    assert [d.item for d in contacts_overdue([earlier], date(2026, 3, 1))] == [
        f"{uuid.UUID(int=2)}:2026-01-14"
    ]


def test_a_re_enrolled_household_with_its_old_contact_is_reminded_again() -> None:
    # Enrolled in January with a contact, eliminated, flagged again and enrolled in September:
    # the January contact was for the last procedure.
    h = household(1, enrolled_on=date(2026, 9, 1), contact_assigned_on=date(2026, 1, 20))
    assert contacts_overdue([h], date(2026, 9, 16)) == []
    [due] = contacts_overdue([h], date(2026, 9, 17))
    assert due.item == f"{uuid.UUID(int=1)}:2026-09-01"
    assert due.due_on == date(2026, 9, 16)
    # A different item from the first enrolment's, so it is raised although that one was.
    first = contacts_overdue([household(1, enrolled_on=date(2026, 1, 10))], date(2026, 2, 1))
    assert first[0].reminder_id != due.reminder_id


def test_each_overdue_household_is_its_own_reminder() -> None:
    households = [
        household(1, village=VILLAGE),
        household(2, village="150602104001"),
        household(3, contact_assigned_on=date(2026, 1, 12)),
    ]
    found = contacts_overdue(households, date(2026, 2, 1))
    assert [(d.item.split(":")[0], d.region_code) for d in found] == [
        (str(uuid.UUID(int=1)), VILLAGE),
        (str(uuid.UUID(int=2)), "150602104001"),
    ]


# -- quarterly surveys due ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2026, 6, 14), False),  # 16 days before 30 June
        (date(2026, 6, 15), True),  # 15 days before
        (date(2026, 6, 30), True),
        (date(2026, 7, 1), False),  # a new quarter, far from its end
        (date(2026, 4, 1), False),
    ],
)
def test_surveys_are_due_from_the_days_before_the_quarter_ends(today: date, due: bool) -> None:
    found = surveys_due([household(1)], today, days_before=15)
    expected = [Due(ReminderKind.surveys_due, "150602103:2026Q2", "150602103000", date(2026, 6, 30), 1)]
    assert found == (expected if due else [])


def test_surveys_due_are_counted_per_township_without_those_surveyed_this_quarter() -> None:
    households = [
        household(1, last_quarter=None),  # never surveyed
        household(2, last_quarter="2026Q1"),  # last quarter's survey does not count
        household(3, last_quarter="2026Q2"),  # done
        household(4, village="150602103202", last_quarter="2025Q4"),  # another village, same township
        household(5, village="150602104001"),
        household(6, village="150602104002", last_quarter="2026Q2"),
        household(7, village="150603101001", last_quarter="2026Q2"),  # all done there
    ]
    found = surveys_due(households, date(2026, 6, 20), 15)
    assert [(d.item, d.region_code, d.count) for d in found] == [
        ("150602103:2026Q2", "150602103000", 3),
        ("150602104:2026Q2", "150602104000", 1),
    ]
    assert {d.due_on for d in found} == {date(2026, 6, 30)}
    assert surveys_due([household(3, last_quarter="2026Q2")], date(2026, 6, 20), 15) == []
    assert surveys_due([], date(2026, 6, 20), 15) == []


def test_the_fourth_quarter_ends_with_the_year() -> None:
    [due] = surveys_due([household(1, last_quarter="2026Q3")], date(2026, 12, 20), 15)
    assert (due.item, due.due_on, due.count) == ("150602103:2026Q4", date(2026, 12, 31), 1)
    assert surveys_due([household(1)], date(2026, 12, 16), 15) != []
    assert surveys_due([household(1)], date(2026, 12, 15), 15) == []
    # '2026Q4' sorts after '2026Q3' and before '2027Q1' as text, as the projection compares them.
    [january] = surveys_due([household(1, last_quarter="2026Q4")], date(2027, 3, 20), 15)
    assert january.item == "150602103:2027Q1"


def test_due_reminders_gathers_every_kind_with_the_configured_windows() -> None:
    options = ReminderOptions(report_days_before=7, survey_days_before=15)
    monitored = [
        household(1, enrolled_on=date(2026, 5, 1)),
        household(2, contact_assigned_on=date(2026, 1, 11)),
    ]
    found = due_reminders([COUNTY], set(), monitored, date(2026, 6, 16), options)
    assert [(d.kind, d.item) for d in found] == [
        (ReminderKind.report_deadline, "150602:2026H1"),
        (ReminderKind.contact_overdue, f"{uuid.UUID(int=1)}:2026-05-01"),
        (ReminderKind.surveys_due, "150602103:2026Q2"),
    ]
    assert found[2].count == 2
    narrow = ReminderOptions(report_days_before=1, survey_days_before=1)
    assert [d.kind for d in due_reminders([COUNTY], set(), monitored, date(2026, 6, 16), narrow)] == [
        ReminderKind.contact_overdue
    ]


def test_the_windows_come_from_the_settings() -> None:
    settings = Settings(reminder_report_days_before=3, reminder_survey_days_before=20)
    assert ReminderOptions.of(settings) == ReminderOptions(report_days_before=3, survey_days_before=20)
    assert ReminderOptions.of(Settings()) == ReminderOptions(report_days_before=7, survey_days_before=15)


# -- one id per due item ------------------------------------------------------------------------


def test_a_reminder_id_is_the_same_whenever_the_item_is_found() -> None:
    first = report_deadlines([COUNTY], set(), date(2026, 6, 13), 7)[0]
    again = report_deadlines([COUNTY], set(), date(2026, 6, 20), 7)[0]
    assert first.reminder_id == again.reminder_id
    assert stream_of(first) == stream_of(again) == f"reminder-{first.reminder_id}"
    # Counts change as households are surveyed; the township's reminder for the quarter stays one.
    two = surveys_due([household(1), household(2)], date(2026, 6, 16), 15)[0]
    one = surveys_due([household(1)], date(2026, 6, 29), 15)[0]
    assert (two.count, one.count) == (2, 1)
    assert two.reminder_id == one.reminder_id


def test_reminder_ids_differ_by_kind_and_item() -> None:
    items = [
        Due(ReminderKind.report_deadline, "150602:2026H1", "150602000000", date(2026, 6, 20)),
        Due(ReminderKind.report_deadline, "150602:2026H2", "150602000000", date(2026, 12, 21)),
        Due(ReminderKind.report_deadline, "150603:2026H1", "150603000000", date(2026, 6, 20)),
        Due(ReminderKind.surveys_due, "150602103:2026Q2", "150602103000", date(2026, 6, 30), 1),
        Due(ReminderKind.surveys_due, "150602103:2026Q3", "150602103000", date(2026, 9, 30), 1),
        Due(ReminderKind.surveys_due, "150602104:2026Q2", "150602104000", date(2026, 6, 30), 1),
        Due(ReminderKind.contact_overdue, f"{uuid.UUID(int=1)}:2026-01-10", VILLAGE, date(2026, 1, 25)),
        Due(ReminderKind.contact_overdue, f"{uuid.UUID(int=2)}:2026-01-10", VILLAGE, date(2026, 1, 25)),
        # The same item under another kind is another reminder.
        Due(ReminderKind.surveys_due, "150602:2026H1", "150602000000", date(2026, 6, 20)),
    ]
    assert len({d.reminder_id for d in items}) == len(items)


def test_the_event_carries_the_item_and_the_day_it_was_raised() -> None:
    due = Due(ReminderKind.surveys_due, "150602103:2026Q2", "150602103000", date(2026, 6, 30), 4)
    event = due.event(date(2026, 6, 18))
    assert event == ReminderDue(
        reminder_id=due.reminder_id,
        kind=ReminderKind.surveys_due,
        item="150602103:2026Q2",
        due_on=date(2026, 6, 30),
        raised_on=date(2026, 6, 18),
        count=4,
    )
    assert ReminderDue.event_type == "notification.reminder_due"


# -- periods ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "name", "end"),
    [
        (date(2026, 1, 1), "2026Q1", date(2026, 3, 31)),
        (date(2026, 3, 31), "2026Q1", date(2026, 3, 31)),
        (date(2026, 4, 1), "2026Q2", date(2026, 6, 30)),
        (date(2026, 6, 30), "2026Q2", date(2026, 6, 30)),
        (date(2026, 7, 1), "2026Q3", date(2026, 9, 30)),
        (date(2026, 10, 1), "2026Q4", date(2026, 12, 31)),
        (date(2026, 12, 31), "2026Q4", date(2026, 12, 31)),
        (date(2028, 2, 29), "2028Q1", date(2028, 3, 31)),
    ],
)
def test_the_quarter_of_a_day_and_its_last_day(day: date, name: str, end: date) -> None:
    quarter = Quarter.of(day)
    assert (quarter.name, str(quarter), quarter.end) == (name, name, end)
    assert quarter.end >= day and Quarter.of(quarter.end) == quarter
    assert Quarter.of(quarter.end + timedelta(days=1)) != quarter


def test_quarters_are_ordered_across_years() -> None:
    assert Quarter(2026, 4) < Quarter(2027, 1) < Quarter(2027, 2)
    assert sorted([Quarter(2027, 1), Quarter(2026, 4), Quarter(2026, 1)]) == [
        Quarter(2026, 1),
        Quarter(2026, 4),
        Quarter(2027, 1),
    ]


@pytest.mark.parametrize(
    ("day", "name", "start", "end", "due_on"),
    [
        (date(2026, 1, 1), "2026H1", date(2026, 1, 1), date(2026, 6, 30), date(2026, 6, 20)),
        (date(2026, 6, 30), "2026H1", date(2026, 1, 1), date(2026, 6, 30), date(2026, 6, 20)),
        (date(2026, 7, 1), "2026H2", date(2026, 7, 1), date(2026, 12, 31), date(2026, 12, 21)),
        (date(2026, 12, 31), "2026H2", date(2026, 7, 1), date(2026, 12, 31), date(2026, 12, 21)),
    ],
)
def test_the_half_year_of_a_day(day: date, name: str, start: date, end: date, due_on: date) -> None:
    half = HalfYear.of(day)
    assert (half.name, half.start, half.end, half.due_on) == (name, start, end, due_on)
    assert half.contains(day) and half.contains(start) and half.contains(end)
    assert not half.contains(start - timedelta(days=1)) and not half.contains(end + timedelta(days=1))
    assert HalfYear.parse(name) == half


def test_half_years_step_across_years_and_parse_only_their_names() -> None:
    assert HalfYear(2026, 2).next() == HalfYear(2027, 1)
    assert HalfYear(2026, 1).next() == HalfYear(2026, 2)
    assert HalfYear(2027, 1).previous() == HalfYear(2026, 2)
    assert HalfYear(2026, 2).previous() == HalfYear(2026, 1)
    assert HalfYear(2026, 2) < HalfYear(2027, 1)
    for bad in ("2026H3", "2026H0", "26H1", "2026h1", "2026Q1", "2026H1 ", ""):
        with pytest.raises(ValueError, match="half-year"):
            HalfYear.parse(bad)


# -- the message --------------------------------------------------------------------------------

OPTIONS = TemplateOptions(
    link_base=BASE, stage_deadlines={"contact": 15}, card_red_overdue_days=90, card_relay_grace_days=0
)


def reminder_envelope(due: Due, raised_on: date) -> Envelope:
    at = datetime(raised_on.year, raised_on.month, raised_on.day, 1, tzinfo=UTC)
    event = due.event(raised_on)
    return Envelope(
        event_id=uuid.uuid4(),
        type=event.event_type,
        schema_version=event.schema_version,
        stream_id=stream_of(due),
        stream_version=1,
        region_code=due.region_code,
        occurred_at=at,
        recorded_at=at,
        actor=Actor(id="notification-reminders", role="platform", region_code=""),
        data=event.model_dump(mode="json"),
    )


def test_a_report_deadline_names_the_county_the_half_year_and_the_day() -> None:
    [due] = report_deadlines([COUNTY], set(), date(2026, 6, 15), 7)
    message = render(reminder_envelope(due, date(2026, 6, 15)), None, OPTIONS)
    assert message.subject == "报表提醒：县 150602 2026年上半年报表须于2026年6月20日前报送"
    assert message.facts["区县"] == COUNTY
    assert message.facts["报告期"] == "2026年上半年（2026H1）"
    assert message.facts["截止日期"] == "2026年6月20日"
    assert message.facts["事项"] == "半年报表报送（进度表、统计表）"
    assert message.link == f"{BASE}?region=150602"
    assert "县 150602 的2026年上半年报表尚未报送，截止日期为2026年6月20日。" in message.text

    [december] = report_deadlines([COUNTY], set(), date(2026, 12, 18), 7)
    second = render(reminder_envelope(december, date(2026, 12, 18)), None, OPTIONS)
    assert second.subject == "报表提醒：县 150602 2026年下半年报表须于2026年12月21日前报送"
    assert second.facts["报告期"] == "2026年下半年（2026H2）"


def test_a_contact_overdue_names_the_household_its_village_and_the_dates() -> None:
    h = household(7, enrolled_on=date(2026, 1, 10))
    [due] = contacts_overdue([h], date(2026, 1, 27))
    envelope = reminder_envelope(due, date(2026, 1, 27))
    message = render(envelope, None, OPTIONS)
    assert message.subject == ("帮扶提醒：村 150602103201 一户监测对象纳入监测已超过15天，尚未明确帮扶联系人")
    assert message.facts["农户编号"] == str(uuid.UUID(int=7))
    assert message.facts["所在村"] == VILLAGE
    assert message.facts["纳入监测日期"] == "2026年1月10日"
    assert message.facts["应明确日期"] == "2026年1月25日前"
    assert message.facts["下一步"] == "确定帮扶联系人并在系统中登记"
    assert message.link == f"{BASE}?region={VILLAGE}"
    assert f"农户编号：{uuid.UUID(int=7)}" in message.text.splitlines()
    assert "村 150602103201 有一户监测对象应于2026年1月25日前明确帮扶联系人，至今尚未明确。" in message.text
    assert (message.event_id, message.event_type) == (envelope.event_id, "notification.reminder_due")


def test_surveys_due_name_the_township_the_quarter_and_the_count() -> None:
    households = [household(1), household(2), household(3, last_quarter="2026Q3")]
    [due] = surveys_due(households, date(2026, 9, 20), 15)
    message = render(reminder_envelope(due, date(2026, 9, 20)), None, OPTIONS)
    assert message.subject == "监测提醒：乡镇 150602103 有2户监测对象未完成2026年第3季度监测"
    assert message.facts["乡镇"] == TOWNSHIP
    assert message.facts["季度"] == "2026年第3季度"
    assert message.facts["未完成户数"] == "2"
    assert message.facts["截止日期"] == "2026年9月30日"
    assert message.link == f"{BASE}?region={TOWNSHIP}&table=monitoring"
    assert "乡镇 150602103 有2户监测对象尚未完成2026年第3季度监测，请于2026年9月30日前完成。" in message.text
    # The SMS line keeps the facts a person acts on.
    assert "未完成户数：2" in message.summary()
