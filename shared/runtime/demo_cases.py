"""The demo county's monitoring cases (pure): households flagged at risk and taken through the
five-step procedure to every stage it has — flagged, verified, deliberated, reviewed, monitored
with contacts and assistance, in risk elimination, eliminated (some followed up, a few flagged
again), or rejected — each a list of dated API steps that keeps the service's rules: dates in
order and not after today, the public notice over before the review, help after enrolment (or
after the flag on the urgent path), risk elimination after two quarters above the line.

Most flags are raised by officers (a cadre's visit, a self-declaration, a department's alert)
before the surveys are imported; a quarter of them come from the rules, on the latest quarter's
survey, which then shows an income below the line.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from shared.periods import Quarter
from shared.runtime import demo_names as names
from shared.runtime.demo_households import (
    Annual,
    Household,
    Profile,
    Quarterly,
    annual_survey,
    normal_quarters,
)

# Cases by where they end, at full scale ("a few dozen at every stage").
OUTCOMES: tuple[tuple[str, int], ...] = (
    ("flagged", 24),
    ("verified", 24),
    ("deliberated", 24),
    ("reviewed", 24),
    ("monitored", 60),
    ("elimination_proposed", 4),
    ("elimination_verified", 4),
    ("elimination_deliberated", 4),
    ("elimination_reviewed", 4),
    ("eliminated", 30),
    ("rejected", 24),
)
ENROLMENT = ("flagged", "verified", "deliberated", "reviewed")
ELIMINATION = (
    "elimination_proposed",
    "elimination_verified",
    "elimination_deliberated",
    "elimination_reviewed",
)
# Who takes the step a stage waits for (and so who may reject there).
STEP_ROLE = {
    "flagged": "township_officer",
    "verified": "village_officer",
    "deliberated": "township_officer",
    "reviewed": "county_officer",
}
REJECTION_REASONS = {
    "flagged": "经入户核实，家庭收入稳定在监测范围以上，不符合纳入条件",
    "verified": "民主评议未通过：家庭成员有稳定务工收入",
    "deliberated": "公示期间收到异议，经乡镇复核不符合纳入条件",
    "reviewed": "县级审定：家庭经营性收入较高，不予纳入",
}


@dataclass(frozen=True)
class RiskStyle:
    department: str | None  # the department whose screening finds it, if any
    finding: str
    measures: tuple[tuple[str, str, int, int], ...]  # measure, description, amount range in yuan
    expense: str | None = None  # the rigid expense it raises; None: the income falls instead
    guarantee: str | None = None  # the annual guarantee it breaks


RISKS: dict[str, RiskStyle] = {
    "illness": RiskStyle(
        "health",
        "家庭成员患重病住院治疗，医疗自付支出大",
        (
            ("health", "落实先诊疗后付费和家庭医生签约服务", 2_000, 8_000),
            ("finance", "防贫保险理赔", 3_000, 12_000),
        ),
        expense="medical",
    ),
    "disability": RiskStyle(
        "disabled_persons_federation",
        "家庭成员因残丧失劳动能力",
        (("social_assistance", "落实残疾人两项补贴并纳入低保", 1_200, 6_000),),
    ),
    "schooling": RiskStyle(
        "education",
        "子女就读大学，教育支出增加",
        (("education", "落实雨露计划和国家助学金", 1_500, 5_000),),
        expense="schooling",
    ),
    "disaster": RiskStyle(
        "emergency_management",
        "冰雹灾害致农作物绝收、棚圈受损",
        (("housing", "灾后房屋和棚圈修缮补助", 8_000, 30_000), ("industry", "补栏基础母羊", 3_000, 12_000)),
        expense="disaster",
    ),
    "accident": RiskStyle(
        None,
        "家庭主要劳动力意外受伤",
        (
            ("social_assistance", "发放临时救助金", 2_000, 8_000),
            ("public_welfare_job", "安排公益性岗位", 6_000, 12_000),
        ),
        expense="accident",
    ),
    "failed_industry": RiskStyle(
        None,
        "养殖羊只疫病死亡，经营收入大幅减少",
        (
            ("industry", "产业奖补，帮助恢复养殖", 3_000, 15_000),
            ("finance", "发放脱贫人口小额信贷", 20_000, 50_000),
        ),
    ),
    "unstable_employment": RiskStyle(
        None,
        "外出务工中断，工资性收入明显减少",
        (
            ("employment", "推荐就业岗位并开展技能培训", 800, 3_000),
            ("public_welfare_job", "安排公益性岗位", 6_000, 12_000),
        ),
    ),
    "lack_of_labour": RiskStyle(
        "civil_affairs",
        "家中主要劳动力年老体弱，缺乏劳动能力",
        (("social_assistance", "纳入农村低保", 2_400, 7_200), ("motivation", "开展扶志扶智宣讲", 300, 1_000)),
    ),
    "housing_safety": RiskStyle(
        "housing",
        "住房经鉴定为C级危房",
        (("housing", "实施农村危房改造", 20_000, 40_000),),
        guarantee="housing",
    ),
    "drinking_water_safety": RiskStyle(
        None,
        "水源季节性短缺，饮水不安全",
        (("water", "入户自来水管网改造", 2_000, 6_000),),
        guarantee="water",
    ),
}
RISK_WEIGHTS = {
    "illness": 25,
    "unstable_employment": 12,
    "failed_industry": 8,
    "lack_of_labour": 6,
    "disability": 6,
    "schooling": 8,
    "disaster": 8,
    "accident": 5,
    "housing_safety": 4,
    "drinking_water_safety": 3,
}
RULE_CAUSES = ("unstable_employment", "failed_industry", "illness", "lack_of_labour")


@dataclass(frozen=True)
class Step:
    """One call: ``action`` is the path under ``/households/{id}/`` (``department-alerts``: the
    top-level alert, which names the household in its body)."""

    action: str
    role: str
    on: date
    body: dict[str, Any]


@dataclass(frozen=True)
class Case:
    household: str  # its key
    outcome: str  # the stage it ends at, or "rejected"
    source: str  # of the (first) flag: cadre_visit, self_declared, department_alert, rule
    risk: str
    urgent: bool
    reflagged: bool
    flagged_on: date
    enrolled_on: date | None
    steps: tuple[Step, ...]

    @property
    def final_stage(self) -> str | None:
        return None if self.outcome == "rejected" else ("flagged" if self.reflagged else self.outcome)

    @property
    def opening(self) -> Step | None:
        """The flag raised before the surveys are imported (none when the rules raise it)."""
        return None if self.source == "rule" else self.steps[0]

    @property
    def later_steps(self) -> tuple[Step, ...]:
        return self.steps if self.source == "rule" else self.steps[1:]


@dataclass
class _Gaps:
    """Days between the steps of one procedure."""

    verify: int
    deliberate: int
    notice: int
    review: int
    approve: int

    @classmethod
    def drawn(cls, rng: random.Random, elimination: bool = False) -> _Gaps:
        if elimination:
            return cls(
                rng.randint(2, 7), rng.randint(2, 6), rng.randint(0, 1), rng.randint(7, 10), rng.randint(1, 6)
            )
        return cls(
            _days(rng, (1, 6), (8, 12), 0.2),  # a fifth over the 7-day deadline
            _days(rng, (1, 6), (8, 11), 0.2),
            rng.randint(0, 1),
            rng.randint(7, 11),  # the notice (5 days by default) is over before the review
            _days(rng, (1, 9), (11, 15), 0.15),
        )

    @classmethod
    def shortest(cls) -> _Gaps:
        return cls(1, 1, 0, 7, 1)

    def upto(self, stage_index: int) -> int:
        """Days from the flag (or proposal) to the step that ends at stage ``stage_index`` (0: the
        flag itself, 4: approval)."""
        parts = (self.verify, self.deliberate + self.notice, self.review, self.approve)
        return sum(parts[:stage_index])


def _days(rng: random.Random, quick: tuple[int, int], slow: tuple[int, int], slow_share: float) -> int:
    return rng.randint(*slow) if rng.random() < slow_share else rng.randint(*quick)


def scaled(full: int, scale: float) -> int:
    return max(1, round(full * scale))


def build_cases(
    rng: random.Random,
    profiles: list[Profile],
    townships: dict[str, str],
    quarters: list[Quarter],
    today: date,
    scale: float,
) -> list[Case]:
    """Cases on some of ``profiles`` (former poor and low-income households twice as often);
    ``townships`` names each township code, for the contacts' work units."""
    wanted = [(outcome, scaled(full, scale)) for outcome, full in OUTCOMES]
    total = min(sum(n for _, n in wanted), len(profiles))
    weights = [2 if p.status != "ordinary" else 1 for p in profiles]
    chosen: list[Profile] = []
    seen: set[str] = set()
    while len(chosen) < total:
        profile = rng.choices(profiles, weights)[0]
        if profile.key not in seen:
            seen.add(profile.key)
            chosen.append(profile)
    planner = _Planner(rng, today, quarters, townships)
    urgent_monitored = scaled(5, scale)
    overdue_contacts = scaled(3, scale)
    reflags = scaled(2, scale)
    cases: list[Case] = []
    it = iter(chosen)
    for outcome, count in wanted:
        for i in range(count):
            profile = next(it, None)
            if profile is None:
                return cases
            # the urgent path (help first, steps after): the first case of each enrolment stage
            urgent = outcome in ENROLMENT and i == 0
            if outcome == "monitored" and urgent_monitored > 0 and i % 4 == 2:
                urgent, urgent_monitored = True, urgent_monitored - 1
            no_contact = outcome == "monitored" and not urgent and overdue_contacts > 0 and i % 5 == 3
            overdue_contacts -= no_contact
            reflag = outcome == "flagged" and not urgent and reflags > 0 and i == count - 1
            reflags -= reflag
            # a quarter of the flags come from the rules (fewer of those still waiting: the
            # latest quarter's survey is weeks old)
            by_rule = (
                not urgent
                and not reflag
                and (
                    i % 4 == 1
                    if outcome in (*ENROLMENT[1:], "monitored", "rejected")
                    else outcome == "flagged" and i % 10 == 5
                )
            )
            cases.append(planner.case(profile, outcome, urgent, by_rule, no_contact, reflag))
    return cases


