"""The reporting facts projected from real pairing and monitoring events (PostgreSQL, JetStream),
read back as a region's ``Facts`` now and as of a moment before later events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.monitoring.app import create as monitoring_app
from services.pairing.app import create as pairing_app
from services.reporting.app import create as reporting_app
from services.reporting.facts.load import load_facts
from services.reporting.facts.model import Facts
from shared.auth import Role
from shared.clock import FixedClock
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.desk import COUNTY, START, Desk, noon_in_china
from tests.support.projects import VILLAGE, pair, project_body, tranche


async def test_facts_follow_pairing_and_monitoring_events(settings: Settings) -> None:
    clock = FixedClock(noon_in_china(START))
    officer = token(settings, Role.federation_officer, COUNTY)
    monitoring, pairing, reporting = (
        monitoring_app(settings, clock),
        pairing_app(settings, clock),
        reporting_app(settings, clock),
    )
    async with running(monitoring) as mclient, running(pairing) as pclient, running(reporting):
        engine = reporting.state.runtime.engine
        paired = await pair(pclient, officer)
        created = await pclient.post("/projects", json=project_body(paired), headers=officer)
        assert created.status_code == 201, created.text
        project = created.json()["id"]
        invested = await pclient.post(
            f"/projects/{project}/investments", json=tranche("2000000.00", "2026-01-05"), headers=officer
        )
        assert invested.status_code == 201, invested.text

        desk = Desk(monitoring, mclient, clock, settings)
        enrolled = await desk.register(1)
        await desk.enrol(enrolled)
        flagged = await desk.register(2)
        await desk.flag(flagged)
        before_rejection = clock.now()  # events are recorded at the services' clock
        await desk.reject(flagged, Role.township_officer)

        async def settled() -> bool:
            facts = await load_facts(engine, COUNTY, datetime.now(UTC) + timedelta(days=1))
            return len(facts.investments) == 1 and len(facts.steps) == 7

        await wait_until(settled, 15, "every fact in the reporting database")
        now = await load_facts(engine, COUNTY, datetime.now(UTC) + timedelta(days=1))
        assert [v.village_code for v in now.villages][:1] == [VILLAGE]
        assert {a.status for a in now.agreements} == {"active"}
        assert [p.budget_yuan for p in now.projects] == [Decimal("5000000.00")]
        assert [m.milestone_id for m in now.projects[0].milestones] == ["design", "built"]
        assert now.investments[0].amount_yuan == Decimal("2000000.00")
        stages = _stages(now)
        assert stages == {enrolled: "monitored", flagged: None}
        assert [s.kind for s in now.steps if str(s.household_id) == enrolled] == [
            "flagged",
            "verified",
            "deliberated",
            "reviewed",
            "enrolled",
        ]
        assert {h.labourers for h in now.households} == {2}

        earlier = await load_facts(engine, COUNTY, before_rejection)
        assert _stages(earlier) == {enrolled: "monitored", flagged: "flagged"}


def _stages(facts: Facts) -> dict[str, str | None]:
    return {str(h.household_id): h.stage for h in facts.households}
