"""The household (农户) under dynamic monitoring: its surveys, flags and the approval steps.

One aggregate, one stream per household. Who may take a step is the domain's rule (DESIGN §5),
so each step names the caller's role; dates come in as arguments (no clock is read here).

Enrolment: flagged → verified (入户核实) → deliberated (民主评议、公示) → reviewed (乡镇审核) →
monitored (县级审定). Elimination: monitored → elimination_proposed → elimination_verified →
elimination_deliberated → elimination_reviewed → eliminated. Any step may reject instead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from services.monitoring import risk
from shared.aggregate import Aggregate
from shared.auth import Role
from shared.domain import InvalidInput, NotFound, NotPermitted, StateConflict
from shared.events.catalogue.monitoring import (
    AnnualSurvey,
    AssistanceDelivered,
    AssistanceMeasure,
    AssistancePlanned,
    ContactAssigned,
    Department,
    FlagRejected,
    FlagSource,
    FollowupRecorded,
    HouseholdDeliberated,
    HouseholdEnrolled,
    HouseholdFlagged,
    HouseholdMembersUpdated,
    HouseholdRegistered,
    HouseholdReviewed,
    HouseholdStatus,
    HouseholdSurveyed,
    HouseholdVerified,
    Member,
    MonitoredCategory,
    PersonalDataErased,
    PlannedMeasure,
    Procedure,
    QuarterlySurvey,
    RiskEliminated,
    RiskEliminationProposed,
    RiskEliminationRejected,
    RiskType,
    Stage,
)
from shared.events.envelope import EventData


def household_stream(household_id: uuid.UUID) -> str:
    return f"household-{household_id}"


ENROLMENT_STAGES = (Stage.flagged, Stage.verified, Stage.deliberated, Stage.reviewed)
ELIMINATION_STAGES = (
    Stage.elimination_proposed,
    Stage.elimination_verified,
    Stage.elimination_deliberated,
    Stage.elimination_reviewed,
)
# The step each stage waits for, and who takes it (DESIGN §5; the village deliberates).
STEP_ROLE: dict[Stage, Role] = {
    Stage.flagged: Role.township_officer,
    Stage.verified: Role.village_officer,
    Stage.deliberated: Role.township_officer,
    Stage.reviewed: Role.county_officer,
    Stage.elimination_proposed: Role.township_officer,
    Stage.elimination_verified: Role.village_officer,
    Stage.elimination_deliberated: Role.township_officer,
    Stage.elimination_reviewed: Role.county_officer,
}
_STEP_NAME = {
    Stage.flagged: "verification at home",
    Stage.verified: "village deliberation and public notice",
    Stage.deliberated: "township review",
    Stage.reviewed: "county approval",
}
FLAG_ROLES = {
    FlagSource.self_declared: (Role.village_officer, Role.township_officer),
    FlagSource.cadre_visit: (Role.village_officer, Role.township_officer, Role.county_officer),
    FlagSource.department_alert: (Role.platform, Role.county_officer),
}
ASSISTANCE_ROLES = (Role.township_officer, Role.county_officer)
DELIVERY_ROLES = (Role.village_officer, Role.township_officer, Role.county_officer)
FOLLOWUP_ROLES = (Role.village_officer, Role.township_officer)
URGENT_RISKS = frozenset({RiskType.disaster, RiskType.accident})


def _quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


@dataclass
class OpenFlag:
    flag_id: uuid.UUID
    source: FlagSource
    risk_types: list[RiskType]
    urgent: bool
    flagged_on: date


@dataclass
class Household(Aggregate):
    household_id: uuid.UUID | None = None
    village_code: str = ""
    status: HouseholdStatus = HouseholdStatus.ordinary
    members: list[Member] = field(default_factory=list)
    erased: bool = False
    quarterly: dict[str, QuarterlySurvey] = field(default_factory=dict)
    annual: dict[int, AnnualSurvey] = field(default_factory=dict)
    imported: set[tuple[str, str]] = field(default_factory=set)
    stage: Stage | None = None
    flag: OpenFlag | None = None
    last_step_on: date | None = None
    notice_until: date | None = None
    confirmed_risks: list[RiskType] = field(default_factory=list)
    category: MonitoredCategory | None = None
    enrolled_on: date | None = None
    eliminated_on: date | None = None
    contact_name: str | None = None
    planned_measures: set[AssistanceMeasure] = field(default_factory=set)
    plan_ids: set[uuid.UUID] = field(default_factory=set)
    delivery_ids: set[uuid.UUID] = field(default_factory=set)
    times_eliminated: int = 0

    def __post_init__(self) -> None:
        super().__init__()

    # -- reading ---------------------------------------------------------------------------------

    @property
    def registered(self) -> bool:
        return self.household_id is not None

    @property
    def in_procedure(self) -> bool:
        return self.stage is not None and self.stage is not Stage.eliminated

    @property
    def receives_help(self) -> bool:
        """Monitored, or flagged on the urgent path (help first, steps after)."""
        if self.stage in (Stage.monitored, *ELIMINATION_STAGES):
            return True
        return self.stage in ENROLMENT_STAGES and self.flag is not None and self.flag.urgent

    # -- registration and surveys ----------------------------------------------------------------

    def register(
        self,
        *,
        household_id: uuid.UUID,
        village_code: str,
        status: HouseholdStatus,
        members: list[Member],
        sealed: str,
        batch_id: str | None = None,
    ) -> list[EventData]:
        if self.registered:
            raise StateConflict("household_registered_once", f"household {self.household_id} is registered")
        _check_members(members)
        return [
            HouseholdRegistered(
                household_id=household_id,
                village_code=village_code,
                status=status,
                members=members,
                sealed=sealed,
                batch_id=batch_id,
            )
        ]

    def update_members(
        self, *, members: list[Member], status: HouseholdStatus, sealed: str
    ) -> list[EventData]:
        self._require_registered()
        self._require_not_erased()
        _check_members(members)
        return [HouseholdMembersUpdated(household_id=self._id, members=members, status=status, sealed=sealed)]

    def survey(
        self,
        *,
        survey_id: uuid.UUID,
        flag_id: uuid.UUID,
        period: str,
        surveyed_on: date,
        quarterly: QuarterlySurvey | None = None,
        annual: AnnualSurvey | None = None,
        batch_id: str | None = None,
        lines: risk.MonitoringLines,
        rules: risk.RiskRules,
        today: date | None = None,
    ) -> list[EventData]:
        """Record a survey; when rules find risk and no procedure is open, flag the household too.

        A batch's survey of a period is recorded once (re-imports change nothing); so is the same
        survey again. A different survey of a recorded period is a correction, a new event.
        """
        self._require_registered()
        if today is not None:
            # its date becomes the flag's, which no later step could then follow
            _not_after(surveyed_on, today, "surveyed_on")
        if (quarterly is None) == (annual is None):
            raise InvalidInput("survey_kind", "a survey is either quarterly or annual", "period")
        if batch_id is not None and (batch_id, period) in self.imported:
            return []
        if quarterly is not None and self.quarterly.get(period) == quarterly:
            return []
        if annual is not None and self.annual.get(int(period)) == annual:
            return []
        surveyed = HouseholdSurveyed(
            household_id=self._id,
            survey_id=survey_id,
            period=period,
            surveyed_on=surveyed_on,
            quarterly=quarterly,
            annual=annual,
            batch_id=batch_id,
        )
        events: list[EventData] = [surveyed]
        if quarterly is not None:
            line = lines.line(self.village_code[:2], risk.quarter_year(period))
            findings = risk.assess_quarter(
                quarterly, self.quarterly.get(risk.previous_year_quarter(period)), line, rules
            )
        else:
            findings = risk.assess_year(annual, rules) if annual is not None else []
        if findings and not self.in_procedure:
            events.append(
                HouseholdFlagged(
                    household_id=self._id,
                    flag_id=flag_id,
                    source=FlagSource.rule,
                    risk_types=risk.risk_types_of(findings),
                    rules=[f.rule for f in findings],
                    period=period,
                    flagged_on=surveyed_on,
                    note="; ".join(f.reason for f in findings),
                    reflagged=self.times_eliminated > 0,
                )
            )
        return events

    # -- flags and the enrolment procedure -------------------------------------------------------

    def flag_risk(
        self,
        *,
        by_role: Role,
        flag_id: uuid.UUID,
        source: FlagSource,
        risk_types: list[RiskType],
        flagged_on: date,
        today: date,
        department: Department | None = None,
        urgent: bool = False,
        note: str | None = None,
    ) -> list[EventData]:
        self._require_registered()
        allowed = FLAG_ROLES.get(source, ())
        if by_role not in allowed:
            names = ", ".join(r.value for r in allowed) or "no caller (rules raise these)"
            raise NotPermitted("flag_source_role", f"a {source.value} flag is raised by {names}")
        if (source is FlagSource.department_alert) != (department is not None):
            raise InvalidInput(
                "department_names_alert",
                "a department alert names its department, no other flag does",
                "department",
            )
        if urgent and not URGENT_RISKS & set(risk_types):
            raise InvalidInput(
                "urgent_path_disaster_or_accident",
                "the urgent path (help first, steps after) is for disaster or accident",
                "urgent",
            )
        _not_after(flagged_on, today, "flagged_on")
        if self.in_procedure:
            raise StateConflict(
                "one_open_procedure", f"the household is already {self.stage.value if self.stage else ''}"
            )
        return [
            HouseholdFlagged(
                household_id=self._id,
                flag_id=flag_id,
                source=source,
                risk_types=list(dict.fromkeys(risk_types)),
                department=department,
                urgent=urgent,
                flagged_on=flagged_on,
                note=note,
                reflagged=self.times_eliminated > 0,
            )
        ]

    def verify(
        self, *, by_role: Role, verified_on: date, today: date, risk_types: list[RiskType], findings: str
    ) -> list[EventData]:
        procedure = self._step(by_role, (Stage.flagged, Stage.elimination_proposed), verified_on, today)
        if procedure is Procedure.enrolment and not risk_types:
            raise InvalidInput("verified_risks", "verification confirms at least one risk type", "risk_types")
        return [
            HouseholdVerified(
                household_id=self._id,
                procedure=procedure,
                verified_on=verified_on,
                risk_types=list(dict.fromkeys(risk_types)),
                findings=findings,
            )
        ]

    def deliberate(
        self,
        *,
        by_role: Role,
        deliberated_on: date,
        today: date,
        votes_for: int,
        votes_against: int,
        notice_from: date,
        notice_days: int,
    ) -> list[EventData]:
        procedure = self._step(by_role, (Stage.verified, Stage.elimination_verified), deliberated_on, today)
        if votes_for <= votes_against:
            raise InvalidInput(
                "deliberation_majority",
                "the deliberation did not pass: record a rejection with the reason instead",
                "votes_for",
            )
        if notice_from < deliberated_on:
            raise InvalidInput(
                "notice_after_deliberation",
                "the public notice starts on or after the deliberation",
                "notice_from",
            )
        return [
            HouseholdDeliberated(
                household_id=self._id,
                procedure=procedure,
                deliberated_on=deliberated_on,
                votes_for=votes_for,
                votes_against=votes_against,
                notice_from=notice_from,
                notice_until=notice_from + timedelta(days=notice_days - 1),
            )
        ]

    def review(self, *, by_role: Role, reviewed_on: date, today: date, opinion: str) -> list[EventData]:
        procedure = self._step(
            by_role, (Stage.deliberated, Stage.elimination_deliberated), reviewed_on, today
        )
        if self.notice_until is not None and reviewed_on <= self.notice_until:
            raise StateConflict(
                "public_notice_running",
                f"the public notice runs until {self.notice_until}: review after it ends",
                "reviewed_on",
            )
        return [
            HouseholdReviewed(
                household_id=self._id, procedure=procedure, reviewed_on=reviewed_on, opinion=opinion
            )
        ]

    def approve_enrolment(
        self,
        *,
        by_role: Role,
        enrolled_on: date,
        today: date,
        category: MonitoredCategory,
        risk_types: list[RiskType] | None,
        contact_within_days: int,
    ) -> list[EventData]:
        self._step(by_role, (Stage.reviewed,), enrolled_on, today)
        assert self.flag is not None
        if (
            category is MonitoredCategory.unstable_after_exit
            and self.status is not HouseholdStatus.former_poor
        ):
            raise InvalidInput(
                "category_fits_household",
                "only a former poor household can be unstable after exit (脱贫不稳定户)",
                "category",
            )
        if category is MonitoredCategory.marginal_at_risk and self.status is HouseholdStatus.former_poor:
            raise InvalidInput(
                "category_fits_household",
                "a former poor household is not marginal (边缘易致贫户): use unstable_after_exit",
                "category",
            )
        risks = list(dict.fromkeys(risk_types or self.confirmed_risks or self.flag.risk_types))
        return [
            HouseholdEnrolled(
                household_id=self._id,
                flag_id=self.flag.flag_id,
                category=category,
                risk_types=risks,
                enrolled_on=enrolled_on,
                contact_due_on=enrolled_on + timedelta(days=contact_within_days),
            )
        ]

    def reject(self, *, by_role: Role, rejected_on: date, today: date, reason: str) -> list[EventData]:
        """Refuse the case at the step it waits for; only the role of that step may."""
        stages = (*ENROLMENT_STAGES, *ELIMINATION_STAGES)
        stage = self.stage
        self._step(by_role, stages, rejected_on, today)
        assert stage is not None
        if stage in ENROLMENT_STAGES:
            assert self.flag is not None
            return [
                FlagRejected(
                    household_id=self._id,
                    flag_id=self.flag.flag_id,
                    stage=stage,
                    reason=reason,
                    rejected_on=rejected_on,
                )
            ]
        return [
            RiskEliminationRejected(
                household_id=self._id, stage=stage, reason=reason, rejected_on=rejected_on
            )
        ]

    # -- help ------------------------------------------------------------------------------------

    def assign_contact(
        self, *, by_role: Role, name: str, unit: str, phone: str | None, assigned_on: date, today: date
    ) -> list[EventData]:
        self._help_step(by_role, ASSISTANCE_ROLES, assigned_on, today)
        return [
            ContactAssigned(
                household_id=self._id,
                contact_name=name,
                contact_unit=unit,
                contact_phone=phone,
                assigned_on=assigned_on,
            )
        ]

    def plan_assistance(
        self,
        *,
        by_role: Role,
        plan_id: uuid.UUID,
        planned_on: date,
        today: date,
        measures: list[PlannedMeasure],
    ) -> list[EventData]:
        self._help_step(by_role, ASSISTANCE_ROLES, planned_on, today)
        if plan_id in self.plan_ids:
            return []
        return [
            AssistancePlanned(
                household_id=self._id, plan_id=plan_id, planned_on=planned_on, measures=measures
            )
        ]

    def deliver_assistance(
        self,
        *,
        by_role: Role,
        delivery_id: uuid.UUID,
        measure: AssistanceMeasure,
        delivered_on: date,
        today: date,
        description: str,
        amount_yuan: Decimal | None,
    ) -> list[EventData]:
        self._help_step(by_role, DELIVERY_ROLES, delivered_on, today)
        if measure not in self.planned_measures:
            raise StateConflict(
                "measure_planned_first",
                f"no assistance plan of this household has {measure.value}",
                "measure",
            )
        if delivery_id in self.delivery_ids:
            return []
        return [
            AssistanceDelivered(
                household_id=self._id,
                delivery_id=delivery_id,
                measure=measure,
                delivered_on=delivered_on,
                description=description,
                amount_yuan=amount_yuan,
            )
        ]

    # -- risk elimination ------------------------------------------------------------------------

    def propose_elimination(
        self,
        *,
        by_role: Role,
        proposed_on: date,
        today: date,
        months: int,
        lines: risk.MonitoringLines,
        note: str | None = None,
    ) -> list[EventData]:
        self._require_registered()
        if by_role is not Role.village_officer:
            raise NotPermitted("step_role", "the village proposes risk elimination (村提出名单)")
        if self.stage is not Stage.monitored:
            raise StateConflict("step_order", "only a monitored household's risk can be proposed eliminated")
        _not_after(proposed_on, today, "proposed_on")
        self._not_before_last_step(proposed_on)
        assert self.enrolled_on is not None
        years = {risk.quarter_year(p) for p in self.quarterly}
        line_for_year = {y: lines.line(self.village_code[:2], y) for y in years}
        problem, quarters = risk.elimination_problem(
            self.quarterly, self.annual, _quarter_of(self.enrolled_on), months, line_for_year
        )
        if problem:
            raise StateConflict("elimination_conditions", problem)
        return [
            RiskEliminationProposed(
                household_id=self._id, proposed_on=proposed_on, quarters_above_line=quarters, note=note
            )
        ]

    def approve_elimination(self, *, by_role: Role, eliminated_on: date, today: date) -> list[EventData]:
        self._step(by_role, (Stage.elimination_reviewed,), eliminated_on, today)
        return [RiskEliminated(household_id=self._id, eliminated_on=eliminated_on)]

    def record_followup(
        self, *, by_role: Role, visited_on: date, today: date, stable: bool, note: str
    ) -> list[EventData]:
        self._require_registered()
        if by_role not in FOLLOWUP_ROLES:
            raise NotPermitted("step_role", "follow-up visits are recorded by village or township officers")
        if self.stage is not Stage.eliminated:
            raise StateConflict("step_order", "follow-ups are of households whose risk was eliminated")
        _not_after(visited_on, today, "visited_on")
        if self.eliminated_on is not None and visited_on < self.eliminated_on:
            raise InvalidInput(
                "dates_in_order", f"the risk was eliminated on {self.eliminated_on}: a follow-up comes after"
            )
        return [FollowupRecorded(household_id=self._id, visited_on=visited_on, stable=stable, note=note)]

    def erase(self, *, erased_on: date, reason: str) -> list[EventData]:
        self._require_registered()
        if self.erased:
            return []
        return [PersonalDataErased(household_id=self._id, erased_on=erased_on, reason=reason)]

    # -- guards ----------------------------------------------------------------------------------

    @property
    def _id(self) -> uuid.UUID:
        assert self.household_id is not None
        return self.household_id

    def _require_registered(self) -> None:
        if not self.registered:
            raise NotFound("household_registered", "no such household")

    def _require_not_erased(self) -> None:
        if self.erased:
            raise StateConflict("personal_data_erased", "this household's personal data was erased")

    def _step(self, by_role: Role, stages: tuple[Stage, ...], on: date, today: date) -> Procedure:
        """Check a procedure step is due now and the caller's; the procedure it belongs to."""
        self._require_registered()
        if self.stage not in stages:
            now = self.stage.value if self.stage else "not flagged"
            raise StateConflict("step_order", f"this step does not follow the household's stage ({now})")
        assert self.stage is not None
        role = STEP_ROLE[self.stage]
        if by_role is not role:
            raise NotPermitted(
                "step_role",
                f"the next step ({_STEP_NAME.get(self.stage, self.stage.value)}) is the {role.value}'s",
            )
        _not_after(on, today, "date")
        self._not_before_last_step(on)
        return Procedure.elimination if self.stage in ELIMINATION_STAGES else Procedure.enrolment

    def _not_before_last_step(self, on: date) -> None:
        if self.last_step_on is not None and on < self.last_step_on:
            raise InvalidInput(
                "dates_in_order", f"the previous step was on {self.last_step_on}: a step cannot precede it"
            )

    def _help_step(self, by_role: Role, roles: tuple[Role, ...], on: date, today: date) -> None:
        self._require_registered()
        if by_role not in roles:
            raise NotPermitted("step_role", "this needs one of: " + ", ".join(r.value for r in roles))
        if not self.receives_help:
            raise StateConflict(
                "help_after_enrolment",
                "help is recorded for monitored households, or flagged ones on the urgent path",
            )
        _not_after(on, today, "date")
        # help starts with the enrolment, or with the flag on the urgent path (help first)
        start = self.flag.flagged_on if self.flag is not None and self.flag.urgent else self.enrolled_on
        if start is not None and on < start:
            raise InvalidInput("dates_in_order", f"help is recorded from {start} on", "date")

    # -- state -----------------------------------------------------------------------------------

    def when(self, event: EventData) -> None:
        match event:
            case HouseholdRegistered():
                self.household_id = event.household_id
                self.village_code = event.village_code
                self.status = event.status
                self.members = list(event.members)
            case HouseholdMembersUpdated():
                self.members = list(event.members)
                self.status = event.status
            case HouseholdSurveyed():
                if event.quarterly is not None:
                    self.quarterly[event.period] = event.quarterly
                if event.annual is not None:
                    self.annual[int(event.period)] = event.annual
                if event.batch_id is not None:
                    self.imported.add((event.batch_id, event.period))
            case HouseholdFlagged():
                self.stage = Stage.flagged
                self.flag = OpenFlag(
                    event.flag_id, event.source, list(event.risk_types), event.urgent, event.flagged_on
                )
                self.last_step_on = event.flagged_on
                self.confirmed_risks = []
                self.notice_until = None
                # A new procedure plans its own help: deliveries match this procedure's plans.
                self.planned_measures = set()
            case HouseholdVerified():
                self.stage = _next(self.stage)
                self.last_step_on = event.verified_on
                if event.procedure is Procedure.enrolment:
                    self.confirmed_risks = list(event.risk_types)
            case HouseholdDeliberated():
                self.stage = _next(self.stage)
                self.last_step_on = event.deliberated_on
                self.notice_until = event.notice_until
            case HouseholdReviewed():
                self.stage = _next(self.stage)
                self.last_step_on = event.reviewed_on
                self.notice_until = None
            case HouseholdEnrolled():
                self.stage = Stage.monitored
                self.category = event.category
                self.enrolled_on = event.enrolled_on
                self.last_step_on = event.enrolled_on
            case FlagRejected():
                self.stage = Stage.eliminated if self.times_eliminated else None
                self.flag = None
                self.notice_until = None
                self.last_step_on = None
            case ContactAssigned():
                self.contact_name = event.contact_name
            case AssistancePlanned():
                self.plan_ids.add(event.plan_id)
                self.planned_measures.update(m.measure for m in event.measures)
            case AssistanceDelivered():
                self.delivery_ids.add(event.delivery_id)
            case RiskEliminationProposed():
                self.stage = Stage.elimination_proposed
                self.last_step_on = event.proposed_on
            case RiskEliminationRejected():
                self.stage = Stage.monitored
                self.notice_until = None
                self.last_step_on = event.rejected_on
            case RiskEliminated():
                self.stage = Stage.eliminated
                self.times_eliminated += 1
                self.eliminated_on = event.eliminated_on
                self.flag = None
                self.category = None
                self.last_step_on = None
            case PersonalDataErased():
                self.erased = True


_ORDER = (*ENROLMENT_STAGES, Stage.monitored, *ELIMINATION_STAGES, Stage.eliminated)


def _next(stage: Stage | None) -> Stage:
    assert stage is not None
    return _ORDER[_ORDER.index(stage) + 1]


def _not_after(day: date, today: date, field_name: str) -> None:
    if day > today:
        raise InvalidInput("date_not_in_future", f"{day} is after today ({today})", field_name)


def _check_members(members: list[Member]) -> None:
    heads = [m for m in members if m.relation.value == "head"]
    if len(heads) != 1:
        raise InvalidInput("one_head", "a household has exactly one head (户主)", "members")
    numbers = [m.member_no for m in members]
    if len(set(numbers)) != len(numbers):
        raise InvalidInput("member_numbers_unique", "each member_no is used once", "members")