class _Planner:
    def __init__(
        self, rng: random.Random, today: date, quarters: list[Quarter], townships: dict[str, str]
    ) -> None:
        self.rng = rng
        self.today = today
        self.quarters = quarters
        self.townships = townships

    def case(
        self, profile: Profile, outcome: str, urgent: bool, by_rule: bool, no_contact: bool, reflag: bool
    ) -> Case:
        rng, today = self.rng, self.today
        path = "eliminated" if reflag else outcome  # flagged again after its risk was eliminated
        reject_at = rng.choices(ENROLMENT, [40, 25, 20, 15])[0] if path == "rejected" else None
        reject_gap = rng.randint(1, 8) if reject_at else 0
        stop = ENROLMENT.index(reject_at) if reject_at else ENROLMENT.index(path) if path in ENROLMENT else 4
        plan = _Plan(profile, outcome, path, stop, reject_at, reject_gap, urgent, no_contact, reflag)
        if by_rule:
            flagged_on = profile.survey_days[-1]  # the latest quarter's survey raises the flag
            for gaps in (_Gaps.drawn(rng), _Gaps.shortest()):
                end = flagged_on + timedelta(days=gaps.upto(stop) + reject_gap)
                if end > today:
                    continue
                if path != "monitored":
                    # weeks after the survey, its last step is recent: the verification came late
                    late = (today - timedelta(days=rng.randint(0, 10)) - end).days
                    if stop >= 1:
                        gaps.verify += max(0, late)
                    else:
                        plan = replace(plan, reject_gap=plan.reject_gap + max(0, late) * bool(reject_at))
                return self._build(plan, "rule", rng.choice(RULE_CAUSES), flagged_on, gaps)
        risk = self._risk(urgent, eliminating=path not in (*ENROLMENT, "monitored", "rejected"))
        gaps = _Gaps.drawn(rng)
        if path in ENROLMENT:
            last = today - timedelta(days=rng.randint(0, (11, 8, 9, 12)[stop]))
            flagged_on = last - timedelta(days=gaps.upto(stop))
        elif path == "rejected":
            last = today - timedelta(days=rng.randint(2, 120))
            flagged_on = last - timedelta(days=gaps.upto(stop) + reject_gap)
        elif path == "monitored":
            enrolled = today - timedelta(days=rng.randint(20, 120) if no_contact else rng.randint(3, 300))
            flagged_on = enrolled - timedelta(days=gaps.upto(4))
        else:
            flagged_on = self._enrolled_before_elimination() - timedelta(days=gaps.upto(4))
        return self._build(plan, self._source(risk), risk, flagged_on, gaps)

    def _risk(self, urgent: bool, eliminating: bool) -> str:
        if urgent:
            return self.rng.choice(["disaster", "accident"])
        # a broken guarantee would stand in the annual survey and block risk elimination
        risks = [r for r in RISK_WEIGHTS if not (eliminating and RISKS[r].guarantee)]
        return self.rng.choices(risks, [RISK_WEIGHTS[r] for r in risks])[0]

    def _source(self, risk: str) -> str:
        roll = self.rng.random()
        if roll < 0.25 and RISKS[risk].department:
            return "department_alert"
        return "self_declared" if roll < 0.5 else "cadre_visit"

    def _enrolled_before_elimination(self) -> date:
        """Enrolled by the end of the second-latest surveyed quarter, so that two quarterly surveys
        since enrolment can show the income back above the line."""
        latest = min(self.today - timedelta(days=120), self.quarters[-2].end)
        earliest = self.today - timedelta(days=330)
        return earliest + timedelta(days=self.rng.randint(0, max(0, (latest - earliest).days)))

    def _build(self, plan: _Plan, source: str, risk: str, flagged_on: date, gaps: _Gaps) -> Case:
        profile = plan.profile
        chain = _Chain(self.rng, self.today, profile, risk, self.townships.get(profile.village[:9], ""))
        chain.flag(source, flagged_on, risk, plan.urgent)
        if plan.urgent:
            chain.help_early(flagged_on)
        day = chain.enrol(flagged_on, gaps, plan.stop, risk)
        enrolled_on = day if plan.stop == 4 and not plan.reject_at else None
        if plan.reject_at:
            chain.reject(day + timedelta(days=plan.reject_gap), plan.reject_at)
        elif enrolled_on is not None:
            chain.approve(enrolled_on, _category(profile, plan.urgent))
            if plan.path == "monitored":
                if not plan.no_contact:
                    chain.help(enrolled_on, self.today, contact_given=plan.urgent)
            else:
                self._eliminate(chain, plan, enrolled_on)
        return Case(
            profile.key,
            plan.outcome,
            source,
            risk,
            plan.urgent,
            plan.reflag,
            flagged_on,
            enrolled_on,
            tuple(chain.sorted()),
        )

    def _eliminate(self, chain: _Chain, plan: _Plan, enrolled_on: date) -> None:
        rng, today = self.rng, self.today
        gaps = _Gaps.drawn(rng, elimination=True)
        stage = ELIMINATION.index(plan.path) if plan.path in ELIMINATION else 4
        if stage == 4:
            last = today - timedelta(days=rng.randint(12, 35) if plan.reflag else rng.randint(3, 35))
        else:
            last = today - timedelta(days=rng.randint(0, 6))
        proposed_on = max(last - timedelta(days=gaps.upto(stage)), enrolled_on + timedelta(days=30))
        chain.help(enrolled_on, proposed_on - timedelta(days=1), contact_given=plan.urgent)
        eliminated_on = chain.eliminate(proposed_on, gaps, stage)
        if eliminated_on is None:
            return
        if plan.reflag:
            visited = min(today, eliminated_on + timedelta(days=rng.randint(3, 8)))
            chain.followup(visited, stable=False)
            chain.flag(
                "cadre_visit", min(today, visited + timedelta(days=rng.randint(0, 3))), "illness", False
            )
        elif rng.random() < 0.6 and eliminated_on + timedelta(days=7) <= today:
            chain.followup(min(today, eliminated_on + timedelta(days=rng.randint(7, 40))), stable=True)


