"""The demo county (pure): everything ``xingcun demo`` enters, drawn from one seed, with every date
in the past of ``today`` and consistent with the services' rules.

At full scale (``scale=1``): 6 townships, 30 villages, 80 enterprises, 80 pairing agreements (a few
terminated, some of them relayed), 80 projects with milestones (most on time, some overdue for
weeks or for months — yellow and red cards — some completed) and tranches of investment, 20
cooperatives binding households (双绑) and bound by leading enterprises, 3,000 households with four
quarters of surveys and an annual one, and some 230 monitoring cases (``demo_cases``). Smaller
scales shrink every count (at least one of each kind). The same seed, scale and day give the same
county; only ids the services draw themselves (agreements, households, bindings) differ.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from shared.periods import HalfYear, Quarter
from shared.runtime import demo_names as names
from shared.runtime.demo_cases import ELIMINATION, Case, build_cases, scaled, surveyed
from shared.runtime.demo_households import Household, profiles, surveyed_quarters

DEMO_NAMESPACE = uuid.UUID("6a0f6f3e-3b0b-5d7c-9a43-0d5e7c1f2b61")
TOWNSHIP_CODES = ("101", "102", "104", "105", "106", "107", "108", "109", "201", "202")  # 103: the README's
VILLAGES_PER_TOWNSHIP = 5


@dataclass(frozen=True)
class Township:
    code: str
    name: str


@dataclass(frozen=True)
class Village:
    code: str
    name: str
    category: str
    former_poverty_village: bool
    incomes: tuple[tuple[int, Decimal], ...]

    def body(self) -> dict[str, Any]:
        return {
            "village_code": self.code,
            "name": self.name,
            "category": self.category,
            "former_poverty_village": self.former_poverty_village,
            "collective_incomes": [{"year": y, "income_yuan": f"{v:.2f}"} for y, v in self.incomes],
        }


@dataclass(frozen=True)
class Enterprise:
    key: str
    name: str
    credit_code: str
    kind: str
    leading_level: str | None
    contact_name: str
    contact_phone: str

    def body(self, county: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "credit_code": self.credit_code,
            "kind": self.kind,
            "county_code": county,
            "contact_name": self.contact_name,
            "contact_phone": self.contact_phone,
        }
        if self.leading_level:
            body["leading_level"] = self.leading_level
        return body


@dataclass(frozen=True)
class Terms:
    pathways: tuple[str, ...]
    mode: str
    investment: Decimal = Decimal(0)
    jobs: int = 0
    trainees: int = 0
    purchases: Decimal = Decimal(0)
    donations: Decimal = Decimal(0)

    @property
    def invests(self) -> bool:
        return "industry" in self.pathways

    def body(self) -> dict[str, Any]:
        return {
            "pathways": list(self.pathways),
            "mode": self.mode,
            "commitments": {
                "investment_yuan": f"{self.investment:.2f}",
                "jobs": self.jobs,
                "trainees": self.trainees,
                "purchases_yuan": f"{self.purchases:.2f}",
                "donations_yuan": f"{self.donations:.2f}",
            },
        }


# Pathways and mode of an agreement: the investing kinds carry projects.
TERM_KINDS = (
    (("industry", "employment"), "leading_enterprise"),
    (("industry", "technology"), "chain_relocation"),
    (("industry", "culture"), "agri_tourism"),
    (("industry", "finance"), "enclave_cluster"),
    (("ecology", "industry"), "enclave_cluster"),
    (("consumption", "trade"), "order_farming"),
    (("employment", "talent"), "labour_cooperation"),
    (("donation", "organisation"), "leading_enterprise"),
)


@dataclass(frozen=True)
class Relay:
    enterprise: str  # its key
    signed_on: date
    term_years: int
    document_ref: str
    terms: Terms


@dataclass(frozen=True)
class Agreement:
    key: str
    enterprise: str  # its key
    village: str
    signed_on: date
    term_years: int
    document_ref: str
    terms: Terms
    terminated_on: date | None = None
    reason: str | None = None
    relay: Relay | None = None

    def body(self, enterprise_id: str) -> dict[str, Any]:
        return {
            "enterprise_id": enterprise_id,
            "village_code": self.village,
            "signed_on": self.signed_on.isoformat(),
            "term_years": self.term_years,
            "document_ref": self.document_ref,
            **self.terms.body(),
        }


@dataclass(frozen=True)
class Milestone:
    milestone_id: str
    name: str
    due_on: date
    reached_on: date | None


@dataclass(frozen=True)
class Tranche:
    source: str
    amount: Decimal
    invested_on: date
    evidence_ref: str


@dataclass(frozen=True)
class Project:
    key: str
    project_id: uuid.UUID
    village: str
    agreement: str | None  # its key
    enterprises: tuple[str, ...]  # keys
    name: str
    industry: str
    budget: Decimal
    funding: tuple[tuple[str, Decimal], ...]
    shareholding: tuple[tuple[str, int], ...]
    beneficiaries: int
    jobs: int
    milestones: tuple[Milestone, ...]
    tranches: tuple[Tranche, ...]
    completed_on: date | None
    asset: str
    scenario: str  # on_track, lagging, yellow (a milestone overdue for weeks), red (for months), completed

    def body(self, agreement_ids: list[str], enterprise_ids: list[str]) -> dict[str, Any]:
        return {
            "project_id": str(self.project_id),
            "village_code": self.village,
            "agreement_ids": agreement_ids,
            "enterprise_ids": enterprise_ids,
            "name": self.name,
            "industry": self.industry,
            "budget_yuan": f"{self.budget:.2f}",
            "funding": [{"source": s, "amount_yuan": f"{a:.2f}"} for s, a in self.funding],
            "shareholding": [{"holder": h, "percent": str(p)} for h, p in self.shareholding],
            "beneficiary_households": self.beneficiaries,
            "jobs": self.jobs,
            "milestones": [
                {"milestone_id": m.milestone_id, "name": m.name, "due_on": m.due_on.isoformat()}
                for m in self.milestones
            ],
        }

    @property
    def invested(self) -> Decimal:
        return sum((t.amount for t in self.tranches), Decimal(0))

    def overdue(self, today: date) -> list[Milestone]:
        if self.completed_on is not None:
            return []
        return [m for m in self.milestones if m.reached_on is None and m.due_on < today]


@dataclass(frozen=True)
class Cooperative:
    key: str
    code: str
    name: str
    village: str
    industry: str
    enterprise: str | None  # the leading enterprise binding it (key)
    enterprise_since: date | None


@dataclass(frozen=True)
class Binding:
    cooperative: str  # key
    household: str  # key
    form: str
    started_on: date
    ends_on: date | None
    ended_on: date | None


@dataclass(frozen=True)
class County:
    code: str
    name: str
    seed: int
    scale: float
    today: date
    quarters: tuple[Quarter, ...]
    period: HalfYear  # the half-year the demo closes
    townships: tuple[Township, ...]
    villages: tuple[Village, ...]
    enterprises: tuple[Enterprise, ...]
    agreements: tuple[Agreement, ...]
    projects: tuple[Project, ...]
    cooperatives: tuple[Cooperative, ...]
    bindings: tuple[Binding, ...]
    households: tuple[Household, ...]
    cases: tuple[Case, ...]

    def final_stages(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for case in self.cases:
            key = case.final_stage or "rejected"
            counts[key] = counts.get(key, 0) + 1
        return counts

    def monitored(self) -> set[str]:
        """Keys of the households monitored at the end (enrolled, risk not eliminated)."""
        return {c.household for c in self.cases if c.final_stage in ("monitored", *ELIMINATION)}

    def eligible(self) -> set[str]:
        """Keys of the households 双绑 should cover (the coverage table's rule)."""
        monitored = self.monitored()
        return {
            h.key
            for h in self.households
            if (h.profile.status == "former_poor" or h.key in monitored) and h.profile.labourers > 0
        }

    def bound(self) -> set[str]:
        return {b.household for b in self.bindings if b.ended_on is None and b.started_on <= self.today}


def closed_period(today: date) -> HalfYear:
    """The latest half-year that has ended: the one the demo files."""
    return HalfYear.of(today).previous()


def build_county(seed: int, scale: float, today: date, county: str = "150602") -> County:
    if not 0 < scale <= 2:
        raise ValueError("scale is a share of the full county, above 0 and at most 2")
    rng = random.Random(f"xingcun-demo:{seed}:{county}")
    county_name = names.COUNTY_NAMES.get(county, f"{county}县")
    townships, villages = _villages(rng, county, scale, today)
    enterprises = _enterprises(rng, county, scale)
    agreements = _agreements(rng, county_name, villages, enterprises, scale, today)
    projects = _projects(rng, county, seed, villages, enterprises, agreements, scale, today)
    agreements = _commit(rng, agreements, projects)
    quarters = surveyed_quarters(today)
    made = profiles(
        rng, [(v.code, v.former_poverty_village) for v in villages], scaled(3_000, scale), today, quarters
    )
    cases = build_cases(rng, made, {t.code: t.name for t in townships}, quarters, today, scale)
    by_household = {c.household: c for c in cases}
    households = tuple(surveyed(rng, p, by_household.get(p.key), quarters, today) for p in made)
    cooperatives = _cooperatives(rng, county, villages, enterprises, agreements, scale, today)
    county_data = County(
        code=county,
        name=county_name,
        seed=seed,
        scale=scale,
        today=today,
        quarters=tuple(quarters),
        period=closed_period(today),
        townships=tuple(townships),
        villages=tuple(villages),
        enterprises=tuple(enterprises),
        agreements=tuple(agreements),
        projects=tuple(projects),
        cooperatives=tuple(cooperatives),
        bindings=(),
        households=households,
        cases=tuple(cases),
    )
    return replace(county_data, bindings=tuple(_bindings(rng, county_data)))


# -- places and enterprises ----------------------------------------------------------------------


def _villages(
    rng: random.Random, county: str, scale: float, today: date
) -> tuple[list[Township], list[Village]]:
    count = max(3, round(30 * scale))
    township_count = min(len(TOWNSHIP_CODES), max(1, round(count / VILLAGES_PER_TOWNSHIP)))
    township_names = rng.sample(names.TOWNSHIP_NAMES, township_count)
    townships = [
        Township(f"{county}{code}", name) for code, name in zip(TOWNSHIP_CODES, township_names, strict=False)
    ]
    village_names = names.village_names(rng, count)
    villages = []
    for i, name in enumerate(village_names):
        township = townships[i % township_count]
        number = 201 + i // township_count
        category = rng.choices(["demonstration", "key_support", "overall_advance"], [15, 45, 40])[0]
        former = rng.random() < (0.7 if category == "key_support" else 0.2)
        base = rng.randint(600, 2_500) if former else rng.randint(1_500, 9_000)  # hundreds of yuan
        growth = rng.uniform(1.03, 1.25)
        incomes = (
            (today.year - 2, Decimal(base * 100)),
            (today.year - 1, Decimal(round(base * growth) * 100)),
        )
        villages.append(Village(f"{township.code}{number:03d}", name, category, former, incomes))
    return townships, villages


def _enterprises(rng: random.Random, county: str, scale: float) -> list[Enterprise]:
    count = max(4, round(80 * scale))
    taken_names: set[str] = set()
    taken_codes: set[str] = set()
    made = []
    for i in range(count):
        # a quarter are leading enterprises (龙头企业): they may bind cooperatives
        leading = i % 4 == 0
        trades = [t for t in names.ENTERPRISE_TRADES if t[2] == leading]
        trade, kind, _ = trades[rng.randrange(len(trades))]
        level = (
            rng.choices(["national", "provincial", "city", "county"], [5, 25, 35, 35])[0] if leading else None
        )
        made.append(
            Enterprise(
                key=f"E{i + 1:02d}",
                name=names.enterprise_name(rng, trade, taken_names),
                credit_code=names.credit_code(rng, "91", county, taken_codes),
                kind=kind,
                leading_level=level,
                contact_name=names.person_name(rng, names.surname(rng) or "王", rng.random() < 0.7),
                contact_phone=names.mobile(rng),
            )
        )
    return made


# -- agreements ----------------------------------------------------------------------------------


def _agreements(
    rng: random.Random,
    county_name: str,
    villages: list[Village],
    enterprises: list[Enterprise],
    scale: float,
    today: date,
) -> list[Agreement]:
    count = max(4, round(80 * scale))
    terminated = max(2, round(4 * scale))
    projects = max(4, round(80 * scale))
    investing = min(count - terminated - 1, projects, round(count * 0.7))
    short = county_name[0] if county_name[0] > "\u2e80" else "县"  # 东 of 东胜区
    numbers: dict[int, int] = {}

    def document(year: int) -> str:
        numbers[year] = numbers.get(year, 0) + 1
        return f"{short}工商联〔{year}〕{numbers[year]}号"

    order = villages[:]
    rng.shuffle(order)
    partners = enterprises[:]
    rng.shuffle(partners)
    leading = [e for e in enterprises if e.leading_level] or partners
    active: dict[str, set[str]] = {v.code: set() for v in villages}
    drafts = []
    for i in range(count):
        village = order[i % len(order)].code
        if len(active[village]) >= 5:  # the pairing rule: at most 5 active enterprises a village
            village = min(active, key=lambda code: len(active[code]))
        enterprise = partners[i] if i < len(partners) else rng.choice(leading)
        while enterprise.key in active[village]:
            enterprise = rng.choice(partners)
        active[village].add(enterprise.key)
        invests = i < investing
        kinds = [k for k in TERM_KINDS if ("industry" in k[0]) == invests]
        pathways, mode = kinds[rng.randrange(len(kinds))]
        ends = not invests and i >= count - terminated  # old enough to have run a while
        signed = today - timedelta(days=rng.randint(200, 900) if ends else rng.randint(30, 900))
        term = rng.choice([3, 3, 3, 5, 5] + ([2] if (today - signed).days < 600 else []))
        drafts.append(
            Agreement(
                key=f"A{i + 1:02d}",
                enterprise=enterprise.key,
                village=village,
                signed_on=signed,
                term_years=term,
                document_ref=document(signed.year),
                terms=_terms(rng, pathways, mode),
            )
        )
    drafts.sort(key=lambda a: a.signed_on)
    ending = [a for a in drafts if not a.terms.invests and int(a.key[1:]) > count - terminated]
    for n, agreement in enumerate(ending):
        age = (today - agreement.signed_on).days
        ended = agreement.signed_on + timedelta(days=rng.randint(60, max(61, age - 30)))
        relay = None
        taken = active[agreement.village]
        successor = next((e for e in partners if e.key not in taken), None)
        if n % 2 == 0 and successor is not None:  # every other termination is relayed (接力帮扶)
            taken.add(successor.key)
            signed = min(today - timedelta(days=1), ended + timedelta(days=rng.randint(0, 30)))
            relay = Relay(successor.key, signed, 3, document(signed.year), agreement.terms)
        taken.discard(agreement.enterprise)
        reason = rng.choice(
            ["企业经营困难，无法继续履约", "企业转产，帮扶协议提前终止", "企业迁出本区，协商终止协议"]
        )
        drafts[drafts.index(agreement)] = replace(agreement, terminated_on=ended, reason=reason, relay=relay)
    return drafts


def _terms(rng: random.Random, pathways: tuple[str, ...], mode: str) -> Terms:
    terms = Terms(pathways, mode, jobs=rng.randint(5, 60), trainees=rng.randint(5, 80))
    if "consumption" in pathways:
        terms = replace(terms, purchases=Decimal(rng.randint(50, 500) * 10_000))
    if "donation" in pathways:
        terms = replace(terms, donations=Decimal(rng.randint(5, 50) * 10_000))
    if "employment" in pathways and "industry" not in pathways:
        terms = replace(terms, jobs=rng.randint(20, 120), trainees=rng.randint(30, 200))
    return terms


def _commit(rng: random.Random, agreements: list[Agreement], projects: list[Project]) -> list[Agreement]:
    """Each investing agreement commits about four fifths of its projects' budgets."""
    budgets: dict[str, Decimal] = {}
    for p in projects:
        if p.agreement:
            budgets[p.agreement] = budgets.get(p.agreement, Decimal(0)) + p.budget
    made = []
    for a in agreements:
        if a.key in budgets:
            investment = Decimal(round(budgets[a.key] * Decimal(rng.uniform(0.7, 0.9)) / 10_000) * 10_000)
            a = replace(a, terms=replace(a.terms, investment=investment))
        made.append(a)
    return made


# -- projects ------------------------------------------------------------------------------------

PROJECT_KINDS = (
    ("肉羊标准化养殖基地", "肉羊养殖"),
    ("肉牛育肥场", "肉牛养殖"),
    ("饲草料加工厂", "饲草料加工"),
    ("马铃薯深加工车间", "农产品加工"),
    ("农产品冷链仓储中心", "冷链物流"),
    ("设施农业温室大棚", "设施农业"),
    ("村级光伏帮扶电站", "光伏发电"),
    ("农产品电商服务站", "电子商务"),
    ("乡村旅游民宿改造", "乡村旅游"),
    ("沙棘种植示范基地", "生态种植"),
)
MILESTONE_NAMES = {
    2: ("开工建设", "竣工投产"),
    3: ("完成立项审批", "主体工程完工", "竣工验收投产"),
    4: ("完成立项审批", "开工建设", "主体工程完工", "竣工验收投产"),
}
# (scenario, projects at full scale, days its agreement must have run for it)
SCENARIOS = (("red", 7, 200), ("yellow", 8, 100), ("completed", 12, 200), ("lagging", 5, 100))


def _projects(
    rng: random.Random,
    county: str,
    seed: int,
    villages: list[Village],
    enterprises: list[Enterprise],
    agreements: list[Agreement],
    scale: float,
    today: date,
) -> list[Project]:
    count = max(4, round(80 * scale))
    investing = [a for a in agreements if a.terms.invests]
    hosts = investing[:]
    while len(hosts) < count:
        hosts.append(rng.choice(investing))
    rng.shuffle(hosts)
    scenario_of = _scenarios(rng, hosts, scale, today)
    names_of = {v.code: v.name for v in villages}
    leading = [e.key for e in enterprises if e.leading_level]
    made = []
    used: set[str] = set()
    for i, agreement in enumerate(hosts):
        kind, industry = PROJECT_KINDS[rng.randrange(len(PROJECT_KINDS))]
        stem = names_of[agreement.village].removesuffix("村")
        name = f"{stem}{kind}建设项目"
        if name in used:
            name = f"{stem}{kind}二期建设项目"
        used.add(name)
        builders = [agreement.enterprise]
        partner = rng.choice(leading) if leading else agreement.enterprise
        if rng.random() < 0.1 and partner != agreement.enterprise:
            builders.append(partner)
        budget = Decimal(rng.randint(50, 800) * 10_000)
        scenario = scenario_of[i]
        start, milestones, completed = _schedule(rng, today, agreement, scenario)
        funding = _funding(rng, budget)
        key = f"P{i + 1:02d}"
        made.append(
            Project(
                key=key,
                project_id=uuid.uuid5(DEMO_NAMESPACE, f"{county}/{seed}/{key}"),
                village=agreement.village,
                agreement=agreement.key,
                enterprises=tuple(builders),
                name=name,
                industry=industry,
                budget=budget,
                funding=funding,
                shareholding=_shares(rng),
                beneficiaries=rng.randint(20, 200),
                jobs=rng.randint(5, 80),
                milestones=milestones,
                tranches=_tranches(rng, today, key, budget, start, milestones, completed, funding, scenario),
                completed_on=completed,
                asset=kind,
                scenario=scenario,
            )
        )
    return made


def _scenarios(rng: random.Random, hosts: list[Agreement], scale: float, today: date) -> list[str]:
    """A scenario per project: red, yellow, completed and lagging ones where the agreement is old
    enough for them, on time otherwise."""
    chosen = ["on_track"] * len(hosts)
    order = list(range(len(hosts)))
    rng.shuffle(order)
    for scenario, full, min_age in SCENARIOS:
        wanted = scaled(full, scale)
        for i in order:
            if wanted and chosen[i] == "on_track" and (today - hosts[i].signed_on).days >= min_age:
                chosen[i] = scenario
                wanted -= 1
    return chosen


def _schedule(
    rng: random.Random, today: date, agreement: Agreement, scenario: str
) -> tuple[date, tuple[Milestone, ...], date | None]:
    """The start, the milestones (due and reached) and the completion of a project."""
    signed = agreement.signed_on
    n = rng.randint(2, 4)
    labels = MILESTONE_NAMES[n]
    latest_start = today - timedelta(days=10)
    start = min(signed + timedelta(days=rng.randint(10, 60)), latest_start)
    dues: list[date]
    reached: list[date | None]
    completed = None
    if scenario in ("red", "yellow", "lagging"):
        start = min(signed + timedelta(days=rng.randint(10, 40)), latest_start)
        if scenario == "red":  # overdue for more than the 90 days that make a card red
            days = rng.randint(100, max(100, min(250, (today - start).days - 30)))
        else:
            days = rng.randint(5, 80)
        late = max(today - timedelta(days=days), start + timedelta(days=30))
        k = 0 if scenario == "lagging" or (late - start).days < 60 * n else rng.randint(0, n - 1)
        step = (late - start).days // (k + 1)
        dues = [start + timedelta(days=step * (j + 1)) for j in range(k)] + [late]
        dues += [late + timedelta(days=rng.randint(60, 150) * (j + 1)) for j in range(n - k - 1)]
        reached = [_on_time(rng, d, start, today) for d in dues[:k]] + [None] * (n - k)
        if scenario == "lagging":  # the milestone met, the money behind it not (yet) recorded
            reached = [_on_time(rng, d, start, today) if d <= today else None for d in dues]
    elif scenario == "completed":
        last = max(start + timedelta(days=90), today - timedelta(days=rng.randint(30, 120)))
        step = (last - start).days // n
        dues = [start + timedelta(days=step * (j + 1)) for j in range(n)]
        reached = [_on_time(rng, d, start, today) for d in dues]
        completed = min(
            today - timedelta(days=1), max(r for r in reached if r) + timedelta(days=rng.randint(3, 20))
        )
    else:
        room = agreement.term_years * 365 - (start - signed).days - 60
        length = max(120, min(rng.randint(240, 720), room))
        dues = [start + timedelta(days=length * (j + 1) // n) for j in range(n)]
        reached = [_on_time(rng, d, start, today) if d <= today else None for d in dues]
    milestones = tuple(
        Milestone(f"m{j + 1}", labels[j], due, done)
        for j, (due, done) in enumerate(zip(dues, reached, strict=True))
    )
    return start, milestones, completed


def _on_time(rng: random.Random, due: date, start: date, today: date) -> date:
    """When a milestone due on ``due`` was reached: mostly a few days early, sometimes late."""
    if rng.random() < 0.15:
        day = due + timedelta(days=rng.randint(1, 15))
    else:
        day = due - timedelta(days=rng.randint(0, 15))
    return max(start + timedelta(days=1), min(day, today - timedelta(days=1)))


def _funding(rng: random.Random, budget: Decimal) -> tuple[tuple[str, Decimal], ...]:
    enterprise = Decimal(round(budget * Decimal(rng.uniform(0.4, 1.0)) / 10_000) * 10_000)
    enterprise = min(max(enterprise, Decimal(10_000)), budget)
    rest = budget - enterprise
    if rest == 0:
        return (("enterprise", budget),)
    other = rng.choice(["connection", "integrated_agricultural", "bank_loan"])
    return (("enterprise", enterprise), (other, rest))


def _shares(rng: random.Random) -> tuple[tuple[str, int], ...]:
    collective = rng.choice([10, 15, 20, 25, 30])
    villagers = rng.choice([20, 30, 40, 50])
    shares = [("village_collective", collective), ("villagers", villagers)]
    if rng.random() < 0.3:
        shares.append(("cooperative", 10))
    shares.append(("enterprise", 100 - sum(p for _, p in shares)))
    return tuple(shares)


def _tranches(
    rng: random.Random,
    today: date,
    key: str,
    budget: Decimal,
    start: date,
    milestones: tuple[Milestone, ...],
    completed: date | None,
    funding: tuple[tuple[str, Decimal], ...],
    scenario: str,
) -> tuple[Tranche, ...]:
    """A first tranche at the start, one after each milestone reached; a completed project's add
    up to its budget. A lagging project's milestones came without their money."""
    yesterday = today - timedelta(days=1)
    first = _hundreds(
        budget * Decimal(rng.uniform(0.1, 0.15) if scenario == "lagging" else rng.uniform(0.2, 0.3))
    )
    dated = [(min(yesterday, start + timedelta(days=rng.randint(0, 15))), first)]
    if scenario != "lagging":
        share = _hundreds((budget - first) / len(milestones))
        for m in milestones:
            if m.reached_on is not None:
                dated.append((min(yesterday, m.reached_on + timedelta(days=rng.randint(0, 10))), share))
        if completed is not None:
            day, _ = dated[-1]
            dated[-1] = (min(day, completed), budget - first - share * (len(dated) - 2))
    sources = [s for s, _ in funding]
    return tuple(
        Tranche(sources[i % len(sources)], amount, day, f"拨付凭证-{key}-{i + 1}")
        for i, (day, amount) in enumerate(sorted(dated))
    )


def _hundreds(value: Decimal) -> Decimal:
    return Decimal(round(value / 100) * 100)


# -- cooperatives and 双绑 -------------------------------------------------------------------------


def _cooperatives(
    rng: random.Random,
    county: str,
    villages: list[Village],
    enterprises: list[Enterprise],
    agreements: list[Agreement],
    scale: float,
    today: date,
) -> list[Cooperative]:
    count = min(max(2, round(20 * scale)), 2 * len(villages))
    hosts = sorted(villages, key=lambda v: (not v.former_poverty_village, rng.random()))
    leading = {e.key for e in enterprises if e.leading_level}
    taken: set[str] = set()
    made = []
    for i in range(count):
        village = hosts[i % len(hosts)]
        industry = names.pick(rng, names.COOPERATIVE_INDUSTRIES)
        paired = sorted({a.enterprise for a in agreements if a.village == village.code} & leading)
        binder = (
            (paired[0] if paired else rng.choice(sorted(leading)))
            if leading and rng.random() < 0.85
            else None
        )
        made.append(
            Cooperative(
                key=f"C{i + 1:02d}",
                code=names.credit_code(rng, "93", county, taken),
                name=names.cooperative_name(village.name, industry, i // len(hosts)),
                village=village.code,
                industry=industry,
                enterprise=binder,
                enterprise_since=today - timedelta(days=rng.randint(30, 700)) if binder else None,
            )
        )
    return made


def _bindings(rng: random.Random, county: County) -> list[Binding]:
    """Each cooperative binds most eligible households of its village and a few others; the first
    cooperative of a township also reaches into its villages without one."""
    eligible = county.eligible()
    first_in_township: dict[str, str] = {}
    by_village: dict[str, str] = {}
    for c in county.cooperatives:
        first_in_township.setdefault(c.village[:9], c.key)
        by_village.setdefault(c.village, c.key)
    today = county.today
    made = []
    for household in county.households:
        village = household.profile.village
        cooperative = by_village.get(village)
        share = (0.8, 0.06) if cooperative else (0.45, 0.0)
        cooperative = cooperative or first_in_township.get(village[:9])
        if cooperative is None or rng.random() >= share[0 if household.key in eligible else 1]:
            continue
        started = today - timedelta(days=rng.randint(20, 700))
        ends = started + timedelta(days=3 * 365) if rng.random() < 0.4 else None
        ended = None
        if rng.random() < 0.02:
            ended = min(today - timedelta(days=1), started + timedelta(days=rng.randint(30, 300)))
        form = rng.choices(["equity", "order", "production", "labour", "custody"], [30, 25, 25, 15, 5])[0]
        made.append(Binding(cooperative, household.key, form, started, ends, ended))
    return made


# -- notification and indicators ------------------------------------------------------------------

EMAIL_DOMAIN = "demo.xingcun.example.cn"


def recipients(county: County) -> list[dict[str, Any]]:
    """The offices the demo tells: each township's rural-revitalisation office, the county's
    bureau and its federation of industry and commerce, by e-mail."""
    made = [
        {
            "name": f"{t.name}乡村振兴办",
            "role": "township_officer",
            "region_code": t.code,
            "channels": [{"kind": "email", "address": f"township-{t.code}@{EMAIL_DOMAIN}"}],
        }
        for t in county.townships
    ]
    made.append(
        {
            "name": f"{county.name}乡村振兴局",
            "role": "county_officer",
            "region_code": county.code,
            "channels": [{"kind": "email", "address": f"county-{county.code}@{EMAIL_DOMAIN}"}],
        }
    )
    made.append(
        {
            "name": f"{county.name}工商联",
            "role": "federation_officer",
            "region_code": county.code,
            "channels": [{"kind": "email", "address": f"federation-{county.code}@{EMAIL_DOMAIN}"}],
        }
    )
    return made


def routing_rules(county: County) -> dict[uuid.UUID, dict[str, Any]]:
    """The rules, by ids that follow from the county (putting them again changes nothing)."""
    rules = {
        "flags-to-townships": {"on_event": "monitoring.household_flagged", "roles": ["township_officer"]},
        "red-cards-to-county": {
            "on_event": "reporting.supervision_card_changed",
            "roles": ["county_officer"],
            "where": {"card": ["red"]},
        },
        "overdue-milestones-to-federation": {
            "on_event": "pairing.project_milestone_overdue",
            "roles": ["federation_officer"],
        },
        "terminations-to-federation": {
            "on_event": "pairing.agreement_terminated",
            "roles": ["federation_officer"],
        },
        "reminders-to-officers": {
            "on_event": "notification.reminder_due",
            "roles": ["township_officer", "county_officer"],
        },
    }
    return {
        uuid.uuid5(DEMO_NAMESPACE, f"{county.code}/rule/{key}"): {
            **rule,
            "region_prefix": county.code,
            "channels": ["email"],
        }
        for key, rule in rules.items()
    }


# The indicators a county enters (the system computes the others): plausible values for the year.
ENTERED_INDICATORS = (
    ("chronic_disease_contract_rate", "100", "区卫健委家庭医生签约服务数据"),
    ("compulsory_education_retention_rate", "99.6", "区教育局学籍管理系统"),
    ("waste_collection_coverage", "100", "区住建局"),
    ("waste_treatment_rate", "72.5", "区住建局"),
    ("sewage_treatment_share", "85.1", "区生态环境分局"),
    ("cultural_centre_rate", "100", "区文化和旅游局"),
    ("village_ecommerce_coverage", "96.7", "区商务局"),
    ("tap_water_rate", "97.9", "区水利局"),
    ("grid_reliability_rate", "99.82", "供电公司"),
    ("mobile_network_coverage", "100", "区工信局"),
    ("sanitary_toilet_rate", "94.6", "区农牧局"),
    ("gdp_growth_rate", "5.1", "区统计局快报"),
    ("urban_income_growth_rate", "4.4", "区统计局快报"),
)
