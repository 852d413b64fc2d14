"""Sign N agreements through the real stack and print what each stage sustained, as JSON lines.

    .venv/bin/python bench/pipeline.py [--n 4000] [--writers 16] [--rate 200] [--seconds 5]
                                       [--mode command|http|both]

Stages: command → events table (append) → outbox relay → JetStream → reporting projector →
``ledger_agreements`` (projected). Each mode runs on fresh, isolated databases, subject root and
streams on the given PostgreSQL and NATS (the machine's by default), and removes them at the end.

- ``command``: pairing runs in this process (its lifespan: relay included) and the writers call
  ``PairingCommands.sign_agreement`` directly; reporting runs as a uvicorn child process, as it
  would be deployed (``--inprocess`` runs it in this process too).
- ``http``: pairing and reporting both run as uvicorn child processes; the writers POST
  ``/agreements``, each request through an ``httpx.AsyncClient`` of its own (one per writer).

Villages (N/5) and enterprises (N), and those of the latency phase, are registered (untimed, through
the command handlers) and projected before anything is timed. Then:

1. throughput: ``--writers`` writers sign N agreements as fast as they can. ``appended_per_s`` is
   N over the time the commands took; ``relayed_per_s`` N over the relay's active window (its
   cursor, ``relay_cursor.relayed``, polled); ``projected_per_s`` N over the projector's window
   (``min``/``max`` of ``ledger_agreements.projected_at``); ``end_to_end_per_s`` N over the time
   from the first command to the last ledger row. ``cpu_ms_per_agreement``: CPU time of this
   process, of the children and of the run's PostgreSQL backends over this phase, per agreement
   (a backend that exits during the phase is not counted).
2. latency: agreements started at a steady ``--rate`` for ``--seconds``; per agreement
   ``projected_at - signed_event_at`` (the envelope's ``recorded_at``, taken just before the
   command runs), p50/p99 in ms. ``command_ms`` is what the caller waited for the command,
   ``after_command_ms`` the time from its return to the ledger row (relay, JetStream, projector).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/pipeline.py` puts bench/, not the repo, on the path
    sys.path.insert(0, str(REPO))

try:
    import sniffio  # noqa: F401
except ImportError:
    # httpcore asks for sniffio on every request; when it is not installed each ask is a failed
    # import that searches sys.path again (a quarter of this process's CPU in HTTP mode). None in
    # sys.modules fails the import at once, with the same outcome (asyncio).
    sys.modules["sniffio"] = None  # type: ignore[assignment]

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from services.pairing.commands import (  # noqa: E402
    PairingCommands,
    RegisterEnterprise,
    RegisterVillage,
    SignAgreement,
)
from services.pairing.domain import enterprise_id_for  # noqa: E402
from shared.auth import Role  # noqa: E402
from shared.db.engine import asyncpg_dsn, create_pool  # noqa: E402
from shared.events.envelope import Actor  # noqa: E402
from shared.eventstore.context import CommandContext  # noqa: E402
from shared.eventstore.store import ConcurrencyConflict, EventStore  # noqa: E402
from shared.ids import uuid7  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.support.apps import ServiceProcess, token  # noqa: E402
from tests.support.isolation import cleanup, isolated_settings  # noqa: E402
from tests.support.pairing import (  # noqa: E402
    agreement_body,
    credit_code,
    enterprise_body,
    village_body,
    village_code,
)

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
ACTOR = Actor(id="bench", role=Role.federation_officer.value, region_code="")
MAX_RETRIES = 5
STALL_TIMEOUT_S = 120.0


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def context() -> CommandContext:
    return CommandContext(actor=ACTOR, now=datetime.now(UTC), correlation_id=str(uuid.uuid4()))


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


@dataclass(frozen=True)
class Plan:
    """Which enterprise and village each agreement pairs: agreement i of a phase takes the
    phase's enterprise i and village i mod V, so one village's agreements are V apart."""

    n: int
    latency_n: int

    @property
    def villages(self) -> int:
        return self.throughput_villages + self.latency_villages

    @property
    def throughput_villages(self) -> int:
        return math.ceil(self.n / 5)

    @property
    def latency_villages(self) -> int:
        return math.ceil(self.latency_n / 5)

    @property
    def enterprises(self) -> int:
        return self.n + self.latency_n

    def pair(self, phase: str, i: int) -> tuple[str, str]:
        return self._pairs[phase][i]

    @functools.cached_property
    def _pairs(self) -> dict[str, list[tuple[str, str]]]:
        # Worked out once, before anything is timed (a credit code's check character and a
        # uuid5 each are not the services' work).
        tv, lv = self.throughput_villages, self.latency_villages
        return {
            "throughput": [
                (str(enterprise_id_for(credit_code(i))), village_code(i % tv)) for i in range(self.n)
            ],
            "latency": [
                (str(enterprise_id_for(credit_code(self.n + i))), village_code(tv + i % lv))
                for i in range(self.latency_n)
            ],
        }


class CpuMeter:
    """CPU seconds (user + system, from /proc) of named processes and of the PostgreSQL backends
    serving the run's databases, per agreement: where the work goes, and a figure that other
    load on the machine inflates much less than it inflates the wall-clock rates."""

    def __init__(self, pids: dict[str, int], reporting: asyncpg.Connection, prefix: str) -> None:
        self.pids = pids
        self.reporting = reporting
        self.prefix = prefix
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def _cpu(self, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / self._tick
        except (OSError, IndexError, ValueError):
            return 0.0

    async def snapshot(self) -> dict[str, Any]:
        backends = await self.reporting.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname LIKE $1", self.prefix + "%"
        )
        return {
            "processes": {name: self._cpu(pid) for name, pid in self.pids.items()},
            "postgres": {r[0]: self._cpu(r[0]) for r in backends},
        }

    @staticmethod
    def ms_per(before: dict[str, Any], after: dict[str, Any], n: int) -> dict[str, float]:
        result = {
            name: round((after["processes"][name] - before["processes"][name]) * 1000 / n, 2)
            for name in after["processes"]
        }
        spent = sum(v - before["postgres"].get(pid, 0.0) for pid, v in after["postgres"].items())
        result["postgres"] = round(spent * 1000 / n, 2)
        return result


@dataclass
class Counters:
    conflicts_retried: int = 0
    command_s: list[float] = field(default_factory=list)


Signer = Callable[[str, str], Awaitable[uuid.UUID]]


def command_signer(commands: PairingCommands, counters: Counters) -> Signer:
    async def sign(enterprise_id: str, village: str) -> uuid.UUID:
        cmd = SignAgreement(**agreement_body(enterprise_id, village))
        for _ in range(MAX_RETRIES):
            try:
                return await commands.sign_agreement(context(), cmd, uuid7())
            except ConcurrencyConflict:
                counters.conflicts_retried += 1
        raise RuntimeError(f"village {village}: still conflicting after {MAX_RETRIES} tries")

    return sign


def http_signer(clients: asyncio.Queue[httpx.AsyncClient], counters: Counters) -> Signer:
    """Each request takes a client of its own from ``clients`` (one connection each): httpcore
    scans every connection of a pool at each request, which made a shared 32-connection pool
    cost this process more CPU than the service it measures."""

    async def sign(enterprise_id: str, village: str) -> uuid.UUID:
        client = await clients.get()
        try:
            return await post_agreement(client, enterprise_id, village, counters)
        finally:
            clients.put_nowait(client)

    return sign


async def post_agreement(
    client: httpx.AsyncClient, enterprise_id: str, village: str, counters: Counters
) -> uuid.UUID:
    body = agreement_body(enterprise_id, village)
    for _ in range(MAX_RETRIES):
        response = await client.post("/agreements", json=body)
        if response.status_code == 201:
            return uuid.UUID(response.json()["id"])
        if response.status_code == 409 and "concurrent_change" in response.text:
            counters.conflicts_retried += 1
            continue
        raise RuntimeError(f"POST /agreements: {response.status_code} {response.text}")
    raise RuntimeError(f"village {village}: still conflicting after {MAX_RETRIES} tries")


async def run_writers(count: int, writers: int, work: Callable[[int], Awaitable[None]]) -> None:
    """``writers`` concurrent loops taking items 0..count-1 from one shared iterator."""
    items = iter(range(count))

    async def writer() -> None:
        for i in items:
            await work(i)

    await asyncio.gather(*(writer() for _ in range(writers)))


async def preregister(commands: PairingCommands, plan: Plan, writers: int) -> None:
    async def village(i: int) -> None:
        await commands.register_village(context(), RegisterVillage(**village_body(i)))

    async def enterprise(i: int) -> None:
        await commands.register_enterprise(context(), RegisterEnterprise(**enterprise_body(i)))

    await run_writers(plan.villages, writers, village)
    await run_writers(plan.enterprises, writers, enterprise)


class Probe:
    """Reads the stages' progress straight from the pairing and reporting databases."""

    def __init__(self, pairing: asyncpg.Connection, reporting: asyncpg.Connection) -> None:
        self.pairing = pairing
        self.reporting = reporting

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[Probe]:
        pairing = await asyncpg.connect(asyncpg_dsn(settings.service_database_url("pairing")))
        reporting = await asyncpg.connect(asyncpg_dsn(settings.service_database_url("reporting")))
        try:
            yield cls(pairing, reporting)
        finally:
            await pairing.close()
            await reporting.close()

    async def relayed(self) -> int:
        return int(await self.pairing.fetchval("SELECT coalesce(sum(relayed), 0) FROM relay_cursor"))

    async def agreements(self) -> int:
        return int(await self.reporting.fetchval("SELECT count(*) FROM ledger_agreements"))

    async def registered(self) -> int:
        return int(
            await self.reporting.fetchval(
                "SELECT (SELECT count(*) FROM ledger_villages) + (SELECT count(*) FROM ledger_enterprises)"
            )
        )

    async def wait(self, what: str, read: Callable[[], Awaitable[int]], target: int) -> float:
        """Poll until ``read()`` reaches ``target``; fail if it stops moving for too long."""
        last, moved = -1, time.monotonic()
        while True:
            value = await read()
            if value >= target:
                return time.time()
            if value != last:
                last, moved = value, time.monotonic()
            elif time.monotonic() - moved > STALL_TIMEOUT_S:
                raise RuntimeError(f"{what} stalled at {value} of {target}")
            await asyncio.sleep(0.02)

    async def follow_relay(self, base: int, target: int, marks: dict[str, float]) -> None:
        """Note when the relay cursor first moves past ``base`` and when it reaches ``target``."""
        while True:
            value = await self.relayed()
            now = time.time()
            if value > base and "first" not in marks:
                marks["first"] = now
            if value >= target:
                marks["last"] = now
                return
            await asyncio.sleep(0.01)

    async def projected_window(self, ids: Sequence[uuid.UUID]) -> tuple[float, float]:
        row = await self.reporting.fetchrow(
            "SELECT extract(epoch FROM min(projected_at))::float8, "
            "extract(epoch FROM max(projected_at))::float8 "
            "FROM ledger_agreements WHERE agreement_id = ANY($1::uuid[])",
            list(ids),
        )
        return float(row[0]), float(row[1])

    async def ledger_times(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[float, float]]:
        """``signed_event_at`` and ``projected_at`` (epoch seconds) of each agreement."""
        rows = await self.reporting.fetch(
            "SELECT agreement_id, extract(epoch FROM signed_event_at)::float8, "
            "extract(epoch FROM projected_at)::float8 "
            "FROM ledger_agreements WHERE agreement_id = ANY($1::uuid[])",
            list(ids),
        )
        return {r[0]: (float(r[1]), float(r[2])) for r in rows}


