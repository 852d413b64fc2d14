"""Rebuild every reporting view from N stored events and print what it sustained.

    .venv/bin/python bench/rebuild.py [--n 1000000] [--keep]

On fresh, isolated streams and a fresh reporting database on the machine's PostgreSQL and NATS
(or ``--database-url``/``--nats-url``, ``XINGCUN_DATABASE_URL``/``XINGCUN_NATS_URL``), removed at
the end unless ``--keep``:

1. generate (not timed): a synthetic province's events, valid against the catalogue's models, in a
   realistic order — villages, enterprises, agreements, projects with tranches and milestones,
   cooperatives and 双绑 bindings on ``PAIRING``; households registered, four quarterly surveys and
   an annual one each, a tenth of them flagged and taken through enrolment to assistance, and a
   few flags rejected, on ``MONITORING`` (about 97 % of the events) — published to JetStream.
2. rebuild (timed): every reporting projection fed by those streams is reset and replayed from
   the first event, all at once, as ``xingcun rebuild`` does each (shared/messaging/replay.py).

``events_per_s``: events read over the wall time of the rebuild. ``reference_ms``: the time a
fixed piece of CPU work took just before (the VM's speed of the moment; compare runs with it).
``rss_mb``: this process's resident memory sampled through the rebuild (first, at each quarter
of the time, peak): it must not grow with the number of events. ``cpu_ms_per_event``: this
process and the PostgreSQL backends of the run. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/rebuild.py` puts bench/, not the repo, on the path
    sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
import uvloop  # noqa: E402

from services.reporting.app import PROJECTIONS  # noqa: E402
from shared.db import migrate  # noqa: E402
from shared.db.engine import asyncpg_dsn, create_engine, ensure_database  # noqa: E402
from shared.events.catalogue import monitoring as m  # noqa: E402
from shared.events.catalogue import pairing as p  # noqa: E402
from shared.events.envelope import EventData  # noqa: E402
from shared.events.subjects import stream_for, subject_for  # noqa: E402
from shared.messaging.projector import Projector  # noqa: E402
from shared.messaging.replay import REBUILD_BATCH, rebuild  # noqa: E402
from shared.messaging.streams import connect, ensure_stream  # noqa: E402
from shared.runtime.collector import tune_collector  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.support.isolation import cleanup, isolated_settings  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
EVENTS_PER_HOUSEHOLD = 7.2  # what the monitoring mix below averages, pairing included
SEALED = "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
START = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
ACTOR = {"id": "bench", "role": "platform", "region_code": "15"}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Streams:
    """Envelopes per stream id with their versions, as the services would have stored them."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.clock = START

    def envelope(self, stream_id: str, region: str, event: EventData) -> tuple[str, bytes, str]:
        version = self.versions.get(stream_id, 0) + 1
        self.versions[stream_id] = version
        self.clock += timedelta(milliseconds=3)
        at = self.clock.isoformat()
        event_id = str(uuid.uuid4())
        body = {
            "event_id": event_id,
            "type": event.event_type,
            "schema_version": event.schema_version,
            "stream_id": stream_id,
            "stream_version": version,
            "region_code": region,
            "occurred_at": at,
            "recorded_at": at,
            "actor": ACTOR,
            "correlation_id": None,
            "causation_id": None,
            "data": event.model_dump(mode="json"),
        }
        return event.event_type, json.dumps(body, ensure_ascii=False).encode(), event_id


