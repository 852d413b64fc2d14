"""End to end: a small county driven through the pairing and monitoring APIs (tests/support/county.py),
and every reporting table's numbers checked against the facts the test entered.

The expected figures are computed here from the scenario's ``Ledger`` alone (not with the table
builders), following each table's stated definitions; the API answers money and percentages as
decimal strings and dates as ISO strings, which ``parsed`` turns back into values.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.auth import Role
from shared.clock import CHINA
from shared.settings import Settings
from tests.support.county import (
    CLOSED_PERIOD,
    COUNTY,
    END,
    T1,
    AgreementFact,
    County,
    HouseholdFact,
    Ledger,
    StepFact,
    build_county,
    close_first_half,
    county_services,
    county_settings,
    end_of_day,
    first_half,
    noon,
    second_half,
)

# The Chinese names the tables print, in the catalogue's order (the seed's wording).
PATHWAYS = {
    "industry": "产业",
    "employment": "就业",
    "consumption": "消费",
    "donation": "公益",
    "technology": "科技",
    "trade": "商贸",
    "talent": "人才",
    "culture": "文化",
    "ecology": "生态",
    "organisation": "组织",
    "finance": "金融",
}
MODES = {
    "leading_enterprise": "龙头带动",
    "enclave_cluster": "飞地抱团",
    "labour_cooperation": "劳务合作",
    "chain_relocation": "产业链下沉",
    "agri_tourism": "农旅融合",
    "order_farming": "订单合作",
}
STATUSES = {"active": "在帮", "needs_relay": "待接力", "relayed": "已接力"}
VILLAGE_CATEGORIES = {"demonstration": "示范村", "key_support": "重点帮扶村", "overall_advance": "整体推进村"}
KINDS = {"leading_agricultural": "农业龙头企业", "private_enterprise": "民营企业", "state_owned": "国有企业"}
LEVELS = {"provincial": "省级", "county": "县级", None: ""}
CATEGORIES = ("unstable_after_exit", "marginal_at_risk", "sudden_severe_hardship")
RISKS = {"illness": "因病", "disaster": "因灾"}
STEPS = ("verification", "deliberation", "township_review", "county_approval", "contact")
STEP_NAMES = ("入户核实", "民主评议公示", "乡镇审核", "县级审定", "明确帮扶责任人")
ZERO = Decimal(0)
TOTAL = "合计"


def china_day(t: datetime) -> date:
    return t.astimezone(CHINA).date()


def pct(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def median(days: list[int]) -> int | None:
    if not days:
        return None
    return int(Decimal(str(statistics.median(days))).quantize(Decimal(1), ROUND_HALF_UP))


def half_of(day: date) -> str:
    return f"{day.year}H{1 if day.month <= 6 else 2}"


def next_half(period: str) -> str:
    year, half = int(period[:4]), int(period[5])
    return f"{year}H2" if half == 1 else f"{year + 1}H1"


def counted_in(ledger: Ledger, day: date, at: datetime) -> str:
    """The half-year a fact dated ``day`` and recorded ``at`` counts in: its own, unless that one
    was closed when it was recorded (then the next open one)."""
    period = half_of(day)
    while (closed := ledger.closed_at.get(period)) is not None and at > closed:
        period = next_half(period)
    return period


def parsed(table: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Rows and totals with money and percentages as Decimal, dates as date (each checked a string)."""
    kinds = {c["key"]: c["kind"] for c in table["columns"]}

    def value(key: str, v: Any) -> Any:
        if v is None:
            return None
        if kinds.get(key) in ("yuan", "percent"):
            assert isinstance(v, str), f"{table['name']}.{key} = {v!r} is not a decimal string"
            return Decimal(v)
        if kinds.get(key) == "date":
            assert isinstance(v, str), f"{table['name']}.{key} = {v!r} is not an ISO date"
            return date.fromisoformat(v)
        return v

    rows = [{k: value(k, v) for k, v in r.items()} for r in table["rows"]]
    totals = {k: value(k, v) for k, v in table["totals"].items()} if table["totals"] else None
    assert table["total"] == len(rows)
    return rows, totals


def same(actual: dict[str, Any], expected: dict[str, Any], what: str) -> None:
    """Every expected cell equals the actual one (numbers compared as numbers)."""
    wrong = {k: (actual.get(k), v) for k, v in expected.items() if actual.get(k) != v}
    assert not wrong, f"{what}: (actual, expected) {wrong}"


def same_rows(actual: list[dict[str, Any]], expected: list[dict[str, Any]], what: str) -> None:
    assert len(actual) == len(expected), f"{what}: {len(actual)} rows, expected {len(expected)}"
    for n, (a, e) in enumerate(zip(actual, expected, strict=True)):
        same(a, e, f"{what} row {n}")


def names(mapping: dict[str, str], values: Iterable[str]) -> str:
    chosen = set(values)
    return "、".join(name for value, name in mapping.items() if value in chosen)


