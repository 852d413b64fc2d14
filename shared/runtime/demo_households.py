"""The demo county's households (pure): members with valid citizen ID numbers, four quarters of
surveys and an annual one, drawn from a seeded ``random.Random``.

Incomes are per capita over the twelve months to each quarter's end, as the monitoring line is
per year. Every household outside a case (``demo_cases``) stays above the default lines (7,600
yuan in 2025, 7,900 in 2026) with a margin, and its rigid expenses and annual guarantees raise no
rule, so the surveys flag exactly the households the demo means them to.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from shared.periods import Quarter
from shared.runtime import demo_names as names

# Floor of a household's per-capita income outside its case: above every default line.
INCOME_FLOOR = 9_000
HOUSEHOLD_SIZES = ((1, 12), (2, 28), (3, 22), (4, 22), (5, 11), (6, 5))


def surveyed_quarters(today: date, n: int = 4) -> list[Quarter]:
    """The ``n`` quarters that ended before ``today``'s quarter, oldest first."""
    quarters = [Quarter.of(today).previous()]
    while len(quarters) < n:
        quarters.append(quarters[-1].previous())
    return quarters[::-1]


def annual_year(today: date) -> int:
    """The year of the latest annual survey: last year's, until this year's is taken in December."""
    return today.year if today >= date(today.year, 12, 29) else today.year - 1


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    relation: str
    age: int
    labour: str
    schooling: str
    disability_grade: int | None
    chronic_illness: bool

    def body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id_number": self.id_number,
            "relation": self.relation,
            "age": self.age,
            "labour": self.labour,
            "schooling": self.schooling,
            "disability_grade": self.disability_grade,
            "chronic_illness": self.chronic_illness,
        }

    @property
    def works(self) -> bool:
        return self.labour in ("skilled", "ordinary", "weak")


@dataclass(frozen=True)
class Quarterly:
    period: str
    surveyed_on: date
    members: int
    income: Decimal
    medical: Decimal = Decimal(0)
    schooling: Decimal = Decimal(0)
    disaster: Decimal = Decimal(0)
    accident: Decimal = Decimal(0)


@dataclass(frozen=True)
class Annual:
    year: int
    surveyed_on: date
    pension_insured: int
    medical_insured_all: bool
    minimum_living_allowance: bool
    extreme_poverty_support: bool
    children_of_compulsory_age: int
    out_of_school: int
    labourers: int
    employed: int
    housing_safe: bool
    drinking_water_safe: bool
    assistance_received: Decimal

    @property
    def guarantees_hold(self) -> bool:
        return (
            self.out_of_school == 0
            and self.medical_insured_all
            and self.housing_safe
            and self.drinking_water_safe
        )

    def body(self) -> dict[str, Any]:
        return {
            "period": str(self.year),
            "surveyed_on": self.surveyed_on.isoformat(),
            "annual": {
                "pension_insured": self.pension_insured,
                "medical_insured_all": self.medical_insured_all,
                "minimum_living_allowance": self.minimum_living_allowance,
                "extreme_poverty_support": self.extreme_poverty_support,
                "children_of_compulsory_age": self.children_of_compulsory_age,
                "out_of_school": self.out_of_school,
                "labourers": self.labourers,
                "employed": self.employed,
                "housing_safe": self.housing_safe,
                "drinking_water_safe": self.drinking_water_safe,
                "assistance_received_yuan": str(self.assistance_received),
            },
        }


@dataclass(frozen=True)
class Profile:
    """A household as registered, before its surveys are known (they depend on its case)."""

    key: str
    village: str
    status: str
    phone: str | None
    members: tuple[Person, ...]
    base_income: int  # per capita, yuan a year
    survey_days: tuple[date, ...]  # one per surveyed quarter

    @property
    def head(self) -> Person:
        return self.members[0]

    @property
    def labourers(self) -> int:
        return sum(m.works for m in self.members)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "village_code": self.village,
            "status": self.status,
            "members": [m.body() for m in self.members],
        }
        if self.phone:
            body["phone"] = self.phone
        return body


@dataclass(frozen=True)
class Household:
    profile: Profile
    quarters: tuple[Quarterly, ...]
    annual: Annual | None

    @property
    def key(self) -> str:
        return self.profile.key


def profiles(
    rng: random.Random, villages: list[tuple[str, bool]], total: int, today: date, quarters: list[Quarter]
) -> list[Profile]:
    """``total`` households spread over ``villages`` (code, former poverty village?)."""
    weights = [rng.uniform(0.6, 1.4) for _ in villages]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % len(counts)] += 1
    taken: set[str] = set()
    made: list[Profile] = []
    for (village, former_poverty), count in zip(villages, counts, strict=True):
        for _ in range(count):
            made.append(
                _profile(rng, f"H{len(made) + 1:04d}", village, former_poverty, today, quarters, taken)
            )
    return made


def _profile(
    rng: random.Random,
    key: str,
    village: str,
    former_poverty: bool,
    today: date,
    quarters: list[Quarter],
    taken: set[str],
) -> Profile:
    roll = rng.random()
    poor_share = 0.4 if former_poverty else 0.2
    status = "former_poor" if roll < poor_share else "low_income" if roll < poor_share + 0.08 else "ordinary"
    members = _members(rng, village[:6], today, status, taken)
    base = {
        "ordinary": rng.randint(12_000, 26_000),
        "low_income": rng.randint(9_500, 12_500),
        "former_poor": rng.randint(9_800, 16_000),
    }[status]
    days = tuple(min(q.end - timedelta(days=rng.randint(0, 20)), today) for q in quarters)
    phone = names.mobile(rng) if rng.random() < 0.85 else None
    return Profile(key, village, status, phone, tuple(members), base, days)


