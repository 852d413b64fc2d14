"""What ``xingcun demo`` loaded (or found loaded), as the services answered it, and the lines it
prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from shared.runtime.demo_cases import ELIMINATION, ENROLMENT

STAGES = (*ENROLMENT, "monitored", *ELIMINATION, "eliminated")
MONITORED = ("monitored", *ELIMINATION)


@dataclass
class DemoSummary:
    """What the demo loaded (or found loaded), as the services answered it."""

    county: str
    county_name: str
    seed: int
    scale: float
    already_loaded: bool = False
    complete: bool = True
    villages: int = 0
    enterprises: int = 0
    agreements: int = 0
    terminated: int = 0
    relayed: int = 0
    projects: int = 0
    milestones: int = 0
    milestones_reached: int = 0
    milestones_overdue: int = 0
    tranches: int = 0
    invested_yuan: Decimal = Decimal(0)
    cooperatives: int = 0
    enterprise_bindings: int = 0
    bindings: int = 0
    households: int = 0
    people: int = 0
    survey_batches: int = 0
    quarterly_surveys: int = 0
    annual_surveys: int = 0
    flagged_by_rules: int = 0
    stages: dict[str, int] = field(default_factory=dict)  # households by final stage; "rejected" too
    contacts: int = 0
    deliveries_of_assistance: int = 0
    recipients: int = 0
    rules: int = 0
    indicators: int = 0
    cards: dict[str, int] = field(default_factory=dict)
    period: str = ""
    period_closed: bool = False
    period_late: bool = False
    notifications: dict[str, int] = field(default_factory=dict)  # deliveries by status
    calls: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def report(self) -> str:
        head = f"county {self.county} {self.county_name} (seed {self.seed}, scale {self.scale:g})"
        period = f"period {self.period} " + ("closed" if self.period_closed else "NOT closed")
        if self.already_loaded:
            state = "complete" if self.complete else "only partly loaded: an earlier run stopped part-way"
            return "\n".join(
                [
                    f"a demo county is already loaded here: {self.county} {self.county_name} — {state}",
                    _line(
                        f"{self.villages} villages",
                        f"{self.agreements} agreements in force",
                        f"{self.projects} projects",
                        f"{self.stages.get('monitored', 0)} monitored households",
                        period,
                    ),
                    "  nothing was written. For a fresh one: stop `make up`, remove its data folder "
                    "(.xingcun, or $XINGCUN_HOME), run `make up` and `xingcun demo` again.",
                ]
            )
        stages = [f"{s} {self.stages[s]}" for s in (*STAGES, "rejected") if self.stages.get(s)]
        notified = ", ".join(f"{n} {s}" for s, n in sorted(self.notifications.items())) or "none yet"
        cards = self.cards
        lines = [
            f"loaded {head} in {self.seconds:.1f} s, {self.calls} API calls",
            _line(
                f"{self.villages} villages",
                f"{self.enterprises} enterprises",
                f"{self.agreements} agreements ({self.terminated} terminated, {self.relayed} relayed)",
                f"{self.projects} projects",
                label="pairing",
            ),
            _line(
                f"{self.milestones} milestones",
                f"{self.milestones_reached} reached, {self.milestones_overdue} overdue",
                f"{self.tranches} tranches, {self.invested_yuan:,.2f} yuan invested",
            ),
            _line(
                f"{self.cooperatives} cooperatives, {self.enterprise_bindings} bound by a leading enterprise",
                f"{self.bindings} household bindings (双绑)",
            ),
            _line(
                f"{self.households} households, {self.people} people",
                f"{self.quarterly_surveys} quarterly surveys in {self.survey_batches} import batches "
                f"({self.flagged_by_rules} flagged by the rules)",
                f"{self.annual_surveys} annual surveys",
                label="monitoring",
            ),
            _line("cases by stage: " + ", ".join(stages)),
            _line(
                f"{self.contacts} contacts assigned", f"{self.deliveries_of_assistance} assistance deliveries"
            ),
            _line(
                f"cards: {cards.get('red', 0)} red, {cards.get('yellow', 0)} yellow",
                f"{cards.get('green', 0)} green",
                f"{self.indicators} indicators entered",
                period + (" (late)" if self.period_late else ""),
                label="reporting",
            ),
            _line(
                f"{self.recipients} recipients",
                f"{self.rules} routing rules",
                f"deliveries: {notified}",
                label="notification",
            ),
        ]
        lines += [f"  warning: {w}" for w in self.warnings[:20]]
        if len(self.warnings) > 20:
            lines.append(f"  … and {len(self.warnings) - 20} more warnings")
        return "\n".join(lines)


def _line(*parts: str, label: str = "") -> str:
    return f"  {label:<14}" + " · ".join(parts)
