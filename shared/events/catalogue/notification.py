"""Events of the notification service: who is told (recipients) and when (routing rules).
Field names are the public contract.

Officers' contact details travel in clear, as a decision: a recipient is an officer (or another
system) in a work capacity, and its addresses are the work contacts a county office hands out so
that alerts reach that desk (工作联系方式), not a citizen's data, which DESIGN §5 protects and
monitoring seals. Routing and delivery read them for every alert, and the NOTIFICATION stream is
this service's own record. What never travels is a secret: a webhook names the secret its body is
signed with (``secret_ref``); the secret stays in the configuration. An officer who leaves is
deactivated or has the addresses replaced; erasing old addresses from the stream would take sealed
addresses in a new ``schema_version``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.auth import Role
from shared.events.envelope import EventData
from shared.events.registry import event

# 2 province, 4 city, 6 county, 9 township, 12 village; never the whole country.
REGION_PREFIX_PATTERN = r"^(0[1-9]|[1-9]\d)(\d{2}|\d{4}|\d{7}|\d{10})?$"
SECRET_REF_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
ANY_EVENT = "*"


class ChannelKind(StrEnum):
    email = "email"  # over SMTP
    webhook = "webhook"  # an HMAC-signed HTTP POST to another system
    sms = "sms"  # through the configured SMS gateway


class Party(StrEnum):
    """Who an event concerns, reached by a rule as well as by roles."""

    # the household's 帮扶联系人, by SMS to the phone monitoring.contact_assigned gave
    assigned_contact = "assigned_contact"
    # the recipients registered for the enterprise(s) the event names (directly, or through its
    # agreement or project)
    enterprise = "enterprise"


class Channel(BaseModel):
    """One way to reach a recipient."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ChannelKind
    address: str = Field(
        min_length=1, max_length=500, description="An e-mail address, an https URL, or a mobile number"
    )
    secret_ref: str | None = Field(
        default=None,
        pattern=SECRET_REF_PATTERN,
        description="Webhooks only: the name of the configured secret the body is signed with "
        "(never the secret itself)",
    )


class _Recipient(EventData):
    recipient_id: uuid.UUID
    name: str = Field(
        min_length=1, max_length=100, description="A person or an office, e.g. 某某镇乡村振兴办"
    )
    role: Role = Field(description="The role the recipient acts in; routing rules name roles")
    region_code: str = Field(
        pattern=REGION_PREFIX_PATTERN,
        description="The division-code prefix the recipient answers for (2, 4, 6, 9 or 12 digits)",
    )
    channels: list[Channel] = Field(min_length=1)
    active: bool = Field(description="An inactive recipient is kept on record and told nothing")
    enterprise_id: uuid.UUID | None = Field(
        default=None,
        description="Set when the recipient speaks for one enterprise: it is told only of that "
        "enterprise's affairs, by rules naming the `enterprise` party (never by role)",
    )


@event("notification.recipient_registered")
class RecipientRegistered(_Recipient):
    """A recipient is on record. Stream: ``recipient-<recipient_id>``; region: the recipient's region
    padded with zeros to 12 digits. Contact addresses are officers' work contacts and travel in clear
    (see the notification service's docs); webhook secrets never do, only their names."""


@event("notification.recipient_updated")
class RecipientUpdated(_Recipient):
    """A recipient changed: the whole recipient as it is now. Stream and region as registered (the
    region is the recipient's new one)."""


@event("notification.routing_rule_set")
class RoutingRuleSet(EventData):
    """A routing rule was created or replaced (the whole rule as it is now): events of
    type ``on_event`` in ``region_prefix`` go to the active recipients holding one of ``roles`` whose
    region covers the event's, on the listed channels. Stream: ``routing-rule-<rule_id>``; region:
    the rule's prefix padded with zeros to 12 digits."""

    rule_id: uuid.UUID
    # not `event_type`: EventData keeps that name for the type of the event itself
    on_event: str = Field(
        min_length=1, max_length=100, description="A catalogue event type, or `*` for every event"
    )
    region_prefix: str = Field(pattern=REGION_PREFIX_PATTERN, description="Events whose region starts so")
    roles: list[Role] = Field(description="Empty only when the rule names parties")
    channels: list[ChannelKind] = Field(min_length=1)
    active: bool
    parties: list[Party] = Field(
        default_factory=list,
        description="Also the event's own parties: its household's contact, its enterprise",
    )

    where: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Only events whose data field has one of the values, e.g. "
        '`{"card": ["red"]}` for cards turning red (fields of `on_event`\'s data; not with `*`)',
    )

    @model_validator(mode="after")
    def _someone(self) -> RoutingRuleSet:
        if not self.roles and not self.parties:
            raise ValueError("a rule names roles, parties or both")
        return self


class FailureKind(StrEnum):
    exhausted = "exhausted"  # every configured try failed
    refused = "refused"  # the channel said trying again cannot help (bad address, no secret, 4xx)
    # The service stopped while the message was going out: it may have arrived. Not sent again,
    # so that nobody is told twice; an officer may resend it (POST /deliveries/{id}/resend).
    interrupted = "interrupted"


class _Delivery(EventData):
    delivery_id: uuid.UUID = Field(
        description="One (alert, recipient, channel address): the same id for every try of it"
    )
    alert_id: uuid.UUID = Field(
        description="The event told of: its event_id (for a reminder, that of its `reminder_due`)"
    )
    alert_type: str = Field(description="The type of the event told of, or `notification.reminder_due`")
    recipient_id: uuid.UUID
    channel: ChannelKind
    attempts: int = Field(ge=1, description="Tries made, this one included")


@event("notification.notification_delivered")
class NotificationDelivered(_Delivery):
    """A channel took the message: the SMTP server accepted it, the webhook or the SMS gateway
    answered 2xx. Once per delivery. Stream: ``delivery-<delivery_id>``; region: the alert's."""

    delivered_at: datetime


@event("notification.notification_failed")
class NotificationFailed(_Delivery):
    """A delivery ended without success (``failure``): after the last try, at once when trying
    again cannot help, or when the service stopped mid-send. Once per delivery (a resend an officer
    asks for may add another). Stream and region as ``notification_delivered``."""

    failure: FailureKind
    reason: str = Field(max_length=1000, description="The channel's last error, in English")
    failed_at: datetime


class ReminderKind(StrEnum):
    report_deadline = "report_deadline"  # a county's half-year tables are due (20 June, 21 December)
    contact_overdue = "contact_overdue"  # an enrolled household has no contact past the deadline
    surveys_due = "surveys_due"  # monitored households of a township not yet surveyed this quarter


@event("notification.reminder_due")
class ReminderDue(EventData):
    """Something is due by a date, found from time rather than from an event; raised once per due
    item (``reminder_id`` is derived from ``kind`` and ``item``). Routed like any other event.
    Stream: ``reminder-<reminder_id>``; region: the region it concerns, padded to 12 digits."""

    reminder_id: uuid.UUID
    kind: ReminderKind
    item: str = Field(
        max_length=200,
        description="What is due, e.g. `150602:2026H1`, a household id, or `150602103:2026Q2`",
    )
    due_on: date = Field(description="The date it is due by")
    raised_on: date = Field(description="The date (in China) the reminder was raised")
    count: int | None = Field(default=None, ge=0, description="How many (households), where it counts")
