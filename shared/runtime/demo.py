"""``xingcun demo``: a realistic synthetic county (``demo_data``) loaded through the services'
public HTTP APIs, as the county's officers and the provincial platform would enter it.

In order: the notification directory (so that what follows is told), the pairing programme
(villages, enterprises, agreements, projects with their tranches and milestones, terminations and
relays, cooperatives), the households, the flags officers raised, four quarters of surveys as the
platform's import batches, the annual surveys, every case's steps, the 双绑 bindings, the entered
indicators; then, once the reporting service holds all of it, a card check, the closing of the
last half-year and a reminder check. A county already loaded is recognised (its first village is
registered) and left as it is.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

from shared.auth import Role
from shared.clock import china_date
from shared.runtime.demo_api import (
    SERVICES,
    Api,
    DemoError,
    Refused,
    TokenFor,
    survey_batch,
    tokens_signed_with,
)
from shared.runtime.demo_cases import Case, Step
from shared.runtime.demo_data import (
    ENTERED_INDICATORS,
    Agreement,
    Binding,
    Cooperative,
    County,
    Project,
    build_county,
    recipients,
    routing_rules,
)
from shared.runtime.demo_households import Household
from shared.runtime.demo_summary import MONITORED, STAGES, DemoSummary


async def load_demo(
    clients: Mapping[str, httpx.AsyncClient],
    token_for: TokenFor,
    *,
    seed: int = 1,
    scale: float = 1.0,
    county: str = "150602",
    today: date | None = None,
    concurrency: int = 12,
    progress: Callable[[str], None] = lambda _: None,
    settle_s: float = 60.0,
) -> DemoSummary:
    """Load the demo county of ``seed`` and ``scale`` into the services ``clients`` reach (one
    ``httpx.AsyncClient`` per service, by name, each with its base URL), with tokens from
    ``token_for``. ``today`` must be the services' China date (default: the system clock's)."""
    day = today or china_date(datetime.now(UTC))
    data = build_county(seed, scale, day, county)
    loader = _Loader(Api(clients, token_for, concurrency), data, progress, settle_s)
    return await loader.run()


class _Loader:
    def __init__(self, api: Api, data: County, progress: Callable[[str], None], settle_s: float) -> None:
        self.api = api
        self.data = data
        self.progress = progress
        self.settle_s = settle_s
        self.county = data.code
        self.summary = DemoSummary(data.code, data.name, data.seed, data.scale, period=data.period.name)
        self.enterprise_ids: dict[str, str] = {}
        self.agreement_ids: dict[str, str] = {}
        self.household_ids: dict[str, str] = {}
        self.cooperative_ids: dict[str, str] = {}
        self.stage_of: dict[str, str | None] = {}
        self.households = {h.key: h for h in data.households}
        self.started = time.monotonic()

    # -- the whole ---------------------------------------------------------------------------------

    async def run(self) -> DemoSummary:
        await self._ready()
        found = await self._already_loaded()
        if found is not None:
            return found
        baseline = await self._figures()
        await self._phase("notification directory", self._directory)
        await self._phase("pairing", self._pairing)
        await self._phase("households", self._households)
        await self._phase("surveys", self._surveys)
        await self._phase("monitoring cases", self._cases)
        await self._phase("bindings (双绑), indicators", self._bindings_and_indicators)
        await self._phase("reporting", lambda: self._reporting(baseline))
        await self._phase("notifications", self._notifications)
        self.summary.calls = self.api.calls
        self.summary.seconds = time.monotonic() - self.started
        return self.summary

    async def _phase(self, name: str, run: Callable[[], Any]) -> None:
        began = time.monotonic()
        await run()
        self.progress(f"{name:<30} done in {time.monotonic() - began:5.1f} s ({self.api.calls} calls so far)")

    async def _ready(self) -> None:
        for service in SERVICES:
            try:
                response = await self.api.clients[service].get("/readyz", timeout=10)
            except httpx.TransportError as exc:
                raise DemoError(
                    f"the {service} service does not answer ({exc!r}): is `make up` running?"
                ) from exc
            if response.status_code != 200:
                raise DemoError(f"the {service} service is not ready: {response.text[:300]}")

    async def _already_loaded(self) -> DemoSummary | None:
        first = self.data.villages[0].code
        if not await self.api.exists("pairing", f"/villages/{first}", Role.county_officer, self.county):
            return None
        s = self.summary
        s.already_loaded = True
        s.period_closed = await self.api.exists(
            "reporting", f"/periods/{self.county}/{self.data.period.name}", Role.county_officer, self.county
        )
        s.complete = s.period_closed
        summary = await self.api.get("reporting", "/dashboard/summary", Role.viewer, self.county)
        figures = summary["figures"]
        s.villages, s.agreements, s.projects = (
            figures["villages"],
            figures["active_agreements"],
            figures["projects"],
        )
        s.stages = {row["key"]: row["total"] for row in summary["monitoring"]["stages"]}
        s.seconds = time.monotonic() - self.started
        return s

    async def _figures(self) -> dict[str, Any]:
        """What the reporting service shows of the county now: the figures the demo waits for."""
        summary = await self.api.get("reporting", "/dashboard/summary", Role.viewer, self.county)
        table = await self.api.get("reporting", "/tables/monitoring", Role.viewer, self.county, page_size="1")
        figures = summary["figures"]
        return {
            "villages": figures["villages"],
            "active_agreements": figures["active_agreements"],
            "projects": figures["projects"],
            "invested_yuan": Decimal(figures["invested_yuan"]),
            "monitored": figures["monitored"],
            "households": (table.get("totals") or {}).get("households", 0),
            **{f"stage:{row['key']}": row["total"] for row in summary["monitoring"]["stages"]},
        }

    # -- notification --------------------------------------------------------------------------------

    async def _directory(self) -> None:
        county, officer = self.county, Role.county_officer
        listed = await self.api.get("notification", "/recipients", officer, county, page_size="200")
        known = {r["name"] for r in listed["items"]}
        wanted = recipients(self.data)
        await self.api.gather(
            *(
                self.api.post("notification", "/recipients", officer, county, r)
                for r in wanted
                if r["name"] not in known
            )
        )
        rules = routing_rules(self.data)
        for rule_id, body in rules.items():
            await self.api.call(
                "notification", "PUT", f"/routing-rules/{rule_id}", officer, county, json=body
            )
        self.summary.recipients, self.summary.rules = len(wanted), len(rules)

        async def projected() -> bool:
            # the router reads the directory's projection: events before it holds the rules go untold
            found = await self.api.get("notification", "/routing-rules", officer, county, page_size="200")
            people = await self.api.get("notification", "/recipients", officer, county, page_size="200")
            have_rules = {r["rule_id"] for r in found["items"]} >= {str(r) for r in rules}
            return have_rules and {r["name"] for r in people["items"]} >= {r["name"] for r in wanted}

        if not await _until(projected, 20):
            self.summary.warnings.append("the notification directory was not projected within 20 s")

    # -- pairing ---------------------------------------------------------------------------------------

    async def _pairing(self) -> None:
        api, data, county, federation = self.api, self.data, self.county, Role.federation_officer
        await api.gather(
            *(api.post("pairing", "/villages", federation, county, v.body()) for v in data.villages)
        )
        created = await api.gather(
            *(
                api.post("pairing", "/enterprises", federation, county, e.body(county))
                for e in data.enterprises
            )
        )
        self.enterprise_ids = {e.key: c["id"] for e, c in zip(data.enterprises, created, strict=True)}
        by_village: dict[str, list[Agreement]] = {}
        for agreement in data.agreements:
            by_village.setdefault(agreement.village, []).append(agreement)

        async def sign(agreements: list[Agreement]) -> None:  # one village's in turn: they change its stream
            for a in agreements:
                made = await api.post(
                    "pairing", "/agreements", federation, county, a.body(self.enterprise_ids[a.enterprise])
                )
                self.agreement_ids[a.key] = made["id"]

        await api.gather(*(sign(group) for group in by_village.values()))
        await api.gather(*(self._project(p) for p in data.projects))
        await api.gather(*(self._terminate(group) for group in by_village.values()))
        await api.gather(*(self._cooperative(c) for c in data.cooperatives))
        await api.post("pairing", "/projects/overdue-check", Role.county_officer, county, {})
        s = self.summary
        s.villages, s.enterprises, s.projects = len(data.villages), len(data.enterprises), len(data.projects)
        s.agreements = len(data.agreements) + sum(a.relay is not None for a in data.agreements)
        s.terminated = sum(a.terminated_on is not None for a in data.agreements)
        s.relayed = sum(a.relay is not None for a in data.agreements)
        s.milestones = sum(len(p.milestones) for p in data.projects)
        s.milestones_reached = sum(m.reached_on is not None for p in data.projects for m in p.milestones)
        s.milestones_overdue = sum(len(p.overdue(data.today)) for p in data.projects)
        s.tranches = sum(len(p.tranches) for p in data.projects)
        s.invested_yuan = sum((p.invested for p in data.projects), Decimal(0))
        s.cooperatives = len(data.cooperatives)
        s.enterprise_bindings = sum(c.enterprise is not None for c in data.cooperatives)

    async def _project(self, p: Project) -> None:
        """Register the project, then its tranches and milestones in date order, then its completion."""
        api, county, federation = self.api, self.county, Role.federation_officer
        agreements = [self.agreement_ids[p.agreement]] if p.agreement else []
        body = p.body(agreements, [self.enterprise_ids[e] for e in p.enterprises])
        made = await api.post("pairing", "/projects", federation, county, body)
        path = f"/projects/{made['id']}"
        events: list[tuple[date, int, str, dict[str, Any]]] = []
        for m in p.milestones:
            if m.reached_on is not None:
                reached = {
                    "reached_on": m.reached_on.isoformat(),
                    "evidence_ref": f"验收报告-{p.key}-{m.milestone_id}",
                }
                events.append((m.reached_on, 0, f"{path}/milestones/{m.milestone_id}/reached", reached))
        for t in p.tranches:
            tranche = {
                "source": t.source,
                "amount_yuan": f"{t.amount:.2f}",
                "invested_on": t.invested_on.isoformat(),
                "evidence_ref": t.evidence_ref,
            }
            events.append((t.invested_on, 1, f"{path}/investments", tranche))
        for _, _, at, event in sorted(events, key=lambda e: (e[0], e[1])):
            await api.post("pairing", at, federation, county, event)
        if p.completed_on is not None:
            village = next(v.name for v in self.data.villages if v.code == p.village)
            asset = {
                "kind": "operating",
                "description": f"{p.asset}（厂房及设备）",
                "value_yuan": f"{p.budget * Decimal('0.9'):.2f}",
                "handed_to": f"{village}股份经济合作社",
            }
            await api.post(
                "pairing",
                f"{path}/completion",
                federation,
                county,
                {"completed_on": p.completed_on.isoformat(), "assets": [asset]},
            )

    async def _terminate(self, agreements: list[Agreement]) -> None:
        for a in agreements:
            if a.terminated_on is None:
                continue
            body: dict[str, Any] = {"terminated_on": a.terminated_on.isoformat(), "reason": a.reason}
            if a.relay is not None:
                body["relay"] = {
                    "enterprise_id": self.enterprise_ids[a.relay.enterprise],
                    "signed_on": a.relay.signed_on.isoformat(),
                    "term_years": a.relay.term_years,
                    "document_ref": a.relay.document_ref,
                    **a.relay.terms.body(),
                }
            path = f"/villages/{a.village}/agreements/{self.agreement_ids[a.key]}/termination"
            await self.api.post("pairing", path, Role.federation_officer, self.county, body)

    async def _cooperative(self, c: Cooperative) -> None:
        township = c.village[:9]
        body = {"code": c.code, "name": c.name, "village_code": c.village, "leading_industry": c.industry}
        made = await self.api.post("pairing", "/cooperatives", Role.township_officer, township, body)
        self.cooperative_ids[c.key] = made["id"]
        if c.enterprise is not None and c.enterprise_since is not None:
            binding = {
                "kind": "enterprise_cooperative",
                "enterprise_id": self.enterprise_ids[c.enterprise],
                "form": "order",
                "started_on": c.enterprise_since.isoformat(),
            }
            await self.api.post(
                "pairing", f"/cooperatives/{made['id']}/bindings", Role.township_officer, township, binding
            )

    # -- monitoring ------------------------------------------------------------------------------------

    async def _households(self) -> None:
        """Register every household (its village's officer), then the flags officers raised before
        the surveys came in."""
        api = self.api

        async def register(h: Household) -> None:
            made = await api.post(
                "monitoring", "/households", Role.village_officer, h.profile.village, h.profile.body()
            )
            self.household_ids[h.key] = made["id"]

        await api.gather(*(register(h) for h in self.data.households))
        await api.gather(*(self._step(c, c.opening) for c in self.data.cases if c.opening is not None))
        s = self.summary
        s.households = len(self.data.households)
        s.people = sum(len(h.profile.members) for h in self.data.households)

    async def _surveys(self) -> None:
        """The four quarters as the provincial platform's batches, oldest first; then the annual
        surveys, one by one (the import takes quarterly surveys only)."""
        api, data, s = self.api, self.data, self.summary
        households = list(data.households)
        for index, quarter in enumerate(data.quarters):
            batch = survey_batch(households, index)
            report = await api.call(
                "monitoring",
                "POST",
                "/imports/surveys",
                Role.platform,
                self.county[:2],
                params={"batch_id": f"DEMO-{self.county}-{quarter.name}-S{data.seed}"},
                files={"file": (f"季度监测-{quarter.name}.csv", batch, "text/csv")},
                wait_s=600,
            )
            s.survey_batches += 1
            s.quarterly_surveys += report["imported"] + report["unchanged"]
            s.flagged_by_rules += report["flagged"]
            if report["rejected"] or report["households_created"]:
                rejected, created = report["rejected"], report["households_created"]
                s.warnings.append(
                    f"import {quarter.name}: {rejected} rows rejected, {created} households created; "
                    f"first errors: {report['errors'][:3]}"
                )

        async def annual(h: Household) -> None:
            path = f"/households/{self.household_ids[h.key]}/surveys"
            answer = await api.post(
                "monitoring", path, Role.village_officer, h.profile.village, h.annual.body()
            )
            if answer.get("flag"):
                s.warnings.append(f"{h.key}: its annual survey raised a flag ({answer['flag']['rules']})")

        await api.gather(*(annual(h) for h in households if h.annual is not None))
        s.annual_surveys = sum(h.annual is not None for h in households)

    async def _cases(self) -> None:
        await self.api.gather(*(self._case(c) for c in self.data.cases))
        s = self.summary
        s.stages = dict(Counter(self.stage_of.get(c.household) or "rejected" for c in self.data.cases))

    async def _case(self, case: Case) -> None:
        try:
            if case.source == "rule":
                await self._ensure_flagged(case)
            for step in case.later_steps:
                await self._step(case, step)
        except Refused as refused:
            self.summary.warnings.append(f"case {case.household} ({case.outcome}) stopped: {refused}")

    async def _ensure_flagged(self, case: Case) -> None:
        """A rule-flagged case: the import flagged it unless the deployment's monitoring line is
        lower than the demo's incomes assume; then a cadre's visit flags it that day."""
        flag = Step(
            "flags",
            "village_officer",
            case.flagged_on,
            {
                "source": "cadre_visit",
                "risk_types": ["income_drop"],
                "flagged_on": case.flagged_on.isoformat(),
                "note": "季度监测收入低于监测范围",
            },
        )
        try:
            await self._step(case, flag)
            self.summary.warnings.append(
                f"{case.household}: the survey raised no flag (is the monitoring line lower?)"
            )
        except Refused as refused:
            if refused.rule != "one_open_procedure":
                raise
            self.stage_of[case.household] = "flagged"

    async def _step(self, case: Case, step: Step) -> None:
        household_id = self.household_ids[case.household]
        village = self.households[case.household].profile.village
        role = Role(step.role)
        region = {Role.village_officer: village, Role.township_officer: village[:9]}.get(role, self.county)
        if step.action == "department-alerts":
            path, body = "/department-alerts", {**step.body, "household_id": household_id}
        else:
            path, body = f"/households/{household_id}/{step.action}", step.body
        answer = await self.api.post("monitoring", path, role, region, body)
        # a flag or an alert answers without the stage: it is "flagged"
        self.stage_of[case.household] = answer.get("stage", "flagged")
        if step.action == "contact":
            self.summary.contacts += 1
        elif step.action == "assistance-deliveries":
            self.summary.deliveries_of_assistance += 1

    async def _bindings_and_indicators(self) -> None:
        api, data = self.api, self.data
        by_cooperative: dict[str, list[Binding]] = {}
        for b in data.bindings:
            by_cooperative.setdefault(b.cooperative, []).append(b)

        async def bind(cooperative: str, bindings: list[Binding]) -> None:
            # one cooperative's bindings in turn: they change its stream
            cooperative_id = self.cooperative_ids[cooperative]
            township = next(c.village[:9] for c in data.cooperatives if c.key == cooperative)
            for b in bindings:
                village = self.households[b.household].profile.village
                body = {
                    "kind": "cooperative_household",
                    "household_id": self.household_ids[b.household],
                    "household_village_code": village,
                    "form": b.form,
                    "started_on": b.started_on.isoformat(),
                }
                if b.ends_on is not None:
                    body["ends_on"] = b.ends_on.isoformat()
                region = township if village.startswith(township) else self.county
                role = Role.township_officer if region == township else Role.county_officer
                path = f"/cooperatives/{cooperative_id}/bindings"
                made = await api.post("pairing", path, role, region, body)
                if b.ended_on is not None:
                    end = {"ended_on": b.ended_on.isoformat(), "reason": "农户自愿退社"}
                    await api.post("pairing", f"{path}/{made['id']}/end", role, region, end)

        await api.gather(*(bind(c, group) for c, group in by_cooperative.items()))
        self.summary.bindings = len(data.bindings)
        year = data.today.year
        for code, value, note in ENTERED_INDICATORS:  # one stream per region: in turn
            entry = {"region_code": self.county, "year": year, "current": value, "note": note}
            await api.call(
                "reporting", "PUT", f"/indicators/{code}", Role.county_officer, self.county, json=entry
            )
        self.summary.indicators = len(ENTERED_INDICATORS)

    # -- reporting and notification ------------------------------------------------------------------

    async def _reporting(self, baseline: dict[str, Any]) -> None:
        """Wait for the reporting service to hold what was loaded, judge the cards, close the period."""
        expected = self._expected(baseline)
        last: dict[str, Any] = {}

        async def settled() -> bool:
            nonlocal last
            last = await self._figures()
            return all(last.get(k) == v for k, v in expected.items())

        if not await _until(settled, self.settle_s):
            off = {k: (last.get(k), v) for k, v in expected.items() if last.get(k) != v}
            self.summary.warnings.append(
                f"reporting did not show everything within {self.settle_s:.0f} s: {off}"
            )
        officer, county = Role.county_officer, self.county
        checked = await self.api.post("reporting", "/cards/check", officer, county, {})
        judged = Counter(change["card"] for change in checked["changes"])

        async def cards_shown() -> bool:
            board = (await self.api.get("reporting", "/dashboard/summary", Role.viewer, county))["cards"][
                "counts"
            ]
            self.summary.cards = dict(board)
            return all(board.get(colour, 0) >= n for colour, n in judged.items() if colour != "green")

        await _until(cards_shown, 15)
        await self._close()

    def _expected(self, baseline: dict[str, Any]) -> dict[str, Any]:
        data = self.data
        stages = Counter(self.stage_of.get(c.household) for c in data.cases)
        expected = {
            "villages": baseline["villages"] + len(data.villages),
            "active_agreements": baseline["active_agreements"]
            + sum(a.terminated_on is None for a in data.agreements)
            + sum(a.relay is not None for a in data.agreements),
            "projects": baseline["projects"] + len(data.projects),
            "invested_yuan": baseline["invested_yuan"] + sum((p.invested for p in data.projects), Decimal(0)),
            "monitored": baseline["monitored"] + sum(stages[s] for s in MONITORED),
            "households": baseline["households"] + len(data.households),
        }
        for stage in STAGES:
            expected[f"stage:{stage}"] = baseline.get(f"stage:{stage}", 0) + stages[stage]
        return expected

    async def _close(self) -> None:
        path = f"/periods/{self.county}/{self.data.period.name}/close"
        for _ in range(12):
            response = await self.api.send("reporting", "POST", path, Role.county_officer, self.county)
            if response.status_code == 503:  # the projections are still taking events in
                await asyncio.sleep(5)
                continue
            if response.status_code == 409:
                self.summary.period_closed = True
                self.summary.warnings.append(f"{self.data.period.name} was closed before the demo")
                return
            if response.status_code not in (200, 201):
                raise Refused("POST", f"reporting{path}", response.status_code, response.text)
            closed = response.json()
            self.summary.period_closed, self.summary.period_late = True, bool(closed.get("late"))
            return
        self.summary.warnings.append(
            f"{self.data.period.name} could not be closed: reporting kept catching up"
        )

    async def _notifications(self) -> None:
        """Raise the reminders due today (contacts overdue) and wait a while for the e-mails to go."""
        officer, county = Role.county_officer, self.county
        for _ in range(6):
            response = await self.api.send("notification", "POST", "/reminders/check", officer, county)
            if response.status_code != 503:
                break
            await asyncio.sleep(5)

        async def count(status: str) -> int:
            found = await self.api.get(
                "notification", "/deliveries", officer, county, status=status, page_size="1"
            )
            return int(found["total"])

        async def sent() -> bool:
            return await count("pending") + await count("sending") == 0 and await count("delivered") > 0

        await _until(sent, 30)
        statuses = ("pending", "sending", "delivered", "failed")
        self.summary.notifications = {s: n for s in statuses if (n := await count(s))}


async def _until(condition: Callable[[], Any], seconds: float, every: float = 0.5) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if await condition():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every)


# -- the command ------------------------------------------------------------------------------------


def service_urls() -> dict[str, str]:
    """Where ``xingcun up`` said the services listen (its runtime env; the environment wins)."""
    return {
        s: os.environ[f"XINGCUN_{s.upper()}_URL"]
        for s in SERVICES
        if os.environ.get(f"XINGCUN_{s.upper()}_URL")
    }


def demo_command(seed: int = 1, scale: float = 1.0, concurrency: int = 12, county: str | None = None) -> int:
    """``xingcun demo``: load the demo county into the services a running ``xingcun up`` started;
    print what was loaded and where to look. 0 when the county is loaded (now or before)."""
    from shared.runtime.state import DATA_DIR, auth_secret
    from shared.settings import Settings

    urls = service_urls()
    missing = [s for s in SERVICES if s not in urls]
    if missing:
        where = DATA_DIR / "runtime.env"
        print(
            f"no running `xingcun up` found ({where} names no URL for {', '.join(missing)}): "
            "start `make up` first, or set XINGCUN_<SERVICE>_URL"
        )
        return 1
    county = county or min(Settings().county_codes or {"150602"})
    token_for = tokens_signed_with(auth_secret().encode())
    try:
        summary = asyncio.run(_load(urls, token_for, seed, scale, concurrency, county))
    except DemoError as exc:
        print(f"xingcun demo stopped: {exc}")
        return 1
    print(summary.report())
    if summary.already_loaded:
        return 0 if summary.complete else 1
    link = f"{urls['reporting']}/dashboard#token={token_for(Role.county_officer, county)}"
    print(f"  look at       {link}")
    mail = (DATA_DIR / "mail").resolve()
    print(f"                (a county officer's token, 12 h; e-mailed alerts in {mail})")
    return 0


async def _load(
    urls: Mapping[str, str], token_for: TokenFor, seed: int, scale: float, concurrency: int, county: str
) -> DemoSummary:
    limits = httpx.Limits(max_connections=concurrency + 2, max_keepalive_connections=concurrency + 2)
    clients = {s: httpx.AsyncClient(base_url=url, timeout=60, limits=limits) for s, url in urls.items()}
    try:
        return await load_demo(
            clients,
            token_for,
            seed=seed,
            scale=scale,
            county=county,
            concurrency=concurrency,
            progress=lambda line: print(line, flush=True),
        )
    finally:
        for client in clients.values():
            await client.aclose()