async def throughput(probe: Probe, plan: Plan, writers: int, sign: Signer, cpu: CpuMeter) -> dict[str, Any]:
    base_relayed = await probe.relayed()
    base_projected = await probe.agreements()
    ids: list[uuid.UUID] = []
    marks: dict[str, float] = {}
    follower = asyncio.create_task(probe.follow_relay(base_relayed, base_relayed + plan.n, marks))

    async def one(i: int) -> None:
        ids.append(await sign(*plan.pair("throughput", i)))

    cpu_before = await cpu.snapshot()
    t0 = time.time()
    await run_writers(plan.n, writers, one)
    t_appended = time.time()
    t_projected = await probe.wait("projection", probe.agreements, base_projected + plan.n)
    await asyncio.wait_for(follower, STALL_TIMEOUT_S)
    cpu_after = await cpu.snapshot()
    first_projected, last_projected = await probe.projected_window(ids)
    return {
        "appended_per_s": round(plan.n / (t_appended - t0)),
        "relayed_per_s": round(plan.n / max(marks["last"] - marks["first"], 1e-3)),
        "projected_per_s": round(plan.n / max(last_projected - first_projected, 1e-3)),
        "end_to_end_per_s": round(plan.n / (last_projected - t0)),
        "seconds": {
            "append": round(t_appended - t0, 3),
            "relay": round(marks["last"] - t0, 3),
            "project": round(last_projected - t0, 3),
            "observed": round(t_projected - t0, 3),
        },
        "cpu_ms_per_agreement": CpuMeter.ms_per(cpu_before, cpu_after, plan.n),
    }