def _members(rng: random.Random, county: str, today: date, status: str, taken: set[str]) -> list[Person]:
    size = rng.choices([s for s, _ in HOUSEHOLD_SIZES], [w for _, w in HOUSEHOLD_SIZES])[0]
    family = names.surname(rng)
    head_male = rng.random() < 0.85
    head_age = rng.randint(38, 80) if status == "former_poor" else rng.randint(30, 76)
    plan: list[tuple[str, int, bool]] = [("head", head_age, head_male)]
    if size > 1 and head_age <= 78 and rng.random() < 0.9:
        plan.append(("spouse", max(22, head_age + rng.randint(-5, 3)), not head_male))
    if len(plan) < size and head_age <= 52 and rng.random() < 0.4:
        plan.append(("parent", min(95, head_age + rng.randint(22, 30)), rng.random() < 0.5))
    while len(plan) < size:
        children = [p for p in plan if p[0] == "child"]
        grown = next((c for c in children if c[1] >= 28), None)
        if grown and not any(p[0] == "child_in_law" for p in plan):
            plan.append(("child_in_law", max(20, grown[1] + rng.randint(-3, 3)), not grown[2]))
        elif grown and rng.random() < 0.7:
            age = grown[1] - rng.randint(22, 30)
            plan.append(("grandchild", age if age >= 0 else rng.randint(0, 8), rng.random() < 0.5))
        else:
            age = head_age - rng.randint(22, 34)
            plan.append(("child", age if age >= 0 else rng.randint(0, 5), rng.random() < 0.5))
    people = []
    for relation, age, male in plan:
        own_family = family if relation in ("head", "child", "grandchild") else names.surname(rng)
        if family is None:
            own_family = None  # a Mongolian family: every member has a Mongolian name
        name = names.person_name(
            rng, own_family, male, child=relation in ("child", "grandchild") and age < 25
        )
        born = names.birth_date(rng, today, age)
        number = names.citizen_id(rng, county, born, male, taken)
        chronic = rng.random() < (0.18 if age >= 50 else 0.03)
        disability = rng.randint(1, 4) if rng.random() < 0.03 else None
        schooling = _schooling(rng, age)
        people.append(
            Person(
                name,
                number,
                relation,
                age,
                _labour(rng, age, schooling, chronic or disability is not None),
                schooling,
                disability,
                chronic,
            )
        )
    return people


def _schooling(rng: random.Random, age: int) -> str:
    if age < 3:
        return "not_of_school_age"
    if age < 6:
        return "preschool"
    if age < 16:
        return "compulsory_in_school"
    if age < 19:
        return "senior_in_school" if rng.random() < 0.7 else "junior_secondary"
    if age < 23:
        return (
            "higher_in_school"
            if rng.random() < 0.35
            else rng.choice(["senior_secondary", "junior_secondary"])
        )
    if age >= 65:
        return rng.choices(["illiterate", "primary", "junior_secondary"], [30, 50, 20])[0]
    if age >= 45:
        return rng.choices(["primary", "junior_secondary", "senior_secondary"], [35, 50, 15])[0]
    return rng.choices(["junior_secondary", "senior_secondary", "higher"], [45, 30, 25])[0]


def _labour(rng: random.Random, age: int, schooling: str, impaired: bool) -> str:
    if age < 16 or schooling.endswith("_in_school"):
        return "none"
    if age < 60:
        if impaired:
            return "weak"
        return rng.choices(["skilled", "ordinary", "weak"], [20, 68, 12])[0]
    if age < 70:
        return rng.choices(["weak", "ordinary", "lost"], [60, 25, 15])[0]
    return rng.choice(["lost", "weak"])


def normal_quarters(rng: random.Random, profile: Profile, quarters: list[Quarter]) -> list[Quarterly]:
    """Surveys that raise no rule: income at or above the floor, small rigid expenses."""
    income = profile.base_income
    size = len(profile.members)
    pupils = sum(m.schooling.endswith("_in_school") for m in profile.members)
    made = []
    for quarter, day in zip(quarters, profile.survey_days, strict=True):
        income = max(INCOME_FLOOR, round(income * rng.uniform(0.99, 1.03)))
        cap = income * size * 3 // 10  # well below the rule's half of the household's income
        medical = rng.randint(300, 4_000) if rng.random() < 0.4 else 0
        schooling = rng.randint(500, 3_000) * pupils if pupils else 0
        made.append(
            Quarterly(
                quarter.name,
                day,
                size,
                Decimal(income),
                Decimal(min(medical, cap)),
                Decimal(min(schooling, max(0, cap - medical))),
            )
        )
    return made


def annual_survey(rng: random.Random, profile: Profile, today: date) -> Annual:
    """The latest annual survey, every guarantee held (a case may replace one: its risk)."""
    year = annual_year(today)
    members = profile.members
    labourers = profile.labourers
    children = sum(6 <= m.age <= 15 for m in members)
    return Annual(
        year=year,
        surveyed_on=min(date(year, 12, rng.randint(10, 28)), today),
        pension_insured=sum(m.age >= 16 and not m.schooling.endswith("_in_school") for m in members),
        medical_insured_all=True,
        minimum_living_allowance=profile.status == "low_income",
        extreme_poverty_support=profile.status == "low_income" and len(members) == 1 and members[0].age >= 70,
        children_of_compulsory_age=children,
        out_of_school=0,
        labourers=labourers,
        employed=round(labourers * rng.uniform(0.4, 0.9)),
        housing_safe=True,
        drinking_water_safe=True,
        assistance_received=Decimal(rng.randint(8, 60) * 100 if profile.status != "ordinary" else 0),
    )