def sums(rows: list[dict[str, Any]], keys: Iterable[str]) -> dict[str, Any]:
    def zero(k: str) -> Any:
        return ZERO if rows and isinstance(rows[0][k], Decimal) else 0

    return {k: sum((r[k] for r in rows), start=zero(k)) for k in keys}


# -- the ledger as of a moment -------------------------------------------------------------------------


class View:
    """The ledger's facts as recorded by ``t`` (the API's ``as_of``), for half-year ``period``."""

    def __init__(self, ledger: Ledger, t: datetime, period: str) -> None:
        self.ledger, self.t, self.period = ledger, t, period
        self.today = china_day(t)
        self.villages = sorted((v for v in ledger.villages if v.at <= t), key=lambda v: v.code)
        self.agreements = [a for a in ledger.agreements.values() if a.at <= t]
        self.projects = [p for p in ledger.projects.values() if p.at <= t]
        self.tranches = [x for x in ledger.tranches if x.at <= t]
        self.done = [x for x in self.tranches if x.invested_on <= self.today]
        self.households = [h for h in ledger.households.values() if h.at <= t]
        self.enterprises = {k: e for k, e in ledger.enterprises.items() if e.at <= t}

    def active(self, agreements: Iterable[AgreementFact] | None = None) -> list[AgreementFact]:
        return [
            a for a in (self.agreements if agreements is None else agreements) if a.status(self.t) == "active"
        ]

    def invested(self, project_key: str, in_period: bool = False) -> Decimal:
        return sum(
            (
                x.amount
                for x in self.done
                if x.project == project_key
                and (not in_period or counted_in(self.ledger, x.invested_on, x.at) == self.period)
            ),
            start=ZERO,
        )

    def in_period(self, day: date, at: datetime) -> bool:
        return counted_in(self.ledger, day, at) == self.period

    def steps(self, h: HouseholdFact) -> list[StepFact]:
        return h.steps_by(self.t)


def commitments(agreements: list[AgreementFact]) -> dict[str, Any]:
    return {
        "investment_committed": sum((a.investment for a in agreements), start=ZERO),
        "jobs": sum(a.jobs for a in agreements),
        "trainees": sum(a.trainees for a in agreements),
        "purchases": sum((a.purchases for a in agreements), start=ZERO),
        "donations": sum((a.donations for a in agreements), start=ZERO),
    }


# -- expected tables -------------------------------------------------------------------------------------


def village_ledger(v: View) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = []
    for village in v.villages:
        own = [a for a in v.agreements if a.village == village.code]
        active = v.active(own)
        projects = [p for p in v.projects if p.village == village.code]
        milestones = [m for p in projects for m in p.milestones]
        incomes = [i for i in v.ledger.incomes if i.village == village.code and i.at <= v.t]
        year = max((i.year for i in incomes), default=None)
        income = [i for i in incomes if i.year == year][-1].amount if year else None
        rows.append(
            {
                "village_code": village.code,
                "township_code": village.code[:9],
                "village": village.name,
                "category": VILLAGE_CATEGORIES[village.category],
                "former_poverty_village": "是" if village.former_poverty_village else "否",
                "enterprises": len({a.enterprise for a in active}),
                "agreements": len(own),
                "agreements_active": len(active),
                "agreements_needing_relay": sum(a.status(v.t) == "needs_relay" for a in own),
                "pathways": names(PATHWAYS, (p for a in active for p in a.pathways)),
                "projects": len(projects),
                "projects_completed": sum(p.completed(v.t) for p in projects),
                "investment_done": sum((v.invested(p.key) for p in projects), start=ZERO),
                **commitments(active),
                "beneficiary_households": sum(p.beneficiaries for p in projects),
                "milestones_reached": sum(m.reached(v.t) for m in milestones),
                "milestones": len(milestones),
                "income_year": year,
                "income_yuan": income,
            }
        )
    summed = [
        "agreements", "agreements_active", "agreements_needing_relay", "projects", "projects_completed",
        "investment_committed", "investment_done", "jobs", "trainees", "purchases", "donations",
        "beneficiary_households", "milestones_reached", "milestones",
    ]  # fmt: skip
    totals = {
        "village_code": TOTAL,
        **sums(rows, summed),
        "enterprises": len({a.enterprise for a in v.active()}),
    }
    return rows, totals


def enterprise_ledger(v: View) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = []
    for e in sorted(v.enterprises.values(), key=lambda e: (e.name, e.credit_code)):
        own = [a for a in v.agreements if a.enterprise == e.key]
        active = v.active(own)
        projects = [p for p in v.projects if e.key in p.enterprises]
        rows.append(
            {
                "enterprise": e.name,
                "credit_code": e.credit_code,
                "kind": KINDS[e.kind],
                "leading_level": LEVELS[e.leading_level],
                "county_code": COUNTY,
                "villages": len({a.village for a in active}),
                "agreements": len(own),
                "agreements_active": len(active),
                "investment_committed": sum((a.investment for a in active), start=ZERO),
                "projects": len(projects),
                "investment_done": sum((v.invested(p.key) for p in projects), start=ZERO),
                "jobs": sum(a.jobs for a in active),
            }
        )
    totals = {
        "enterprise": TOTAL,
        **sums(rows, ["agreements", "agreements_active", "investment_committed", "jobs"]),
        "villages": len({a.village for a in v.active()}),
        "projects": len(v.projects),
        "investment_done": sum((v.invested(p.key) for p in v.projects), start=ZERO),
    }
    return rows, totals