@dataclass(frozen=True)
class _Plan:
    """What a case is to become: its outcome, the path there, and the stage its steps stop at."""

    profile: Profile
    outcome: str
    path: str
    stop: int  # 0 flagged … 3 reviewed, 4 approved
    reject_at: str | None
    reject_gap: int
    urgent: bool
    no_contact: bool
    reflag: bool


def _category(profile: Profile, urgent: bool) -> str:
    if urgent:
        return "sudden_severe_hardship"
    return "unstable_after_exit" if profile.status == "former_poor" else "marginal_at_risk"


class _Chain:
    """The steps of one case as they are drawn (help may be drawn after later procedure steps:
    ``sorted`` puts them in date order, the order they are taken in)."""

    def __init__(self, rng: random.Random, today: date, profile: Profile, risk: str, township: str) -> None:
        self.rng = rng
        self.today = today
        self.profile = profile
        self.risk = risk
        self.township = township
        self.steps: list[tuple[date, int, Step]] = []

    def add(self, action: str, role: str, on: date, body: dict[str, Any]) -> None:
        assert on <= self.today, f"{action} on {on} is after today"
        self.steps.append((on, len(self.steps), Step(action, role, on, body)))

    def sorted(self) -> list[Step]:
        return [step for _, _, step in sorted(self.steps, key=lambda s: (s[0], s[1]))]

    def flag(self, source: str, on: date, risk: str, urgent: bool) -> None:
        if source == "rule":
            return  # raised by the import of the latest quarter's survey
        note = RISKS[risk].finding
        if source == "department_alert":
            body = {
                "department": RISKS[risk].department,
                "risk_types": [risk],
                "alerted_on": on.isoformat(),
                "urgent": urgent,
                "note": f"部门筛查预警：{note}",
            }
            self.add("department-alerts", "county_officer", on, body)
            return
        role = (
            "village_officer" if source == "self_declared" or self.rng.random() < 0.7 else "township_officer"
        )
        body = {
            "source": source,
            "risk_types": [risk],
            "flagged_on": on.isoformat(),
            "urgent": urgent,
            "note": note,
        }
        self.add("flags", role, on, body)

    def enrol(self, flagged_on: date, gaps: _Gaps, stop: int, cause: str) -> date:
        """The steps up to stage ``stop`` (1: verified … 4: reviewed, and the approval's date is
        returned for the caller to take); the date of the last step (or of the approval)."""
        findings = f"入户核实：{RISKS[cause].finding}，情况属实"
        return self._steps(flagged_on, gaps, stop, [cause], findings, "公示期满无异议，同意上报")

    def _steps(
        self, start: date, gaps: _Gaps, stop: int, risks: list[str], findings: str, opinion: str
    ) -> date:
        """Verification, deliberation with its notice, and review, up to stage ``stop``, as both
        procedures take them; with ``stop`` 4, the approval's date (the caller takes it)."""
        day = start
        if stop >= 1:
            day += timedelta(days=gaps.verify)
            body = {"verified_on": day.isoformat(), "risk_types": risks, "findings": findings}
            self.add("verification", "township_officer", day, body)
        if stop >= 2:
            day += timedelta(days=gaps.deliberate)
            notice = day + timedelta(days=gaps.notice)
            self.add("deliberation", "village_officer", day, self._deliberation(day, notice))
            day = notice
        if stop >= 3:
            day += timedelta(days=gaps.review)
            self.add("review", "township_officer", day, {"reviewed_on": day.isoformat(), "opinion": opinion})
        if stop >= 4:
            day += timedelta(days=gaps.approve)
        return day

    def _deliberation(self, day: date, notice: date) -> dict[str, Any]:
        return {
            "deliberated_on": day.isoformat(),
            "votes_for": self.rng.randint(18, 45),
            "votes_against": self.rng.randint(0, 3),
            "notice_from": notice.isoformat(),
        }

    def approve(self, on: date, category: str | None) -> None:
        body: dict[str, Any] = {"approved_on": on.isoformat()}
        if category:
            body["category"] = category
        self.add("approval", "county_officer", on, body)

    def reject(self, on: date, stage: str) -> None:
        body = {"rejected_on": on.isoformat(), "reason": REJECTION_REASONS[stage]}
        self.add("rejection", STEP_ROLE[stage], on, body)

    def help_early(self, flagged_on: date) -> None:
        """The urgent path: a contact, a plan and a first delivery while the steps are under way."""
        contact = flagged_on + timedelta(days=self.rng.randint(0, 2))
        if contact <= self.today:
            self._contact(contact)
            self._plan_and_deliver(contact, min(self.today, contact + timedelta(days=5)), deliveries=1)

    def help(self, enrolled_on: date, until: date, contact_given: bool) -> None:
        """A contact (within the 15 days mostly), a plan and deliveries until ``until``."""
        contact = enrolled_on + timedelta(days=_days(self.rng, (2, 13), (16, 25), 0.2))
        if contact > until:
            return
        if not contact_given:
            self._contact(contact)
        self._plan_and_deliver(contact, until, deliveries=self.rng.randint(1, 3))

    def _contact(self, on: date) -> None:
        unit = names.pick(
            self.rng, (*names.CADRE_UNITS, f"{self.township}人民政府", f"{self.township}人民政府")
        )
        body = {
            "name": names.person_name(self.rng, names.surname(self.rng) or "王", self.rng.random() < 0.6),
            "unit": unit,
            "phone": names.mobile(self.rng),
            "assigned_on": on.isoformat(),
        }
        self.add("contact", "township_officer", on, body)

    def _plan_and_deliver(self, start: date, until: date, deliveries: int) -> None:
        planned = start + timedelta(days=self.rng.randint(0, 5))
        if planned > until:
            return
        style = RISKS[self.risk]
        measures = [
            {"measure": m, "risk_type": self.risk, "description": d, "budget_yuan": f"{hi}.00"}
            for m, d, _, hi in style.measures
        ]
        self.add(
            "assistance-plans",
            "township_officer",
            planned,
            {"planned_on": planned.isoformat(), "measures": measures},
        )
        day = planned
        for n in range(deliveries):
            day += timedelta(days=self.rng.randint(1, 5) if n == 0 else self.rng.randint(20, 60))
            if day > until:
                return
            measure, description, low, high = style.measures[n % len(style.measures)]
            amount = Decimal(self.rng.randint(low // 100, high // 100) * 100)
            body = {
                "measure": measure,
                "delivered_on": day.isoformat(),
                "description": description,
                "amount_yuan": f"{amount}.00",
            }
            self.add("assistance-deliveries", "village_officer", day, body)

    def eliminate(self, proposed_on: date, gaps: _Gaps, stop: int) -> date | None:
        """Risk elimination up to stage ``stop`` (0: proposed … 4: eliminated); the day the risk
        was eliminated, or None while the procedure is under way."""
        self.add(
            "elimination-proposal",
            "village_officer",
            proposed_on,
            {"proposed_on": proposed_on.isoformat(), "note": "连续两个季度收入稳定在监测范围以上"},
        )
        findings = "入户核实：家庭收入稳定在监测范围以上，两不愁三保障均有保障，风险已消除"
        day = self._steps(proposed_on, gaps, stop, [], findings, "公示无异议，同意风险消除")
        if stop >= 4:
            self.approve(day, None)
            return day
        return None

    def followup(self, on: date, stable: bool) -> None:
        note = (
            "回访：家庭收入稳定，各项保障落实到位"
            if stable
            else "回访：家庭成员患病住院，收入下降，需重新识别"
        )
        self.add(
            "followups", "village_officer", on, {"visited_on": on.isoformat(), "stable": stable, "note": note}
        )


def surveyed(
    rng: random.Random, profile: Profile, case: Case | None, quarters: list[Quarter], today: date
) -> Household:
    """The household with its quarterly surveys (and an annual one for former-poor, low-income and
    case households): a case's risk shows in the quarters after its flag and fades after help."""
    normal = normal_quarters(rng, profile, quarters)
    wants_annual = case is not None or profile.status != "ordinary"
    annual = annual_survey(rng, profile, today) if wants_annual else None
    if case is None:
        return Household(profile, tuple(normal), annual)
    made = [_quarter_of_case(rng, case, q, quarter) for q, quarter in zip(normal, quarters, strict=True)]
    return Household(profile, tuple(made), _annual_of_case(rng, case, annual))


def _quarter_of_case(rng: random.Random, case: Case, normal: Quarterly, quarter: Quarter) -> Quarterly:
    eliminating = case.outcome in ELIMINATION or case.outcome == "eliminated" or case.reflagged
    if case.source == "rule":
        latest = normal.surveyed_on == case.flagged_on
        return replace(normal, income=Decimal(rng.randint(5_200, 7_200))) if latest else normal
    if case.outcome == "rejected" or normal.surveyed_on < case.flagged_on:
        return normal
    enrolled = case.enrolled_on
    if enrolled is not None and (
        (eliminating and quarter >= Quarter.of(enrolled))
        or (not eliminating and normal.surveyed_on > enrolled + timedelta(days=150))
    ):
        return replace(normal, income=Decimal(rng.randint(8_800, 12_000)), medical=Decimal(0))
    expense = RISKS[case.risk].expense
    if expense is None:
        return replace(normal, income=Decimal(rng.randint(5_200, 7_200)))
    spent = Decimal(rng.randint(15_000, 40_000))
    return replace(
        normal, income=Decimal(round(int(normal.income) * rng.uniform(0.75, 0.95))), **{expense: spent}
    )


def _annual_of_case(rng: random.Random, case: Case, annual: Annual | None) -> Annual | None:
    """A guarantee the case's risk breaks shows in the annual survey — not for a case rejected (no
    risk was found) or on its way out of monitoring (elimination needs every guarantee held)."""
    eliminating = case.outcome in ELIMINATION or case.outcome == "eliminated" or case.reflagged
    if annual is None or case.outcome == "rejected" or eliminating:
        return annual
    broken = RISKS[case.risk].guarantee
    if broken == "housing":
        return replace(annual, housing_safe=False)
    if broken == "water":
        return replace(annual, drinking_water_safe=False)
    if case.risk == "illness" and case.outcome in (*ENROLMENT, "monitored") and rng.random() < 0.3:
        return replace(annual, medical_insured_all=False)
    return annual