def village_code(n: int) -> str:
    county = 150600 + 1 + (n // 3000) % 90
    return f"{county}{100 + (n // 30) % 100:03d}{n % 30 + 1:03d}"


def pairing_events(
    villages: int, households_of: dict[str, list[uuid.UUID]]
) -> Iterator[tuple[str, str, EventData]]:
    rng = random.Random(7)
    for v in range(villages):
        code = village_code(v)
        stream = f"village-{code}"
        yield (
            stream,
            code,
            p.VillageRegistered(village_code=code, name=f"村{v}", category=p.VillageCategory.key_support),
        )
        for year in (2024, 2025):
            yield (
                stream,
                code,
                p.VillageIncomeRecorded(village_code=code, year=year, income_yuan=rng.randint(5, 80) * 10000),
            )
        enterprise = uuid.uuid4()
        yield (
            f"enterprise-{enterprise}",
            code,
            p.EnterpriseRegistered(
                enterprise_id=enterprise,
                name=f"企业{v}",
                credit_code=f"91{code[:6]}{v:09d}X",
                kind=p.EnterpriseKind.private_enterprise,
                county_code=code[:6],
            ),
        )
        agreement = uuid.uuid4()
        yield (
            stream,
            code,
            p.AgreementSigned(
                agreement_id=agreement,
                enterprise_id=enterprise,
                village_code=code,
                signed_on=date(2026, 1, 10),
                term_years=3,
                document_ref=f"XC-{v}",
                pathways=[p.Pathway.industry, p.Pathway.employment],
                mode=p.Mode.order_farming,
                commitments=p.Commitments(investment_yuan=1_500_000, jobs=20, trainees=5),
            ),
        )
        for k in range(2):
            project = uuid.uuid4()
            pstream = f"project-{project}"
            yield (
                pstream,
                code,
                p.ProjectRegistered(
                    project_id=project,
                    village_code=code,
                    agreement_ids=[agreement],
                    enterprise_ids=[enterprise],
                    name=f"项目{v}-{k}",
                    industry="cattle",
                    budget_yuan=3_000_000,
                    funding=[p.Funding(source=p.FundingSource.enterprise, amount_yuan=3_000_000)],
                    shareholding=[p.Share(holder=p.HolderKind.village_collective, percent=100)],
                    beneficiary_households=50,
                    jobs=10,
                    milestones=[
                        p.MilestonePlan(milestone_id="design", name="设计", due_on=date(2026, 3, 31)),
                        p.MilestonePlan(milestone_id="built", name="建成", due_on=date(2026, 9, 30)),
                    ],
                ),
            )
            for tranche in (1, 2, 3):
                yield (
                    pstream,
                    code,
                    p.ProjectInvestmentRecorded(
                        project_id=project,
                        village_code=code,
                        tranche=tranche,
                        source=p.FundingSource.enterprise,
                        amount_yuan=500_000,
                        invested_on=date(2026, tranche * 2, 1),
                    ),
                )
            yield (
                pstream,
                code,
                p.ProjectMilestoneReached(
                    project_id=project,
                    village_code=code,
                    milestone_id="design",
                    reached_on=date(2026, 3, 1),
                    evidence_ref="x",
                ),
            )
        cooperative = uuid.uuid4()
        cstream = f"cooperative-{cooperative}"
        yield (
            cstream,
            code,
            p.CooperativeRegistered(
                cooperative_id=cooperative,
                code=f"93{code[:6]}{v:09d}Y",
                name=f"合作社{v}",
                village_code=code,
                leading_industry="cattle",
            ),
        )
        for household in households_of.get(code, [])[::4]:
            yield (
                cstream,
                code,
                p.BindingEstablished(
                    binding_id=uuid.uuid4(),
                    kind=p.BindingKind.cooperative_household,
                    cooperative_id=cooperative,
                    household_id=household,
                    household_village_code=code,
                    form=p.BindingForm.order,
                    started_on=date(2026, 2, 1),
                ),
            )


def _member(n: int) -> m.Member:
    return m.Member(
        member_no=n,
        relation=m.Relation.head if n == 1 else m.Relation.child,
        age=50 if n == 1 else 12,
        labour=m.LabourAbility.ordinary if n == 1 else m.LabourAbility.none,
        schooling=m.Schooling.junior_secondary if n == 1 else m.Schooling.compulsory_in_school,
        sealed=SEALED,
    )


def monitoring_events(households: list[tuple[uuid.UUID, str]]) -> Iterator[tuple[str, str, EventData]]:
    """In the order a province's year goes: registrations, then each quarter's surveys, the annual
    survey, and the flagged households' procedures."""
    members = [_member(1), _member(2), _member(3)]
    for hid, code in households:
        yield (
            f"household-{hid}",
            code,
            m.HouseholdRegistered(
                household_id=hid,
                village_code=code,
                status=m.HouseholdStatus.former_poor,
                members=members,
                sealed=SEALED,
            ),
        )
    for quarter in (1, 2, 3, 4):
        for i, (hid, code) in enumerate(households):
            income = 6500 if i % 10 == 0 else 9000 + i % 5000
            yield (
                f"household-{hid}",
                code,
                m.HouseholdSurveyed(
                    household_id=hid,
                    survey_id=uuid.uuid4(),
                    period=f"2026Q{quarter}",
                    surveyed_on=date(2026, quarter * 3, 28),
                    quarterly=m.QuarterlySurvey(members=3, per_capita_net_income_yuan=income),
                ),
            )
    for hid, code in households:
        yield (
            f"household-{hid}",
            code,
            m.HouseholdSurveyed(
                household_id=hid,
                survey_id=uuid.uuid4(),
                period="2026",
                surveyed_on=date(2026, 12, 20),
                annual=m.AnnualSurvey(
                    pension_insured=2, medical_insured_all=True, housing_safe=True, drinking_water_safe=True
                ),
            ),
        )
    for i, (hid, code) in enumerate(households):
        if i % 10 == 0:
            yield from _procedure(hid, code, rejected=i % 30 == 0)


def _procedure(hid: uuid.UUID, code: str, rejected: bool) -> Iterator[tuple[str, str, EventData]]:
    stream, flag = f"household-{hid}", uuid.uuid4()
    risks = [m.RiskType.illness]
    day = date(2026, 10, 1)
    yield (
        stream,
        code,
        m.HouseholdFlagged(
            household_id=hid, flag_id=flag, source=m.FlagSource.rule, risk_types=risks, flagged_on=day
        ),
    )
    if rejected:
        yield (
            stream,
            code,
            m.FlagRejected(
                household_id=hid,
                flag_id=flag,
                stage=m.Stage.flagged,
                reason="不符合",
                rejected_on=day + timedelta(days=3),
            ),
        )
        return
    enrol = m.Procedure.enrolment
    yield (
        stream,
        code,
        m.HouseholdVerified(
            household_id=hid,
            procedure=enrol,
            verified_on=day + timedelta(3),
            risk_types=risks,
            findings="属实",
        ),
    )
    yield (
        stream,
        code,
        m.HouseholdDeliberated(
            household_id=hid,
            procedure=enrol,
            deliberated_on=day + timedelta(6),
            votes_for=11,
            votes_against=1,
            notice_from=day + timedelta(6),
            notice_until=day + timedelta(11),
        ),
    )
    yield (
        stream,
        code,
        m.HouseholdReviewed(
            household_id=hid, procedure=enrol, reviewed_on=day + timedelta(12), opinion="同意"
        ),
    )
    yield (
        stream,
        code,
        m.HouseholdEnrolled(
            household_id=hid,
            flag_id=flag,
            category=m.MonitoredCategory.marginal_at_risk,
            risk_types=risks,
            enrolled_on=day + timedelta(15),
            contact_due_on=day + timedelta(30),
        ),
    )
    yield (
        stream,
        code,
        m.ContactAssigned(
            household_id=hid, contact_name="干部", contact_unit="乡政府", assigned_on=day + timedelta(18)
        ),
    )
    yield (
        stream,
        code,
        m.AssistancePlanned(
            household_id=hid,
            plan_id=uuid.uuid4(),
            planned_on=day + timedelta(19),
            measures=[
                m.PlannedMeasure(
                    measure=m.AssistanceMeasure.health, risk_type=m.RiskType.illness, description="医疗救助"
                )
            ],
        ),
    )
    yield (
        stream,
        code,
        m.AssistanceDelivered(
            household_id=hid,
            delivery_id=uuid.uuid4(),
            measure=m.AssistanceMeasure.health,
            delivered_on=day + timedelta(25),
            description="报销",
            amount_yuan=2000,
        ),
    )


async def publish(
    settings: Settings, service: str, events: Iterator[tuple[str, str, EventData]], streams: Streams
) -> int:
    nc = await connect(settings.nats_url, "bench-rebuild-publish")
    js = nc.jetstream(publish_async_max_pending=4000)
    spec = stream_for(settings, service)  # type: ignore[arg-type]
    await ensure_stream(js, spec, owner=True)
    count = 0
    try:
        for stream_id, region, event in events:
            event_type, payload, event_id = streams.envelope(stream_id, region, event)
            await js.publish_async(
                subject_for(settings.subject_root, region, event_type),
                payload,
                headers={"Nats-Msg-Id": event_id},
            )
            count += 1
            if count % 100_000 == 0:
                log(f"{service}: {count} published")
        await asyncio.wait_for(js.publish_async_completed(), 120)
    finally:
        await nc.close()
    return count


class RssSampler:
    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def rss_mb() -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    async def _run(self) -> None:
        while True:
            self.samples.append(self.rss_mb())
            await asyncio.sleep(0.25)

    def __enter__(self) -> RssSampler:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.samples.append(self.rss_mb())

    def summary(self) -> dict[str, float]:
        s = self.samples
        quarter = [s[min(len(s) - 1, len(s) * k // 4)] for k in (1, 2, 3)]
        return {
            "first": round(s[0], 1),
            "q1": round(quarter[0], 1),
            "half": round(quarter[1], 1),
            "q3": round(quarter[2], 1),
            "last": round(s[-1], 1),
            "peak": round(max(s), 1),
        }


def machine_reference_ms() -> float:
    """This VM's speed now: the milliseconds one fixed piece of CPU work takes (parsing 20,000
    copies of one envelope). Runs on these VMs drift by a third within an hour; a rebuild's
    events/s is comparable between runs only together with this figure."""
    streams = Streams()
    _, payload, _ = streams.envelope(
        "village-150601100001",
        "150601100001",
        p.VillageRegistered(village_code="150601100001", name="村", category=p.VillageCategory.key_support),
    )
    from shared.events.envelope import Envelope

    started = time.perf_counter()
    for _ in range(20_000):
        Envelope.model_validate_json(payload)
    return round((time.perf_counter() - started) * 1000, 1)


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


async def measure(settings: Settings, n: int, batch: int) -> dict[str, Any]:
    households_n = max(100, int(n / EVENTS_PER_HOUSEHOLD))
    villages = max(1, households_n // 400)
    households = [(uuid.uuid4(), village_code(i % villages)) for i in range(households_n)]
    by_village: dict[str, list[uuid.UUID]] = {}
    for hid, code in households:
        by_village.setdefault(code, []).append(hid)
    streams = Streams()
    log(f"generating and publishing: {households_n} households in {villages} villages")
    started = time.perf_counter()
    published = {
        "pairing": await publish(settings, "pairing", pairing_events(villages, by_village), streams),
        "monitoring": await publish(settings, "monitoring", monitoring_events(households), streams),
    }
    log(f"published {published} in {time.perf_counter() - started:.0f} s")
    del households, by_village, streams

    await ensure_database(settings.database_url, settings.database_name("reporting"))
    engine = create_engine(
        settings.service_database_url("reporting"), application="bench-rebuild", pool_size=4
    )
    await migrate.upgrade(engine, "reporting")
    nc = await connect(settings.nats_url, "bench-rebuild")
    js = nc.jetstream()
    probe = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        for source in ("pairing", "monitoring", "reporting"):
            await ensure_stream(js, stream_for(settings, source), owner=True)  # type: ignore[arg-type]
        projectors = [
            (Projector(engine, consumed.build(), max_attempts=settings.max_apply_attempts), consumed.source)
            for consumed in PROJECTIONS.values()
        ]
        database = settings.database_name("reporting")

        async def backends() -> dict[int, float]:
            rows = await probe.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
            return {r[0]: cpu_seconds(r[0]) for r in rows}

        tune_collector()  # as `xingcun rebuild` and every service do
        reference = machine_reference_ms()
        log("rebuilding")
        pg_before, own_before = await backends(), cpu_seconds(os.getpid())
        started = time.perf_counter()
        with RssSampler() as rss:
            counts = await asyncio.gather(
                *(
                    rebuild(projector, js, stream_for(settings, source), batch_size=batch)
                    for projector, source in projectors
                )  # type: ignore[arg-type]
            )
            pg_after = await backends()
        seconds = time.perf_counter() - started
        own = cpu_seconds(os.getpid()) - own_before
        postgres = sum(v - pg_before.get(pid, 0.0) for pid, v in pg_after.items())
        read = sum(counts)
        async with engine.connect() as conn:
            from sqlalchemy import text

            rows = {
                t: (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar()
                for t in (
                    "household_history",
                    "household_surveys",
                    "household_facts",
                    "ledger_bindings",
                    "ledger_investments",
                )
            }
        return {
            "n": read,
            "batch": batch,
            "published": published,
            "seconds": round(seconds, 1),
            "events_per_s": round(read / seconds),
            "by_projection": {p.name: c for (p, _), c in zip(projectors, counts, strict=True)},
            "cpu_ms_per_event": {
                "bench": round(own * 1000 / read, 3),
                "postgres": round(postgres * 1000 / read, 3),
            },
            "rss_mb": rss.summary(),
            "peak_rss_mb_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "rows": rows,
            "reference_ms": reference,
        }
    finally:
        await probe.close()
        await nc.close()
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="events to store and rebuild from (about)")
    parser.add_argument(
        "--database-url", default=os.environ.get("XINGCUN_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--nats-url", default=os.environ.get("XINGCUN_NATS_URL", DEFAULT_NATS_URL))
    parser.add_argument("--keep", action="store_true", help="keep the databases and streams")
    parser.add_argument(
        "--batch", type=int, default=REBUILD_BATCH, help="events a replay applies per transaction"
    )
    args = parser.parse_args()
    settings = isolated_settings(args.database_url, args.nats_url)
    try:
        result = await measure(settings, args.n, args.batch)
        result["at"] = datetime.now(UTC).isoformat(timespec="seconds")
        print(json.dumps(result, ensure_ascii=False))
    finally:
        if not args.keep:
            await cleanup(settings)


if __name__ == "__main__":
    uvloop.run(main())  # as `xingcun rebuild` runs