async def latency(probe: Probe, plan: Plan, rate: float, sign: Signer, counters: Counters) -> dict[str, Any]:
    base_projected = await probe.agreements()
    loop = asyncio.get_running_loop()
    returned: dict[uuid.UUID, float] = {}
    counters.command_s.clear()

    async def one(i: int) -> None:
        started = loop.time()
        agreement_id = await sign(*plan.pair("latency", i))
        returned[agreement_id] = time.time()
        counters.command_s.append(loop.time() - started)

    tasks = []
    start = loop.time()
    for i in range(plan.latency_n):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    offered = plan.latency_n / max(loop.time() - start, 1e-3)
    await probe.wait("projection", probe.agreements, base_projected + plan.latency_n)
    times = await probe.ledger_times(list(returned))
    ms = [(projected - signed) * 1000 for signed, projected in times.values()]
    after_command_ms = [(times[a][1] - done) * 1000 for a, done in returned.items()]
    command_ms = [s * 1000 for s in counters.command_s]
    return {
        "rate": rate,
        "achieved_rate": round(offered),
        "count": len(ms),
        "p50": round(percentile(ms, 0.50), 1),
        "p99": round(percentile(ms, 0.99), 1),
        "max": round(max(ms), 1),
        "command_ms": quantiles(command_ms),
        "after_command_ms": quantiles(after_command_ms),
    }