def pairing_list(v: View) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    villages = {x.code: x.name for x in v.villages}
    by_key = v.ledger.agreements

    def described(key: str | None) -> str:
        if key is None:
            return ""
        other = by_key[key]
        return f"{v.enterprises[other.enterprise].name}（{other.document_ref}）"

    ordered = sorted(
        v.agreements, key=lambda a: (a.village, a.signed_on, v.enterprises[a.enterprise].name, a.id)
    )
    rows = [
        {
            "township_code": a.village[:9],
            "village_code": a.village,
            "village": villages[a.village],
            "enterprise": v.enterprises[a.enterprise].name,
            "credit_code": v.enterprises[a.enterprise].credit_code,
            "document_ref": a.document_ref,
            "signed_on": a.signed_on,
            "term_years": a.term_years,
            "pathways": names(PATHWAYS, a.pathways),
            "mode": MODES[a.mode],
            "investment_committed": a.investment,
            "jobs": a.jobs,
            "trainees": a.trainees,
            "status": STATUSES[a.status(v.t)],
            "terminated_on": a.terminated_on if a.status(v.t) != "active" else None,
            "relays": described(a.relays),
            "relayed_by": described(a.relayed_by if a.status(v.t) == "relayed" else None),
        }
        for a in ordered
    ]
    active = v.active()
    totals = {
        "township_code": TOTAL,
        "investment_committed": sum((a.investment for a in active), start=ZERO),
        "jobs": sum(a.jobs for a in active),
        "trainees": sum(a.trainees for a in active),
    }
    return rows, totals


def progress(v: View) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    villages = {x.code: x.name for x in v.villages}
    rows = []
    for p in sorted(v.projects, key=lambda p: (p.village, p.registered_on, p.name)):
        done = v.invested(p.key)
        rows.append(
            {
                "village_code": p.village,
                "village": villages[p.village],
                "enterprises": "、".join(v.enterprises[e].name for e in p.enterprises),
                "project": p.name,
                "industry": p.industry,
                "registered_on": p.registered_on,
                "budget": p.budget,
                "investment_done": done,
                "investment_in_period": v.invested(p.key, in_period=True),
                "percent_done": pct(done, p.budget),
                "milestones_reached": sum(m.reached(v.t) for m in p.milestones),
                "milestones": len(p.milestones),
                "milestones_overdue": sum(not m.reached(v.t) and m.due_on < v.today for m in p.milestones),
                "status": "已完工" if p.completed(v.t) else "在建",
                "completed_on": p.completed_on if p.completed(v.t) else None,
                "assets_value": p.assets if p.completed(v.t) else None,
            }
        )
    keys = ["budget", "investment_done", "investment_in_period", "milestones_reached", "milestones"]
    totals = {"village_code": TOTAL, **sums(rows, [*keys, "milestones_overdue"])}
    totals["assets_value"] = sum((r["assets_value"] or ZERO for r in rows), start=ZERO)
    totals["percent_done"] = pct(totals["investment_done"], totals["budget"])
    return rows, totals


def statistics_table(v: View) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = []
    for township in sorted({x.code[:9] for x in v.villages}):
        active = [a for a in v.active() if a.village.startswith(township)]
        projects = [p for p in v.projects if p.village.startswith(township)]
        signed = [
            a for a in v.agreements if a.village.startswith(township) and v.in_period(a.signed_on, a.at)
        ]
        rows.append(
            {
                "township_code": township,
                "enterprises": len({a.enterprise for a in active}),
                "villages": len({a.village for a in active}),
                "agreements_active": len(active),
                "agreements_signed_in_period": len(signed),
                "projects": len(projects),
                "projects_completed": sum(p.completed(v.t) for p in projects),
                "investment_done": sum((v.invested(p.key) for p in projects), start=ZERO),
                "investment_in_period": sum(
                    (v.invested(p.key, in_period=True) for p in projects), start=ZERO
                ),
                **commitments(active),
            }
        )
    keys = [k for k in rows[0] if k not in ("township_code", "enterprises", "villages")]
    active = v.active()
    totals = {
        "township_code": TOTAL,
        **sums(rows, keys),
        "enterprises": len({a.enterprise for a in active}),
        "villages": len({a.village for a in active}),
    }
    return rows, totals


