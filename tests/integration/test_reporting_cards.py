"""Supervision cards judged from real pairing events (PostgreSQL, JetStream): a project turning
yellow then red as its milestone stays unmet, its agreement following, a terminated agreement turning
red until relayed; each change published once on the REPORTING stream, however many checks run."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx

from services.pairing.app import create as pairing_app
from services.reporting.app import create as reporting_app
from services.reporting.cards.changes import card_stream
from services.reporting.cards.judge import JUDGE, judge_cards, publish
from services.reporting.cards.rules import Judgement, term_end
from services.reporting.facts.load import load_facts
from services.reporting.facts.model import Facts
from shared.auth import Role
from shared.clock import FixedClock, china_date
from shared.events.catalogue.reporting import Card, CardSubject
from shared.eventstore.context import CommandContext
from shared.service import Runtime
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.desk import START, noon_in_china
from tests.support.infra import body, jetstream
from tests.support.pairing import COUNTY, village_code
from tests.support.projects import VILLAGE, pair, project_body, tranche

CHANGED = "reporting.supervision_card_changed"


async def facts_when(runtime: Runtime, ready: Callable[[Facts], bool], what: str) -> Facts:
    """The facts as of the clock, once the projections hold what ``ready`` looks for."""

    async def settled() -> bool:
        return ready(await load_facts(runtime.engine, "", runtime.clock.now()))

    await wait_until(settled, 15, what)
    return await load_facts(runtime.engine, "", runtime.clock.now())


def by_subject(changes: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    keyed = {(c["subject"], str(c["subject_id"])): c for c in changes}
    assert len(keyed) == len(changes), f"a subject changed twice in one check: {changes}"
    return keyed


def summary(change: dict[str, Any]) -> tuple[str, str | None, set[str]]:
    return change["card"], change["previous"], {r["code"] for r in change["reasons"]}


async def published(settings: Settings, count: int) -> list[dict[str, Any]]:
    """The card events on the REPORTING stream, once ``count`` of them are there."""
    async with jetstream(settings, "reporting") as broker:
        found: list[dict[str, Any]] = []

        async def arrived() -> bool:
            nonlocal found
            found = [b for b in map(body, await broker.read_all()) if b["type"] == CHANGED]
            return len(found) >= count

        await wait_until(arrived, 15, f"{count} card events on JetStream")
        return found


async def test_cards_follow_milestones_investment_termination_and_relay(settings: Settings) -> None:
    clock = FixedClock(noon_in_china(START))
    officer = token(settings, Role.federation_officer, COUNTY)
    county = token(settings, Role.county_officer, COUNTY)
    pairing, reporting = pairing_app(settings, clock), reporting_app(settings, clock)
    async with running(pairing) as pclient, running(reporting) as rclient:
        runtime: Runtime = reporting.state.runtime
        paired = await pair(pclient, officer)
        created = await pclient.post("/projects", json=project_body(paired), headers=officer)
        assert created.status_code == 201, created.text
        project = created.json()["id"]
        invested = Decimal("2000000.00")
        response = await pclient.post(
            f"/projects/{project}/investments", json=tranche(str(invested), "2026-01-05"), headers=officer
        )
        assert response.status_code == 201, response.text
        facts = await facts_when(runtime, lambda f: len(f.investments) == 1, "the project and its investment")
        [the_project] = facts.projects
        design = the_project.milestones[0]
        lone = next(a for a in facts.agreements if str(a.agreement_id) == paired.other_agreement)

        # On plan: nothing due yet, every card green, nothing published.
        assert (await judge_cards(runtime)).changes == []

        # The first milestone passes unmet. Two checks at once publish each change once.
        clock.set(noon_in_china(design.due_on + timedelta(days=1)))
        checks = await asyncio.gather(*(rclient.post("/cards/check", headers=county) for _ in range(2)))
        assert [c.status_code for c in checks] == [200, 200], [c.text for c in checks]
        first = by_subject([c for check in checks for c in check.json()["changes"]])
        # The paired village's agreement takes its project's card; the other village's agreement has
        # no project and so none of its commitment invested, a share of the term into it.
        elapsed = (china_date(clock.now()) - lone.signed_on).days
        expected = lone.investment_yuan * elapsed / (term_end(lone) - lone.signed_on).days
        assert {k: summary(c) for k, c in first.items()} == {
            ("project", project): ("yellow", None, {"milestone_overdue"}),
            ("agreement", paired.agreement): ("yellow", None, {"milestone_overdue"}),
            ("agreement", paired.other_agreement): ("yellow", None, {"investment_behind_plan"}),
        }
        assert "逾期1天" in first["project", project]["reasons"][0]["text"]
        lag_text = first["agreement", paired.other_agreement]["reasons"][0]["text"]
        assert f"应完成{expected.quantize(Decimal('0.01')):,}元" in lag_text and "实际投资0.00元" in lag_text
        assert first["project", project]["village_code"] == VILLAGE
        assert (await judge_cards(runtime)).changes == []
        await wait_until(
            lambda: _listed(rclient, county, "yellow", 3), 15, "three yellow cards in GET /cards"
        )
        listed = (await rclient.get("/cards", params={"subject": "project"}, headers=county)).json()["items"]
        assert [(i["name"], i["card"], i["village_name"]) for i in listed] == [
            ("肉牛养殖基地", "yellow", "村1")
        ]
        agreements = (await rclient.get("/cards", params={"subject": "agreement"}, headers=county)).json()
        assert {tuple(i["enterprise_names"]) for i in agreements["items"]} == {("企业1",), ("企业2",)}
        yellow_since = clock.now()

        # Longer than the red threshold: red, published once, with the yellow as previous.
        clock.set(noon_in_china(design.due_on + timedelta(days=settings.card_red_overdue_days + 1)))
        response = await rclient.post("/cards/check", headers=county)
        assert response.status_code == 200, response.text
        second = by_subject(response.json()["changes"])
        assert {k: summary(c) for k, c in second.items()} == {
            ("project", project): ("red", "yellow", {"milestone_overdue_long"}),
            ("agreement", paired.agreement): ("red", "yellow", {"milestone_overdue_long"}),
        }
        assert (await rclient.post("/cards/check", headers=county)).json()["changes"] == []

        # The other agreement ends without a relay: red at once (no grace by default).
        assert settings.card_relay_grace_days == 0
        ended = china_date(clock.now()) - timedelta(days=1)
        base = f"/villages/{village_code(2)}/agreements/{paired.other_agreement}"
        response = await pclient.post(
            f"{base}/termination",
            json={"terminated_on": ended.isoformat(), "reason": "企业停产"},
            headers=officer,
        )
        assert response.status_code == 201, response.text
        await facts_when(
            runtime, lambda f: _status(f, paired.other_agreement) == "needs_relay", "the termination"
        )
        third = by_subject([c.model_dump(mode="json") for c in (await judge_cards(runtime)).changes])
        assert {k: summary(c) for k, c in third.items()} == {
            ("agreement", paired.other_agreement): ("red", "yellow", {"needs_relay_long"}),
        }
        assert ended.isoformat() in third["agreement", paired.other_agreement]["reasons"][0]["text"]

        # A relay hands it over: green again, saying so. The relay agreement itself starts green.
        relay = {
            "enterprise_id": paired.enterprises[0],
            "signed_on": china_date(clock.now()).isoformat(),
            "term_years": 2,
            "document_ref": "XC-R1",
        }
        response = await pclient.post(f"{base}/relay", json=relay, headers=officer)
        assert response.status_code == 201, response.text
        await facts_when(runtime, lambda f: _status(f, paired.other_agreement) == "relayed", "the relay")
        fourth = by_subject([c.model_dump(mode="json") for c in (await judge_cards(runtime)).changes])
        assert {k: summary(c) for k, c in fourth.items()} == {
            ("agreement", paired.other_agreement): ("green", "red", {"relayed"}),
        }

        # Each change is one event in the store and one message on JetStream.
        changes = [*first.values(), *second.values(), *third.values(), *fourth.values()]
        on_stream = await published(settings, len(changes))
        assert sorted((m["data"]["subject_id"], m["data"]["card"]) for m in on_stream) == sorted(
            (str(c["subject_id"]), c["card"]) for c in changes
        )
        assert {m["region_code"] for m in on_stream} == {VILLAGE, village_code(2)}
        project_stream = await runtime.store.load(card_stream(CardSubject.project, uuid.UUID(project)))
        assert [e.data["card"] for e in project_stream] == ["yellow", "red"]

        # The history of the project, and the cards as of the day it was yellow.
        await wait_until(lambda: _history(rclient, county, project, 2), 15, "the project's card history")
        history = (await rclient.get(f"/cards/project/{project}/history", headers=county)).json()
        assert [(h["card"], h["previous"], h["version"]) for h in history["items"]] == [
            ("yellow", None, 1),
            ("red", "yellow", 2),
        ]
        back_then = await rclient.get(
            "/cards", params={"as_of": yellow_since.isoformat(), "card": "yellow"}, headers=county
        )
        assert {i["subject_id"] for i in back_then.json()["items"]} == {
            project,
            paired.agreement,
            paired.other_agreement,
        }

        # The card tables read the same cards: the project and its agreement are red.
        await wait_until(lambda: _listed(rclient, county, "green", 2), 15, "the relayed card in GET /cards")
        table = (await rclient.get("/tables/cards", headers=county)).json()
        assert sorted((r["subject"], r["card"]) for r in table["rows"]) == [
            ("帮扶项目", "红牌"),
            ("结对协议", "红牌"),
        ]
        assert (table["totals"]["red"], table["totals"]["yellow"]) == (2, 0)
        totals = (await rclient.get("/tables/cards-summary", headers=county)).json()["totals"]
        assert (totals["agreements"], totals["projects"], totals["green"], totals["red"]) == (3, 1, 2, 2)


async def test_a_judge_that_loses_the_race_decides_again_and_publishes_nothing(settings: Settings) -> None:
    clock = FixedClock(noon_in_china(START))
    reporting = reporting_app(settings, clock)
    async with running(reporting):
        runtime: Runtime = reporting.state.runtime
        subject = uuid.uuid4()
        judgement = Judgement(CardSubject.project, subject, VILLAGE, Card.red, (), china_date(clock.now()))
        ctx = CommandContext(actor=JUDGE, now=clock.now(), correlation_id=str(uuid.uuid4()))
        # Both judges loaded the subject's stream while it was still empty.
        winner = await publish(runtime.store, ctx, judgement, [])
        loser = await publish(runtime.store, ctx, judgement, [])
        assert winner is not None and (winner.card, winner.previous) == (Card.red, None)
        assert loser is None
        stored = await runtime.store.load(card_stream(CardSubject.project, subject))
        assert [(e.stream_version, e.data["card"]) for e in stored] == [(1, "red")]


def _status(facts: Facts, agreement_id: str) -> str | None:
    return next((a.status for a in facts.agreements if str(a.agreement_id) == agreement_id), None)


async def _listed(client: httpx.AsyncClient, headers: dict[str, str], card: str, count: int) -> bool:
    response = await client.get("/cards", params={"card": card}, headers=headers)
    return response.status_code == 200 and response.json()["total"] == count


async def _history(client: httpx.AsyncClient, headers: dict[str, str], project: str, count: int) -> bool:
    response = await client.get(f"/cards/project/{project}/history", headers=headers)
    return response.status_code == 200 and len(response.json()["items"]) == count
