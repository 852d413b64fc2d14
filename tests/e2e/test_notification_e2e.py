"""Issue 7 end to end, with real processes: a household flagged through the monitoring API is told
once by e-mail (a local SMTP server) and once by signed webhook (a local receiver), with the right
text; the notification service SIGKILLed in the middle of a send, or while its sends wait to be
retried, and restarted, sends neither twice.

The monitoring and notification services run under uvicorn as child processes sharing the test's
settings (its own databases and streams); the SMTP server (aiosmtpd) and the webhook receiver run
in the test process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.settings import Settings
from tests.support.apps import ServiceProcess, wait_until
from tests.support.notification import Receiver, serving, smtp_server
from tests.support.notification_e2e import (
    OFFICER_MAIL,
    VILLAGE,
    County,
    HeldMailbox,
    e2e_settings,
    hooks_of,
    mails_of,
    wait_showing,
)

pytestmark = pytest.mark.slow

BUSY = "451 4.3.0 Mailbox busy, try again later"
DELIVERED = "notification.notification_delivered"
FAILED = "notification.notification_failed"


@dataclass
class Stage:
    county: County
    settings: Settings
    log_dir: Path
    processes: list[ServiceProcess]

    async def restart_notification(self) -> None:
        """A new notification process on the same settings (databases, streams, durables)."""
        process = ServiceProcess("notification", self.settings, self.log_dir)
        self.processes.append(process)
        await process.start()
        self.county.notification = process


@contextlib.asynccontextmanager
async def stage(
    make_settings: Callable[..., Settings],
    log_dir: Path,
    receiver: Receiver,
    mailbox: HeldMailbox,
    **overrides: Any,
) -> AsyncIterator[Stage]:
    """The mail server, the receiver, both services started, and the directory: a township officer
    told of flags in the county by e-mail and webhook."""
    with smtp_server(mailbox) as smtp:
        async with serving(receiver):
            settings = make_settings(**e2e_settings(smtp.port, **overrides))
            monitoring = ServiceProcess("monitoring", settings, log_dir)
            notification = ServiceProcess("notification", settings, log_dir)
            processes = [monitoring, notification]
            try:
                await asyncio.gather(monitoring.start(), notification.start())
                county = County(settings, monitoring, notification)
                await county.township_officer(f"{receiver.url}/hook")
                await county.flags_told_to_township_officers()
                await county.directory_ready()
                yield Stage(county, settings, log_dir, processes)
            finally:
                for process in processes:
                    process.stop()


def personal_data(household: dict[str, Any]) -> list[str]:
    """What must never leave the monitoring service in a message: names, ID numbers, the phone."""
    members = household["members"]
    return [m["name"] for m in members] + [m["id_number"] for m in members] + [household["phone"]]


async def test_a_flag_is_mailed_and_posted_once_and_a_kill_mid_send_sends_neither_again(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    mailbox, receiver = HeldMailbox(), Receiver()
    async with stage(make_settings, tmp_path, receiver, mailbox) as s:
        county = s.county

        # -- a household flagged through the monitoring API ------------------------------------
        household_id, household = await county.register_household(1)
        await county.flag(household_id)
        flagged = await county.flagged_event(household_id)
        event_id = flagged.event_id
        log = await county.settled(event_id)
        assert {(c, d["status"], d["attempts"]) for c, d in log.items()} == {
            ("email", "delivered", 1),
            ("webhook", "delivered", 1),
        }
        assert log["email"]["address"] == OFFICER_MAIL

        [(rcpt_tos, mail)] = mails_of(mailbox, event_id)
        assert rcpt_tos == [OFFICER_MAIL] and mail["To"] == OFFICER_MAIL
        assert mail["From"] == "alerts@xingcun.test"
        subject = str(mail["Subject"])
        assert "防返贫监测" in subject and VILLAGE in subject
        text = mail.get_content()
        assert f"农户编号：{household_id}" in text
        assert f"所在村：{VILLAGE}" in text
        assert str(event_id) in text
        for secret in personal_data(household):
            assert secret not in subject and secret not in text

        [hook] = hooks_of(receiver, event_id)
        assert receiver.refused == []  # every POST carried a valid signature
        assert hook["headers"]["x-xingcun-event-id"] == str(event_id)
        assert hook["headers"]["x-xingcun-delivery-id"] == log["webhook"]["delivery_id"]
        assert hook["body"]["envelope"]["event_id"] == str(event_id)
        assert hook["body"]["envelope"]["data"]["household_id"] == household_id
        assert "防返贫监测" in hook["body"]["subject"] and f"农户编号：{household_id}" in hook["body"]["text"]
        posted = json.dumps(hook["body"], ensure_ascii=False)
        for secret in personal_data(household):
            assert secret not in posted

        events = await county.published_for(event_id, 2)
        assert sorted((e["type"], e["channel"], e["delivery_id"]) for e in events) == sorted(
            (DELIVERED, channel, d["delivery_id"]) for channel, d in log.items()
        )

        # -- killed mid-send ---------------------------------------------------------------------
        # The mail server turns the officer away (451) until the next flag's webhook is delivered
        # and recorded: the kill is then sure to cut the e-mail's send and no other.
        mailbox.refuse[OFFICER_MAIL] = BUSY
        second_id, _ = await county.register_household(2)
        await county.flag(second_id)
        second = (await county.flagged_event(second_id)).event_id
        seen: dict[str, dict[str, Any]] = {}

        async def webhook_told_mail_retried() -> bool:
            seen.update(await county.by_channel(second))
            return (
                seen.get("webhook", {}).get("status") == "delivered"
                and seen.get("email", {}).get("attempts", 0) >= 1
            )

        await wait_showing(
            webhook_told_mail_retried, 20, "the webhook told, the mail turned away", lambda: seen
        )
        # Now the server takes the mail and holds back its 250: the service is waiting for it.
        mailbox.hold_s = 30.0
        mailbox.refuse.clear()
        await wait_until(lambda: mails_of(mailbox, second), 20, "the mail handed over", interval=0.01)
        county.notification.kill()
        left = await county.left_by_the_dead(second)
        assert left["webhook"] == ("delivered", 1)
        assert left["email"][0] == "sending", left  # cut off mid-send, not after its answer
        await s.restart_notification()

        # The lease of the cut-off try ends: the try is failed as interrupted, never sent again.
        log = await county.settled(second)
        assert log["email"]["status"] == "failed" and log["email"]["failure"] == "interrupted"
        assert log["email"]["attempts"] == left["email"][1] >= 2
        assert log["webhook"]["status"] == "delivered" and log["webhook"]["attempts"] == 1
        tries = (await county.delivery(log["email"]["delivery_id"]))["tries"]
        assert [t["outcome"] for t in tries] == ["retry"] * (len(tries) - 1) + ["interrupted"]
        assert len(tries) == left["email"][1]
        assert len(mails_of(mailbox, second)) == 1
        assert len(hooks_of(receiver, second)) == 1
        events = await county.published_for(second, 2)
        assert sorted((e["type"], e["channel"], e.get("failure")) for e in events) == [
            (DELIVERED, "webhook", None),
            (FAILED, "email", "interrupted"),
        ]
        # Nothing of the first event was sent again by the new process either.
        assert len(mails_of(mailbox, event_id)) == 1 and len(hooks_of(receiver, event_id)) == 1
        assert len(mailbox.received) == 2 and len(receiver.accepted) == 2


async def test_sends_waiting_for_a_retry_when_the_service_is_killed_arrive_once_after_restart(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    mailbox, receiver = HeldMailbox(), Receiver(fail=1_000_000)
    mailbox.refuse[OFFICER_MAIL] = BUSY
    async with stage(
        make_settings,
        tmp_path,
        receiver,
        mailbox,
        notification_backoff_base_s=0.25,
        notification_backoff_max_s=2.0,
    ) as s:
        county = s.county
        household_id, _ = await county.register_household(1)
        await county.flag(household_id)
        event_id = (await county.flagged_event(household_id)).event_id

        found: dict[str, dict[str, Any]] = {}

        async def both_waiting() -> bool:
            # Retried a few times, and the next try a while off: a kill now cuts no send. (The
            # database's clock, which next_attempt_at is on, is this machine's.)
            found.clear()
            found.update(await county.by_channel(event_id))
            later = datetime.now(UTC) + timedelta(seconds=0.5)
            return len(found) == 2 and all(
                d["status"] == "pending"
                and d["attempts"] >= 3
                and datetime.fromisoformat(d["next_attempt_at"]) > later
                for d in found.values()
            )

        await wait_showing(both_waiting, 20, "both deliveries waiting to be retried", lambda: found)
        county.notification.kill()
        left = await county.left_by_the_dead(event_id)
        assert all(status == "pending" for status, _ in left.values()), left  # no send was cut
        assert mailbox.received == [] and receiver.accepted == []
        mailbox.refuse.clear()
        receiver.fail = 0
        await s.restart_notification()

        log = await county.settled(event_id)
        for channel, delivery in log.items():
            assert delivery["status"] == "delivered", (channel, delivery)
            tries = (await county.delivery(delivery["delivery_id"]))["tries"]
            outcomes = [t["outcome"] for t in tries]
            assert outcomes == ["retry"] * (len(tries) - 1) + ["delivered"], (channel, outcomes)
            # one try after the restart, and it delivered
            assert delivery["attempts"] == len(tries) == left[channel][1] + 1
        [(rcpt_tos, _)] = mails_of(mailbox, event_id)
        assert rcpt_tos == [OFFICER_MAIL]
        assert len(hooks_of(receiver, event_id)) == 1
        events = await county.published_for(event_id, 2)
        assert sorted((e["type"], e["channel"], e["attempts"]) for e in events) == sorted(
            (DELIVERED, channel, d["attempts"]) for channel, d in log.items()
        )
        assert {e["delivery_id"] for e in events} == {d["delivery_id"] for d in log.values()}
        assert uuid.UUID(events[0]["alert_id"]) == event_id