def quantiles(values: Sequence[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 0.50), 1), "p99": round(percentile(values, 0.99), 1)}


async def measure(
    mode: str,
    settings: Settings,
    commands: PairingCommands,
    sign: Signer,
    counters: Counters,
    args: argparse.Namespace,
    pids: dict[str, int],
) -> dict[str, Any]:
    plan = Plan(n=args.n, latency_n=max(1, round(args.rate * args.seconds)))
    async with Probe.open(settings) as probe:
        log(f"{mode}: registering {plan.villages} villages and {plan.enterprises} enterprises")
        await preregister(commands, plan, args.writers)
        await probe.wait("registrations", probe.registered, plan.villages + plan.enterprises)
        plan.pair("throughput", 0)  # work the pairs out now
        log(f"{mode}: signing {plan.n} agreements with {args.writers} writers")
        result: dict[str, Any] = {"mode": mode, "n": plan.n, "writers": args.writers}
        cpu = CpuMeter(pids, probe.reporting, settings.database_prefix)
        result.update(await throughput(probe, plan, args.writers, sign, cpu))
        log(f"{mode}: {plan.latency_n} agreements at {args.rate}/s")
        result["latency_ms"] = await latency(probe, plan, args.rate, sign, counters)
        result["conflicts_retried"] = counters.conflicts_retried
        return result


LOOP = {"kind": "asyncio"}


def choose_loop(choice: str) -> str:
    """``auto`` takes uvloop when it is installed, as uvicorn does for the services."""
    if choice == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        if choice == "uvloop":
            raise
        return "asyncio"
    return "uvloop"


@contextlib.asynccontextmanager
async def child(service: str, settings: Settings, log_dir: Path) -> AsyncIterator[ServiceProcess]:
    # uvicorn reads its options from UVICORN_* too: the children run the loop this process runs.
    process = ServiceProcess(service, settings, log_dir, UVICORN_LOOP=LOOP["kind"])
    try:
        yield await process.start()
    finally:
        process.stop()


def pid_of(process: ServiceProcess) -> int:
    assert process.process is not None
    return process.process.pid