def breakdown(
    v: View, labels: dict[str, str], of: Callable[[AgreementFact], Iterable[str]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    def row(label: str, agreements: list[AgreementFact]) -> dict[str, Any]:
        return {
            "label": label,
            "agreements_active": len(agreements),
            "villages": len({a.village for a in agreements}),
            "enterprises": len({a.enterprise for a in agreements}),
            "investment_committed": sum((a.investment for a in agreements), start=ZERO),
            "jobs": sum(a.jobs for a in agreements),
        }

    active = v.active()
    rows = [row(name, [a for a in active if value in of(a)]) for value, name in labels.items()]
    return rows, row(TOTAL, active)


def eligible(v: View, h: HouseholdFact) -> bool:
    return (h.status == "former_poor" or h.monitored(v.t)) and h.labourers > 0


def coverage_counts(v: View) -> dict[str, dict[str, int]]:
    """By village: eligible, bound (eligible with a binding in force today), every bound household,
    cooperatives, cooperatives a leading enterprise binds."""
    ledger = v.ledger
    in_force = [
        b
        for b in ledger.bindings
        if b.at <= v.t
        and b.started_on <= v.today
        and not (b.ended_at and b.ended_at <= v.t and b.ended_on <= v.today)
    ]
    bound = {b.household for b in in_force if b.household}
    coops_bound = {b.cooperative for b in in_force if b.enterprise}
    counts: dict[str, dict[str, int]] = {
        x.code: dict.fromkeys(("eligible", "bound", "bound_all", "cooperatives", "cooperatives_bound"), 0)
        for x in v.villages
    }
    for h in v.households:
        c = counts[h.village]
        c["bound_all"] += h.key in bound
        if eligible(v, h):
            c["eligible"] += 1
            c["bound"] += h.key in bound
    for coop in ledger.cooperatives.values():
        if coop.at <= v.t:
            counts[coop.village]["cooperatives"] += 1
            counts[coop.village]["cooperatives_bound"] += coop.key in coops_bound
    return counts


def coverage_figures(c: dict[str, int]) -> dict[str, Any]:
    rate = pct(c["bound"], c["eligible"])
    return {
        **c,
        "unbound": c["eligible"] - c["bound"],
        "rate": rate,
        "target": Decimal(100),
        "gap": Decimal(100) - rate if rate is not None else None,
    }


def add(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for c in counts:
        for k, n in c.items():
            total[k] += n
    return dict(total)


def coverage(v: View) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    names_ = {x.code: x.name for x in v.villages}
    counts = coverage_counts(v)
    rows = [
        {"village_code": code, "village": names_[code], "township_code": code[:9], **coverage_figures(c)}
        for code, c in sorted(counts.items())
    ]
    return rows, {"village_code": TOTAL, **coverage_figures(add(counts.values()))}


def coverage_townships(v: View) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    counts = coverage_counts(v)
    townships: dict[str, list[dict[str, int]]] = defaultdict(list)
    for code, c in counts.items():
        townships[code[:9]].append(c)
    rows = [
        {"township_code": t, "villages": len(cs), **coverage_figures(add(cs))}
        for t, cs in sorted(townships.items())
    ]
    return rows, {"township_code": TOTAL, "villages": len(counts), **coverage_figures(add(counts.values()))}


# -- procedures, as the workflow defines them ---------------------------------------------------------------


def procedures(steps: list[StepFact]) -> list[tuple[StepFact, list[StepFact], bool]]:
    """Each flag with the steps after it up to the next flag, and whether it is the last."""
    flags = [i for i, s in enumerate(steps) if s.kind == "flagged"]
    out = []
    for n, i in enumerate(flags):
        end = flags[n + 1] if n + 1 < len(flags) else len(steps)
        out.append((steps[i], steps[i + 1 : end], n + 1 == len(flags)))
    return out


def stage_cases(v: View, h: HouseholdFact) -> list[tuple[str, bool, int, StepFact | None]]:
    """(step, urgent, days, the step ending the wait or None) for each wait of ``h``'s procedures."""
    cases: list[tuple[str, bool, int, StepFact | None]] = []
    for flag, after, last in procedures(v.steps(h)):

        def case(step: str, start: StepFact, end: StepFact | None, urgent: bool = flag.urgent) -> None:
            until = end.on_date if end else v.today
            cases.append((step, urgent, max((until - start.on_date).days, 0), end))

        decisions = [
            s
            for s in after
            if (s.kind in ("verified", "deliberated", "reviewed") and s.procedure == "enrolment")
            or s.kind in ("enrolled", "flag_rejected")
        ]
        start = flag
        finished = True
        for i, step in enumerate(STEPS[:4]):
            if i == len(decisions):
                if last:
                    case(step, start, None)
                finished = False
                break
            case(step, start, decisions[i])
            if decisions[i].kind == "flag_rejected":
                finished = False
                break
            start = decisions[i]
        enrolled = next((s for s in after if s.kind == "enrolled"), None)
        if not finished or enrolled is None:
            continue
        contact = next((s for s in after if s.kind == "contact_assigned"), None)
        eliminated = next((s for s in after[after.index(enrolled) :] if s.kind == "eliminated"), None)
        if contact is not None:
            case("contact", enrolled, contact if after.index(contact) > after.index(enrolled) else enrolled)
        elif eliminated is not None:
            case("contact", enrolled, eliminated)
        elif last:
            case("contact", enrolled, None)
    return cases


def monitoring(v: View) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rate_statuses = ("former_poor", "low_income")
    all_enrolment_days: list[int] = []
    all_contact_days: list[int] = []
    rows = []
    for township in sorted({x.code[:9] for x in v.villages}):
        own = [h for h in v.households if h.village.startswith(township)]
        monitored = [h for h in own if h.monitored(v.t)]
        steps = [(h, s) for h in own for s in v.steps(h) if v.in_period(s.on_date, s.at)]
        enrolment_days = []
        for h in own:
            for flag, after, _ in procedures(v.steps(h)):
                enrolled = next((s for s in after if s.kind == "enrolled"), None)
                if enrolled is not None and v.in_period(enrolled.on_date, enrolled.at):
                    enrolment_days.append(enrolled.on_date - flag.on_date)
        contact_days = [
            days
            for h in own
            for step, _, days, end in stage_cases(v, h)
            if step == "contact" and end is not None and v.in_period(end.on_date, end.at)
        ]
        all_enrolment_days += [d.days for d in enrolment_days]
        all_contact_days += contact_days
        base = sum(h.status in rate_statuses for h in own)
        returned = len({h.key for h, s in steps if s.kind == "enrolled" and h.status in rate_statuses})
        rows.append(
            {
                "township_code": township,
                "households": len(own),
                **{c: sum(h.category(v.t) == c for h in monitored) for c in CATEGORIES},
                "monitored": len(monitored),
                **{
                    s: sum(h.stage(v.t) == s for h in own)
                    for s in ("flagged", "verified", "deliberated", "reviewed")
                },
                "in_elimination": sum((h.stage(v.t) or "").startswith("elimination_") for h in own),
                "eliminated": sum(h.stage(v.t) == "eliminated" for h in own),
                "enrolled_in_period": sum(s.kind == "enrolled" for _, s in steps),
                "eliminated_in_period": sum(s.kind == "eliminated" for _, s in steps),
                "reflagged_in_period": sum(s.kind == "flagged" and s.reflagged for _, s in steps),
                "rejected_in_period": sum(s.kind == "flag_rejected" for _, s in steps),
                "days_flag_to_enrolment": median([d.days for d in enrolment_days]),
                "days_enrolment_to_contact": median(contact_days),
                "rate_base": base,
                "returned": returned,
                "return_rate": pct(returned, base),
            }
        )
    keys = [
        k
        for k in rows[0]
        if k not in ("township_code", "days_flag_to_enrolment", "days_enrolment_to_contact", "return_rate")
    ]
    totals = {"township_code": TOTAL, **sums(rows, keys)}
    totals["days_flag_to_enrolment"] = median(all_enrolment_days)
    totals["days_enrolment_to_contact"] = median(all_contact_days)
    totals["return_rate"] = pct(totals["returned"], totals["rate_base"])
    return rows, totals


def monitoring_risks(v: View) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    monitored = [h for h in v.households if h.monitored(v.t)]

    def risks(h: HouseholdFact) -> set[str]:
        # the risks of its last flag (confirmed at verification: the same ones in this scenario)
        flags = [s for s in v.steps(h) if s.kind == "flagged"]
        return {"disaster"} if flags[-1].urgent else {"illness"}

    def counts(households: list[HouseholdFact]) -> dict[str, int]:
        return {
            **{c: sum(h.category(v.t) == c for h in households) for c in CATEGORIES},
            "monitored": len(households),
        }

    rows = {name: counts([h for h in monitored if risk in risks(h)]) for risk, name in RISKS.items()}
    return [{"risk_type": name, **c} for name, c in rows.items()], {"risk_type": TOTAL, **counts(monitored)}


def stage_times(v: View, deadlines: dict[str, int]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    counted: dict[str, dict[str, list[tuple[bool, int, StepFact | None]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for h in v.households:
        for step, urgent, days, end in stage_cases(v, h):
            if end is None or v.in_period(end.on_date, end.at):
                counted[h.village[:9]][step].append((urgent, days, end))
    rows = []
    for township in sorted(counted):
        for step, name in zip(STEPS, STEP_NAMES, strict=True):
            cases = counted[township][step]
            days = [d for _, d, _ in cases]
            rows.append(
                {
                    "township_code": township,
                    "step": name,
                    "cases": len(cases),
                    "waiting": sum(end is None for _, _, end in cases),
                    "urgent": sum(u for u, _, _ in cases),
                    "median_days": median(days),
                    "longest_days": max(days, default=None),
                    "deadline_days": deadlines[step],
                    "over_deadline": sum(d > deadlines[step] for d in days),
                }
            )
    return rows, {"township_code": TOTAL, **sums(rows, ["cases", "waiting", "urgent", "over_deadline"])}


def indicators(v: View) -> dict[str, Any]:
    """The computed indicators' current values (and one entered value)."""
    year = v.today.year
    households = {h.key: h for h in v.households}
    surveys = [s for s in v.ledger.surveys if s.at <= v.t]
    latest: dict[str, Any] = {}
    for s in sorted(surveys, key=lambda s: s.at):
        if (
            s.period.isdigit()
            and int(s.period) <= year
            and (s.household not in latest or s.period >= latest[s.household].period)
        ):
            latest[s.household] = s
    concerned = [
        s for k, s in latest.items() if households[k].status == "former_poor" or households[k].monitored(v.t)
    ]
    base = [h for h in v.households if h.status in ("former_poor", "low_income")]
    enrolled = {h.key for h in base for s in v.steps(h) if s.kind == "enrolled" and s.on_date.year == year}
    insured = [s.medical_insured_all for s in latest.values() if s.medical_insured_all is not None]
    # the collective income: the latest year on record, each village's last figure for it
    income_year = max(i.year for i in v.ledger.incomes if i.at <= v.t and i.year <= year)
    incomes = {
        i.village: i.amount
        for i in sorted(v.ledger.incomes, key=lambda i: i.at)
        if i.at <= v.t and i.year == income_year
    }
    shares = "；".join(
        f"{t}万元以上占比{pct(sum(x >= t * 10000 for x in incomes.values()), len(incomes))}%"
        for t in (15, 20, 50)
    )
    # per-capita income of the former-poor households surveyed in Q4 of both years
    q4: dict[int, dict[str, Any]] = defaultdict(dict)
    for s in sorted(surveys, key=lambda s: s.at):
        if s.period.endswith("Q4") and households[s.household].status == "former_poor":
            q4[int(s.period[:4])][s.household] = s
    later = max(y for y in q4 if y <= year and y - 1 in q4)
    panel = q4[later].keys() & q4[later - 1].keys()

    def per_capita(y: int) -> Decimal:
        chosen = [q4[y][k] for k in panel]
        return sum((s.income * s.members for s in chosen), start=ZERO) / sum(s.members for s in chosen)

    return {
        "return_to_poverty_rate": pct(len(enrolled), len(base)),
        "medical_insurance_rate": pct(sum(insured), len(insured)),
        "dropout_rate": pct(sum(s.out_of_school for s in concerned), sum(s.children for s in concerned)),
        "housing_safety_rate": pct(sum(s.housing_safe for s in concerned), len(concerned)),
        "drinking_water_safety_rate": pct(sum(s.drinking_water_safe for s in concerned), len(concerned)),
        "village_collective_income": shares,
        "former_poor_income_growth_rate": pct(
            per_capita(later) - per_capita(later - 1), per_capita(later - 1)
        ),
        **v.ledger.indicator_current,
    }


# -- supervision cards, by the rules the issue states -----------------------------------------------------


def cards(v: View, red_days: int = 90, lag: Decimal = Decimal("0.3")) -> dict[str, tuple[str, set[str]]]:
    """Each agreement's and project's card: (colour, reason codes), by document ref or project name."""
    rank = {"green": 0, "yellow": 1, "red": 2}

    def project_reasons(p: Any) -> set[tuple[str, str]]:
        if p.completed(v.t):
            return set()
        reasons = set()
        for m in p.milestones:
            if not m.reached(v.t) and m.due_on < v.today:
                late = (v.today - m.due_on).days
                reasons.add(
                    ("red", "milestone_overdue_long") if late > red_days else ("yellow", "milestone_overdue")
                )
        due = sum(m.due_on < v.today for m in p.milestones)
        expected = p.budget * due / len(p.milestones)
        invested = sum((x.amount for x in v.tranches if x.project == p.key), start=ZERO)
        if expected > 0 and invested < expected * (1 - lag):
            reasons.add(("yellow", "investment_behind_plan"))
        return reasons

    def worst(reasons: set[tuple[str, str]]) -> tuple[str, set[str]]:
        card = max((c for c, _ in reasons), key=rank.__getitem__, default="green")
        return card, {code for _, code in reasons}

    out = {p.name: worst(project_reasons(p)) for p in v.projects}
    for a in v.agreements:
        status = a.status(v.t)
        if status == "relayed":
            out[a.document_ref] = ("green", {"relayed"})
            continue
        own = [p for p in v.projects if a.key in p.agreements]
        reasons = set().union(*(project_reasons(p) for p in own))
        if status == "needs_relay":
            reasons.add(("red", "needs_relay_long"))
        else:
            end = a.signed_on.replace(year=a.signed_on.year + a.term_years)
            term = (end - a.signed_on).days
            elapsed = min(max((v.today - a.signed_on).days, 0), term)
            expected = a.investment * elapsed / term
            invested = sum((x.amount for x in v.tranches if any(x.project == p.key for p in own)), start=ZERO)
            if expected > 0 and invested < expected * (1 - lag):
                reasons.add(("yellow", "investment_behind_plan"))
        out[a.document_ref] = worst(reasons)
    return out


# -- the tests ---------------------------------------------------------------------------------------------


async def check(c: County, v: View, **params: str) -> None:
    """Every pairing, coverage and monitoring table of the API against the ledger's view ``v``."""
    expected = {
        "village-ledger": village_ledger(v),
        "enterprise-ledger": enterprise_ledger(v),
        "pairing-list": pairing_list(v),
        "progress": progress(v),
        "statistics": statistics_table(v),
        "statistics-by-pathway": breakdown(v, PATHWAYS, lambda a: a.pathways),
        "statistics-by-mode": breakdown(v, MODES, lambda a: (a.mode,)),
        "coverage": coverage(v),
        "coverage-townships": coverage_townships(v),
        "monitoring": monitoring(v),
        "monitoring-risks": monitoring_risks(v),
        "stage-times": stage_times(v, c.settings.stage_deadlines),
    }
    for name, (rows, totals) in expected.items():
        table = await c.table(name, **params)
        assert table["period"] == v.period
        actual_rows, actual_totals = parsed(table)
        if name == "monitoring-risks":  # one row per risk type: only the two this county has
            actual_rows = [r for r in actual_rows if r["risk_type"] in RISKS.values()]
            assert all(r["monitored"] == 0 for r in parsed(table)[0] if r["risk_type"] not in RISKS.values())
        same_rows(actual_rows, rows, name)
        assert actual_totals is not None
        same(actual_totals, totals, f"{name} totals")


async def test_every_table_matches_the_facts_entered(make_settings: Callable[..., Settings]) -> None:
    async with county_services(county_settings(make_settings())) as c:
        await build_county(c)
        ledger = c.ledger
        now = noon(END)
        # The current half-year, then the closed one (its late tranche counted in the next).
        await check(c, View(ledger, now, "2026H2"))
        await check(c, View(ledger, now, "2026H1"), period="2026H1")

        # The indicators sheet: each computed value, and the one the county entered.
        table = await c.table("indicators")
        current = {r["code"]: r["current"] for r in table["rows"]}
        for code, value in indicators(View(ledger, now, "2026H2")).items():
            if isinstance(value, str):
                assert current[code] == value, code
            else:
                assert current[code] is not None and Decimal(current[code]) == value, (
                    code,
                    current[code],
                    value,
                )
        sources = {r["code"]: r["source"] for r in table["rows"]}
        assert sources["waste_treatment_rate"] == f"填报（{COUNTY}）"
        assert sources["return_to_poverty_rate"] == "系统计算"

        # Deadlines set today apply to past cases: every step allowed a single day.
        tight = {step: 1 for step in c.settings.stage_deadlines}
        rows, totals = stage_times(View(ledger, now, "2026H2"), tight)
        table = await c.table("stage-times", deadlines=",".join(f"{s}=1" for s in tight))
        same_rows(parsed(table)[0], rows, "stage-times with a query's deadlines")
        same(parsed(table)[1], totals, "stage-times totals with a query's deadlines")
        assert totals["over_deadline"] > 0
        unknown = await c.reporting.get(
            "/tables/stage-times", params={"deadlines": "visit=3"}, headers=c.tokens[Role.viewer]
        )
        assert unknown.status_code == 422 and unknown.json()["rule"] == "known_stage_steps"

        # One township: its own rows only, the same figures.
        township = await c.table("village-ledger", region=T1)
        rows, _ = village_ledger(View(ledger, now, "2026H2"))
        same_rows(
            parsed(township)[0], [r for r in rows if r["township_code"] == T1], "township village-ledger"
        )


async def test_as_of_a_past_date_gives_the_figures_of_then(make_settings: Callable[..., Settings]) -> None:
    async with county_services(county_settings(make_settings())) as c:
        await build_county(c)
        # 31 March: before A4's termination, P2's completion, P3 and the bindings, the elimination…
        day = date(2026, 3, 31)
        past = View(c.ledger, end_of_day(day), "2026H1")
        assert any(a.status(past.t) == "active" and a.terminated_at for a in c.ledger.agreements.values())
        await check(c, past, as_of=day.isoformat())
        # A moment, not a date: the end of 2 February (H1, H2 and H3 flagged but not yet enrolled).
        moment = end_of_day(date(2026, 2, 2))
        await check(c, View(c.ledger, moment, "2026H1"), as_of=moment.isoformat())


async def test_a_closed_period_keeps_its_filing_and_shows_the_late_tranche(
    make_settings: Callable[..., Settings],
) -> None:
    async with county_services(county_settings(make_settings())) as c:
        await first_half(c)
        await close_first_half(c)
        closed_at = c.ledger.closed_at[CLOSED_PERIOD]
        filed = await c.reporting.get(f"/periods/{COUNTY}/{CLOSED_PERIOD}", headers=c.tokens[Role.viewer])
        assert filed.status_code == 200, filed.text
        at_closing = View(c.ledger, closed_at, CLOSED_PERIOD)
        forms = {t["name"]: t for t in filed.json()["filed"]}
        for name, build in (
            ("progress", progress),
            ("statistics", statistics_table),
            ("pairing-list", pairing_list),
        ):
            rows, totals = build(at_closing)
            form = {**forms[name], "total": len(forms[name]["rows"])}
            actual_rows, actual_totals = parsed(form)
            same_rows(actual_rows, rows, f"filed {name}")
            assert actual_totals is not None
            same(actual_totals, totals, f"filed {name} totals")

        # A tranche of 20 June recorded on 5 July, after the closing: it counts in 2026H2.
        c.on(date(2026, 7, 5))
        await c.invest("P3", "150000.00", invested_on=date(2026, 6, 20))
        await c.settled()
        now = c.now
        for period in ("2026H1", "2026H2"):
            view = View(c.ledger, now, period)
            rows, totals = progress(view)
            actual_rows, actual_totals = parsed(await c.table("progress", period=period))
            same_rows(actual_rows, rows, f"progress {period}")
            assert actual_totals is not None
            same(actual_totals, totals, f"progress {period} totals")
        p3 = c.ledger.projects["P3"]
        h1 = {r["project"]: r for r in parsed(await c.table("progress", period="2026H1"))[0]}
        h2 = {r["project"]: r for r in parsed(await c.table("progress", period="2026H2"))[0]}
        assert h1[p3.name]["investment_in_period"] == Decimal("200000")
        assert h2[p3.name]["investment_in_period"] == Decimal("150000")
        assert h1[p3.name]["investment_done"] == h2[p3.name]["investment_done"] == Decimal("350000")

        # The comparison: the filed H1 beside H1 as corrected since (the late tranche in it).
        compared = await c.reporting.get(
            f"/periods/{COUNTY}/{CLOSED_PERIOD}/comparison", headers=c.tokens[Role.viewer]
        )
        assert compared.status_code == 200, compared.text
        tables = {t["name"]: t for t in compared.json()["comparison"]}
        progress_cmp = tables["progress"]
        assert progress_cmp["status"] == "changed"
        changed = [r for r in progress_cmp["rows"] if r["status"] == "changed"]
        assert [r["corrected"]["project"] for r in changed] == [p3.name]
        cells = {cell["column"]: cell for cell in changed[0]["cells"]}
        assert Decimal(cells["investment_in_period"]["filed"]) == Decimal("200000")
        assert Decimal(cells["investment_in_period"]["corrected"]) == Decimal("350000")
        assert Decimal(cells["investment_in_period"]["difference"]) == Decimal("150000")
        assert Decimal(cells["investment_done"]["difference"]) == Decimal("150000")
        assert tables["statistics"]["status"] == "changed"
        assert tables["pairing-list"]["status"] == "unchanged"


async def test_cards_follow_the_rules_as_the_clock_moves(make_settings: Callable[..., Settings]) -> None:
    async with county_services(county_settings(make_settings())) as c:
        await first_half(c)
        await c.settled()
        # 2 July: P1's second milestone (30 June) and P3's (15 May) are overdue.
        await close_first_half(c)
        first = c.ledger.card_changes[:]
        at_first = View(c.ledger, noon(date(2026, 7, 2)), "2026H2")
        expected_first = {k: v for k, v in cards(at_first).items() if v[0] != "green"}
        names_by_id = {a.id: a.document_ref for a in c.ledger.agreements.values()} | {
            p.id: p.name for p in c.ledger.projects.values()
        }
        published = {
            names_by_id[ch["subject_id"]]: (ch["card"], {r["code"] for r in ch["reasons"]}) for _, ch in first
        }
        assert published == expected_first
        assert await c.check_cards() == []  # nothing changed since: nothing published again

        await second_half(c)  # 20 August: P3's milestone overdue more than 90 days
        names_by_id |= {a.id: a.document_ref for a in c.ledger.agreements.values()}
        view = View(c.ledger, noon(END), "2026H2")
        expected = cards(view)
        table = await c.table("cards")
        rows, totals = parsed(table)
        shown = {r["name"]: r for r in rows}
        assert set(shown) == {k for k, (card, _) in expected.items() if card != "green"}
        colour = {"red": "红牌", "yellow": "黄牌"}
        last_change: dict[str, date] = {}
        for _, ch in c.ledger.card_changes:
            last_change[names_by_id[ch["subject_id"]]] = date.fromisoformat(ch["judged_on"])
        for name, row in shown.items():
            card, _ = expected[name]
            assert row["card"] == colour[card], name
            assert row["since"] == last_change[name], name
        assert totals == {
            "township_code": TOTAL,
            "red": sum(card == "red" for card, _ in expected.values()),
            "yellow": sum(card == "yellow" for card, _ in expected.values()),
        }
        assert "逾期" in shown[c.ledger.projects["P3"].name]["reasons"]
        assert "尚无接力帮扶" in shown[c.ledger.agreements["A4"].document_ref]["reasons"]
        summary = parsed(await c.table("cards-summary"))[0]
        per_township: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for a in view.agreements:
            per_township[a.village[:9]]["agreements"] += 1
            per_township[a.village[:9]][expected[a.document_ref][0]] += 1
        for p in view.projects:
            per_township[p.village[:9]]["projects"] += 1
            per_township[p.village[:9]][expected[p.name][0]] += 1
        same_rows(
            summary,
            [
                {
                    "township_code": t,
                    **{k: counts[k] for k in ("agreements", "projects", "green", "yellow", "red")},
                }
                for t, counts in sorted(per_township.items())
            ],
            "cards-summary",
        )
