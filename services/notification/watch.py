"""What the notification service keeps of the other services' events (rebuildable projections):
the households under watch (``notification-households``), the counties and the enterprises of
each agreement and project (``notification-pairing``), and the periods counties closed
(``notification-periods``). Reminders are found from them, and the router reaches an event's
parties (the household's contact, the enterprise) through them.

Every write is keyed by the event's own aggregate, or commutes (a county or a closed period
inserted once), so the writes of a batch may go together (``StepwiseProjection``).
"""

from __future__ import annotations

from sqlalchemy import text

from shared.events.catalogue.monitoring import (
    ContactAssigned,
    HouseholdEnrolled,
    HouseholdFlagged,
    HouseholdRegistered,
    RiskEliminated,
)
from shared.events.catalogue.pairing import AgreementSigned, ProjectRegistered, VillageRegistered
from shared.events.catalogue.reporting import PeriodClosed
from shared.events.envelope import Envelope, EventData
from shared.messaging.batched_writes import StepwiseProjection, Write
from shared.messaging.projector import RawEvent

_REGISTERED = text(
    "INSERT INTO household_watch (household_id, region_code) VALUES (:household_id, :region_code) "
    "ON CONFLICT (household_id) DO UPDATE SET region_code = EXCLUDED.region_code"
)
_ENROLLED = text(
    "UPDATE household_watch SET monitored = true, enrolled_on = :enrolled_on, contact_due_on = :due_on "
    "WHERE household_id = :household_id"
)
_CONTACT = text(
    "UPDATE household_watch SET contact_name = :name, contact_unit = :unit, contact_phone = :phone, "
    "contact_assigned_on = :assigned_on WHERE household_id = :household_id"
)
# The flag that opened the current procedure: a contact assigned since counts (on the urgent path
# a contact is assigned before enrolment).
_FLAGGED = text("UPDATE household_watch SET flagged_on = :flagged_on WHERE household_id = :household_id")
_ELIMINATED = text("UPDATE household_watch SET monitored = false WHERE household_id = :household_id")
# Periods compare as text: '2026Q2' < '2026Q3' < '2027Q1'.
_SURVEYED = text(
    "UPDATE household_watch SET last_quarter = greatest(last_quarter, :period) "
    "WHERE household_id = :household_id"
)
_COUNTY = text("INSERT INTO counties (county_code) VALUES (:county) ON CONFLICT DO NOTHING")
_LINK = text(
    "INSERT INTO enterprise_links (subject_id, enterprise_ids) VALUES (:subject_id, CAST(:ids AS uuid[])) "
    "ON CONFLICT (subject_id) DO UPDATE SET enterprise_ids = EXCLUDED.enterprise_ids"
)
_CLOSED = text(
    "INSERT INTO closed_periods (county_code, period) VALUES (:county, :period) ON CONFLICT DO NOTHING"
)
_SURVEY = "monitoring.household_surveyed"


class Households(StepwiseProjection):
    name = "notification-households"
    tables = ("household_watch",)
    handled = frozenset(
        t.event_type
        for t in (HouseholdRegistered, HouseholdFlagged, HouseholdEnrolled, ContactAssigned, RiskEliminated)
    ) | {_SURVEY}
    # Surveys make most of the stream; only their period is read.
    raw_types = frozenset({_SURVEY})

    def writes(self, envelope: Envelope, event: EventData) -> list[Write]:
        match event:
            case RawEvent():
                period = str(event["period"])
                if "Q" not in period:
                    return []  # an annual survey
                return [(_SURVEYED, {"household_id": event["household_id"], "period": period})]
            case HouseholdRegistered():
                return [
                    (_REGISTERED, {"household_id": event.household_id, "region_code": envelope.region_code})
                ]
            case HouseholdFlagged():
                return [(_FLAGGED, {"household_id": event.household_id, "flagged_on": event.flagged_on})]
            case HouseholdEnrolled():
                values = {
                    "household_id": event.household_id,
                    "enrolled_on": event.enrolled_on,
                    "due_on": event.contact_due_on,
                }
                return [(_ENROLLED, values)]
            case ContactAssigned():
                values = {
                    "household_id": event.household_id,
                    "name": event.contact_name,
                    "unit": event.contact_unit,
                    "phone": event.contact_phone,
                    "assigned_on": event.assigned_on,
                }
                return [(_CONTACT, values)]
            case RiskEliminated():
                return [(_ELIMINATED, {"household_id": event.household_id})]
        return []


class PairingParties(StepwiseProjection):
    name = "notification-pairing"
    tables = ("counties", "enterprise_links")
    handled = frozenset(t.event_type for t in (VillageRegistered, AgreementSigned, ProjectRegistered))

    def writes(self, envelope: Envelope, event: EventData) -> list[Write]:
        match event:
            case VillageRegistered():
                return [(_COUNTY, {"county": event.village_code[:6]})]
            case AgreementSigned():
                return [(_LINK, {"subject_id": event.agreement_id, "ids": [str(event.enterprise_id)]})]
            case ProjectRegistered():
                ids = [str(i) for i in event.enterprise_ids]
                return [(_LINK, {"subject_id": event.project_id, "ids": ids})]
        return []


class ClosedPeriods(StepwiseProjection):
    name = "notification-periods"
    tables = ("closed_periods",)
    handled = frozenset({PeriodClosed.event_type})

    def writes(self, envelope: Envelope, event: EventData) -> list[Write]:
        if isinstance(event, PeriodClosed):
            return [(_CLOSED, {"county": event.county_code, "period": event.period})]
        return []


# The consumers reminders read from.
WATCH = frozenset({Households.name, PairingParties.name, ClosedPeriods.name})