async def run_command_mode(settings: Settings, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    from services.pairing.app import create as create_pairing
    from services.reporting.app import create as create_reporting

    counters = Counters()
    async with contextlib.AsyncExitStack() as stack:
        pairing = create_pairing(settings)
        await stack.enter_async_context(pairing.router.lifespan_context(pairing))
        pids = {"bench": os.getpid()}
        if args.inprocess:
            reporting = create_reporting(settings)
            await stack.enter_async_context(reporting.router.lifespan_context(reporting))
        else:
            process = await stack.enter_async_context(child("reporting", settings, log_dir))
            pids["reporting"] = pid_of(process)
        runtime = pairing.state.runtime
        commands = PairingCommands(runtime.store, settings.max_active_enterprises_per_village)
        signer = command_signer(commands, counters)
        result = await measure("command", settings, commands, signer, counters, args, pids)
        result["reporting"] = "in-process" if args.inprocess else "child process"
        return result
    raise AssertionError("unreachable")


async def run_http_mode(settings: Settings, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    counters = Counters()
    async with contextlib.AsyncExitStack() as stack:
        pairing, reporting = await asyncio.gather(
            stack.enter_async_context(child("pairing", settings, log_dir)),
            stack.enter_async_context(child("reporting", settings, log_dir)),
        )
        # Registration (untimed) goes straight to the pairing database the child relays from.
        pool = await create_pool(settings.service_database_url("pairing"), application="bench")
        stack.push_async_callback(pool.close)
        commands = PairingCommands(EventStore(pool), settings.max_active_enterprises_per_village)
        clients: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        headers = token(settings, Role.federation_officer, "")
        for _ in range(args.writers):
            client = httpx.AsyncClient(
                base_url=pairing.url,
                headers=headers,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                timeout=30,
            )
            clients.put_nowait(await stack.enter_async_context(client))
        pids = {"bench": os.getpid(), "pairing": pid_of(pairing), "reporting": pid_of(reporting)}
        signer = http_signer(clients, counters)
        return await measure("http", settings, commands, signer, counters, args, pids)
    raise AssertionError("unreachable")


def prepare_log_dir(path: str) -> Path:
    log_dir = Path(path)
    log_dir.mkdir(parents=True, exist_ok=True)
    return log_dir


def dump_logs(log_dir: Path) -> None:
    for path in log_dir.glob("*.log"):
        log(f"{path.name}:\n{path.read_text()[-2000:]}")


async def main(args: argparse.Namespace) -> int:
    database_url = args.database_url or os.environ.get("XINGCUN_DATABASE_URL") or DEFAULT_DATABASE_URL
    nats_url = args.nats_url or os.environ.get("XINGCUN_NATS_URL") or DEFAULT_NATS_URL
    modes = ["command", "http"] if args.mode == "both" else [args.mode]
    runners = {"command": run_command_mode, "http": run_http_mode}
    with tempfile.TemporaryDirectory(prefix="xingcun-bench-") as tmp_dir:
        log_dir = prepare_log_dir(args.log_dir or tmp_dir)
        for mode in modes:
            settings = isolated_settings(database_url, nats_url)
            try:
                result = await runners[mode](settings, args, log_dir)
            except BaseException:
                dump_logs(log_dir)
                raise
            finally:
                await cleanup(settings)
            result["loop"] = LOOP["kind"]
            print(json.dumps(result), flush=True)
    return 0


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4000, help="agreements in the throughput phase")
    parser.add_argument("--writers", type=int, default=16, help="concurrent writers")
    parser.add_argument("--rate", type=float, default=200.0, help="agreements/s, latency phase")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the latency phase")
    parser.add_argument("--mode", choices=["command", "http", "both"], default="both")
    parser.add_argument(
        "--inprocess", action="store_true", help="command mode: run reporting in this process"
    )
    add_stack_arguments(parser)
    return parser.parse_args(argv)


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """What every bench running the services takes: the event loop, where the logs go, the servers."""
    parser.add_argument(
        "--loop",
        choices=["auto", "asyncio", "uvloop"],
        default="auto",
        help="event loop here and in the services (auto: uvloop if installed, as uvicorn does)",
    )
    parser.add_argument("--log-dir", help="keep the child processes' logs here")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (XINGCUN_DATABASE_URL)")
    parser.add_argument("--nats-url", help="a NATS JetStream URL (XINGCUN_NATS_URL)")


def run_on_chosen_loop(main: Callable[[argparse.Namespace], Awaitable[int]], args: argparse.Namespace) -> int:
    LOOP["kind"] = choose_loop(args.loop)
    if LOOP["kind"] == "uvloop":
        import uvloop

        return uvloop.run(main(args))
    return asyncio.run(main(args))


def run(argv: Sequence[str] | None = None) -> int:
    return run_on_chosen_loop(main, parse(argv))


if __name__ == "__main__":
    sys.exit(run())
