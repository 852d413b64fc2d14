"""Flag households at a steady rate and time each flag to its webhook, as one JSON line.

    .venv/bin/python bench/notify.py [--rate 100] [--seconds 10] [--mode command|http] [--email]

Stages: monitoring command → events table → outbox relay → JetStream → notification router
(``alerts``, ``deliveries``) → dispatcher (claim, signed POST) → a webhook receiver. The run has
fresh, isolated databases, subject root and streams on the given PostgreSQL and NATS (the
machine's by default), removed at the end.

- ``command`` (default): monitoring runs in this process (its lifespan: relay and projection
  included) and each flag is its command handler (``MonitoringCommands.act`` with
  ``Household.flag_risk``, as ``POST /households/{id}/flags`` runs it).
- ``http``: monitoring runs as a uvicorn child too, and each flag is a ``POST
  /households/{id}/flags`` (one ``httpx`` client per concurrent request, ``--clients``).

The notification service always runs as a uvicorn child, as deployed, seeded
(``XINGCUN_NOTIFICATION_SEED``) with one recipient (role ``platform``, the county) whose webhook
is a receiver served in this process (plain http, ``notification_allow_http_webhooks``, signed with
a secret of ``webhook_secrets``), and one rule on ``monitoring.household_flagged``. ``--email``
adds an e-mail channel to an aiosmtpd server in this process.

One household is registered per flag, untimed, before anything is timed; then the run waits until
the directory is projected and every consumer of the monitoring stream (the router included) is
idle. Flags are then started at ``--rate`` for ``--seconds``. A flag's latency is the receiver's
arrival time − the flag event's ``recorded_at`` (in ``command`` mode the handler's clock read
just before the command; in ``http`` mode the service's, when the request reaches its handler),
matched by the ``X-Xingcun-Event-Id`` header. ``from_call_ms`` counts from just before the call
instead. ``stages_ms`` splits it, by the timestamps each stage leaves behind:

- ``command``: ``recorded_at`` → the command returned (``http``: the response arrived);
- ``relay``: → JetStream stored the event (its stream timestamp): the append signal, the relay's
  read and publish;
- ``consume``: → the router's transaction began (``deliveries.created_at``, ``now()``): the
  router's fetch;
- ``route``: → the dispatcher's claim began (``delivery_attempts.started_at``): the router's
  reads and inserts, its commit, the wake-up;
- ``send``: → the receiver got the request: the claim's commit, the message built and signed,
  the HTTP POST.

``tail_stages_ms`` is the mean of each stage over the slowest 2 % of flags: what the p99 is made of.
``router_batches`` and ``claims``: flags per router transaction and per claim (one ``now()``
each); above 1, the router or the dispatcher fell behind. ``cpu_ms_per_flag``: CPU of this
process, of the children and of the run's PostgreSQL backends (``postgres_ms_per_flag``: by
database and connection) from the first flag until every delivery is recorded and its event
relayed and projected. ``--dump FILE`` writes each flag's stage times as JSON lines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/notify.py` puts bench/, not the repo, on the path
    sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from nats.js import JetStreamContext  # noqa: E402

from bench.pipeline import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    DEFAULT_NATS_URL,
    LOOP,
    CpuMeter,
    add_stack_arguments,
    child,
    dump_logs,
    log,
    percentile,
    pid_of,
    prepare_log_dir,
    run_on_chosen_loop,
)
from services.monitoring.commands import MonitoringCommands, RegisterHousehold  # noqa: E402
from services.monitoring.config import monitoring_config  # noqa: E402
from services.monitoring.domain import household_stream  # noqa: E402
from services.notification.channels.signature import verify_signature  # noqa: E402
from shared.auth import Principal, Role  # noqa: E402
from shared.clock import china_date  # noqa: E402
from shared.db.engine import asyncpg_dsn, create_pool  # noqa: E402
from shared.events.catalogue.monitoring import FlagSource, RiskType  # noqa: E402
from shared.events.subjects import region_filter, stream_for  # noqa: E402
from shared.eventstore.context import CommandContext  # noqa: E402
from shared.eventstore.store import EventStore  # noqa: E402
from shared.ids import uuid7  # noqa: E402
from shared.messaging.streams import connect  # noqa: E402
from shared.runtime.embedded import free_port, serving_asgi  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.support.apps import token  # noqa: E402
from tests.support.isolation import cleanup, isolated_settings  # noqa: E402
from tests.support.monitoring import COUNTY, household_body, village_code  # noqa: E402
from tests.support.notification import SECRET  # noqa: E402

FLAGGED = "monitoring.household_flagged"
SECRET_REF = "bench-receiver"
MAILBOX = "platform@xingcun.test"
VILLAGES = 50
OFFICER = Principal(subject="bench", role=Role.county_officer, region=COUNTY)
SETTLE_TIMEOUT_S = 300.0
STALL_S = 30.0
STAGES = ("command", "relay", "consume", "route", "send")
TAIL = 0.02


# -- where the messages arrive -----------------------------------------------------------------


@dataclass
class Arrivals:
    """When each event's message arrived (epoch seconds), by the event id it carries."""

    times: dict[str, list[float]] = field(default_factory=dict)
    refused: int = 0

    def arrived(self, event_id: str, at: float) -> None:
        self.times.setdefault(event_id, []).append(at)


class WebhookReceiver:
    """A bare ASGI receiver (no framework: it shares this process with what it measures): the
    arrival time is read as the request reaches it, the signature is checked as a receiver would."""

    def __init__(self) -> None:
        self.arrivals = Arrivals()
        self.url = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        at = time.time()
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = dict(scope["headers"])
        timestamp = headers.get(b"x-xingcun-timestamp", b"").decode()
        signature = headers.get(b"x-xingcun-signature", b"").decode()
        if verify_signature(SECRET.encode(), timestamp, body, signature, now=at):
            self.arrivals.arrived(headers.get(b"x-xingcun-event-id", b"").decode(), at)
            status = 204
        else:
            self.arrivals.refused += 1
            status = 401
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


class MailReceiver:
    """An aiosmtpd handler (its own thread and loop): when each message's DATA ended."""

    def __init__(self) -> None:
        self.arrivals = Arrivals()
        self._parser = BytesHeaderParser()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        at = time.time()
        headers = self._parser.parsebytes(envelope.original_content)
        self.arrivals.arrived(str(headers.get("X-Xingcun-Event-Id", "")), at)
        return "250 Message accepted"


@contextlib.asynccontextmanager
async def serving(receiver: WebhookReceiver) -> AsyncIterator[WebhookReceiver]:
    async with serving_asgi(receiver) as port:
        receiver.url = f"http://127.0.0.1:{port}/hook"
        yield receiver


@contextlib.contextmanager
def mail_server(receiver: MailReceiver | None) -> Iterator[Controller | None]:
    if receiver is None:
        yield None
        return
    controller = Controller(receiver, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def seed(webhook_url: str, email: bool) -> dict[str, Any]:
    """The notification service's configured directory: the county platform, told of every flag."""
    channels: list[dict[str, Any]] = [{"kind": "webhook", "address": webhook_url, "secret_ref": SECRET_REF}]
    if email:
        channels.append({"kind": "email", "address": MAILBOX})
    return {
        "recipients": [
            {
                "key": "bench-county-platform",
                "name": "县防返贫监测平台",
                "role": "platform",
                "region_code": COUNTY,
                "channels": channels,
            }
        ],
        "rules": [
            {
                "key": "bench-flags",
                "on_event": FLAGGED,
                "region_prefix": COUNTY,
                "roles": ["platform"],
                "channels": [c["kind"] for c in channels],
            }
        ],
    }


# -- households and flags ------------------------------------------------------------------------


@dataclass
class Flag:
    household_id: uuid.UUID
    called: float = 0.0  # epoch seconds just before the command or request
    returned: float = 0.0
    error: str | None = None


Flagger = Callable[[uuid.UUID], Awaitable[None]]


def command_context() -> CommandContext:
    return CommandContext(actor=OFFICER.actor(), now=datetime.now(UTC), correlation_id=str(uuid.uuid4()))


def command_flagger(commands: MonitoringCommands) -> Flagger:
    async def flag(household_id: uuid.UUID) -> None:
        ctx = command_context()
        today = china_date(ctx.now)
        await commands.act(
            ctx,
            OFFICER,
            household_id,
            lambda h: h.flag_risk(
                by_role=OFFICER.role,
                flag_id=uuid7(),
                source=FlagSource.cadre_visit,
                risk_types=[RiskType.income_drop],
                flagged_on=today,
                today=today,
            ),
        )

    return flag


def http_flagger(clients: asyncio.Queue[httpx.AsyncClient]) -> Flagger:
    async def flag(household_id: uuid.UUID) -> None:
        body = {
            "source": FlagSource.cadre_visit.value,
            "risk_types": [RiskType.income_drop.value],
            "flagged_on": china_date(datetime.now(UTC)).isoformat(),
        }
        client = await clients.get()
        try:
            response = await client.post(f"/households/{household_id}/flags", json=body)
        finally:
            clients.put_nowait(client)
        if response.status_code != 201:
            raise RuntimeError(f"POST flags: {response.status_code} {response.text}")

    return flag


def monitoring_commands(store: EventStore, settings: Settings) -> MonitoringCommands:
    config = monitoring_config(settings)
    return MonitoringCommands(store, config.masters, config.lines, config.rules, settings.county_codes)


async def register(commands: MonitoringCommands, n: int, writers: int) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = [uuid.UUID(int=0)] * n
    items = iter(range(n))

    async def writer() -> None:
        for i in items:
            body = household_body(i, village=village_code(i % VILLAGES))
            ids[i] = await commands.register(command_context(), RegisterHousehold(**body))

    await asyncio.gather(*(writer() for _ in range(writers)))
    return ids


async def pace(households: Sequence[uuid.UUID], rate: float, flag: Flagger) -> tuple[list[Flag], float]:
    """Start flag i at i/rate s (one started late, behind a busy loop, starts at once: the
    schedule is kept, not the gaps); the flags, and the rate they were started at."""
    loop = asyncio.get_running_loop()
    flags = [Flag(h) for h in households]

    async def one(f: Flag) -> None:
        f.called = time.time()
        try:
            await flag(f.household_id)
        except Exception as exc:
            f.error = repr(exc)
        f.returned = time.time()

    tasks = []
    start = loop.time()
    for i, f in enumerate(flags):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(f)))
    started_for = loop.time() - start + 1 / rate
    await asyncio.gather(*tasks)
    return flags, len(flags) / started_for


# -- watching the run ------------------------------------------------------------------------------


class Watch:
    """Reads progress from the monitoring and notification databases and from JetStream."""

    def __init__(
        self, settings: Settings, monitoring: asyncpg.Connection, notification: asyncpg.Connection, js: Any
    ) -> None:
        self.settings = settings
        self.monitoring = monitoring
        self.notification = notification
        self.js: JetStreamContext = js

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[Watch]:
        named = {"server_settings": {"application_name": "bench-watch"}}
        monitoring = await asyncpg.connect(asyncpg_dsn(settings.service_database_url("monitoring")), **named)
        notification = await asyncpg.connect(
            asyncpg_dsn(settings.service_database_url("notification")), **named
        )
        nc = await connect(settings.nats_url, "xingcun-bench-notify")
        try:
            yield cls(settings, monitoring, notification, nc.jetstream())
        finally:
            await nc.close()
            await monitoring.close()
            await notification.close()

    async def directory(self) -> bool:
        row = await self.notification.fetchrow(
            "SELECT (SELECT count(*) FROM recipients) AS r, (SELECT count(*) FROM routing_rules) AS k"
        )
        return bool(row["r"] >= 1 and row["k"] >= 1)

    async def idle(self, service: str, conn: asyncpg.Connection) -> bool:
        """Every event of ``service`` relayed, and every consumer of its stream done with it."""
        stored = await conn.fetchval("SELECT count(*) FROM events")
        name = stream_for(self.settings, service).name  # type: ignore[arg-type]
        info = await self.js.stream_info(name)
        if info.state.messages < stored:
            return False
        consumers = await self.js.consumers_info(name)
        return all(c.num_pending == 0 and c.num_ack_pending == 0 for c in consumers)

    async def finished(self) -> int:
        return int(
            await self.notification.fetchval(
                "SELECT count(*) FROM deliveries WHERE status IN ('delivered', 'failed')"
            )
        )

    async def flagged_events(self) -> dict[str, tuple[str, float]]:
        """event id → (stream id, ``recorded_at``) of every flag event stored."""
        rows = await self.monitoring.fetch(
            "SELECT event_id::text, stream_id, extract(epoch FROM recorded_at)::float8 FROM events "
            "WHERE type = $1",
            FLAGGED,
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    async def stored_in_stream(self, count: int) -> dict[str, float]:
        """event id → when JetStream stored it, for the flag events of the monitoring stream."""
        if count == 0:
            return {}
        spec = stream_for(self.settings, "monitoring")
        subject = region_filter(self.settings.subject_root, "", *FLAGGED.split("."))
        sub = await self.js.subscribe(subject, stream=spec.name, ordered_consumer=True)
        found: dict[str, float] = {}
        try:
            while len(found) < count:
                msg = await sub.next_msg(timeout=10)
                event_id = (msg.headers or {}).get("Nats-Msg-Id", "")
                found[event_id] = msg.metadata.timestamp.timestamp()
        finally:
            await sub.unsubscribe()
        return found

    async def tries(self, channel: str) -> dict[str, tuple[float, float, float | None, str, int]]:
        """alert (event) id → the first try of its delivery on ``channel``: routed (the router's
        transaction began), claimed (the claim's began), recorded (the outcome's began), status,
        tries."""
        rows = await self.notification.fetch(
            "SELECT d.alert_id::text, extract(epoch FROM d.created_at)::float8, "
            "extract(epoch FROM a.started_at)::float8, extract(epoch FROM a.finished_at)::float8, "
            "d.status, d.attempts "
            "FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.delivery_id AND a.attempt = 1 "
            "WHERE d.channel = $1",
            channel,
        )
        return {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in rows}


async def until(what: str, check: Callable[[], Awaitable[bool]], timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


async def until_count(what: str, read: Callable[[], int | Awaitable[int]], target: int) -> None:
    """Poll until ``read()`` reaches ``target``; give up once it stops moving for ``STALL_S``."""
    last, moved = -1, time.monotonic()
    while True:
        value = read()
        if not isinstance(value, int):
            value = await value
        if value >= target:
            return
        if value != last:
            last, moved = value, time.monotonic()
        elif time.monotonic() - moved > STALL_S:
            raise RuntimeError(f"{what} stalled at {value} of {target}")
        await asyncio.sleep(0.02)


# -- figures -----------------------------------------------------------------------------------------


def spread(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(percentile(values, 0.50), 1),
        "p90": round(percentile(values, 0.90), 1),
        "p99": round(percentile(values, 0.99), 1),
        "max": round(max(values), 1),
    }


def matched(arrivals: Arrivals, events: dict[str, tuple[str, float]]) -> dict[str, Any]:
    received = [e for e in events if e in arrivals.times]
    return {
        "received": len(received),
        "missing": len(events) - len(received),
        "duplicates": sum(len(t) - 1 for t in arrivals.times.values()),
        "unexpected": sum(1 for e in arrivals.times if e not in events),
        "refused": arrivals.refused,
    }


def flag_marks(
    arrivals: Arrivals,
    events: dict[str, tuple[str, float]],
    by_stream: dict[str, Flag],
    stored: dict[str, float],
    tries: dict[str, tuple[float, float, float | None, str, int]],
) -> list[dict[str, Any]]:
    """Per flag that arrived: when it passed each stage (epoch seconds; None where not known)."""
    rows = []
    for event_id, (stream_id, recorded_at) in events.items():
        if event_id not in arrivals.times:
            continue
        flag = by_stream[stream_id]
        routed, claimed, finished, _, attempts = tries.get(event_id, (None, None, None, "", 0))
        rows.append(
            {
                "event_id": event_id,
                "household_id": str(flag.household_id),
                "called": flag.called,
                "recorded_at": recorded_at,
                "returned": flag.returned,
                "stored": stored.get(event_id),
                "routed": routed,
                "claimed": claimed,
                "arrived": arrivals.times[event_id][0],
                "finished": finished,
                "attempts": attempts,
            }
        )
    return rows


def channel_figures(
    arrivals: Arrivals, events: dict[str, tuple[str, float]], rows: list[dict[str, Any]]
) -> dict[str, Any]:
    result = matched(arrivals, events)
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    split_rows: list[tuple[float, dict[str, float]]] = []
    for row in rows:
        keys = ("recorded_at", "returned", "stored", "routed", "claimed", "arrived")
        marks = [row[k] for k in keys]
        if any(m is None for m in marks):
            continue
        split = {s: (marks[i + 1] - marks[i]) * 1000 for i, s in enumerate(STAGES)}
        for s, ms in split.items():
            stages[s].append(ms)
        split_rows.append(((row["arrived"] - row["recorded_at"]) * 1000, split))
    result.update(
        {f"{k}_ms": v for k, v in spread([(r["arrived"] - r["recorded_at"]) * 1000 for r in rows]).items()}
    )
    result["from_call_ms"] = spread([(r["arrived"] - r["called"]) * 1000 for r in rows])
    result["stages_ms"] = {s: spread(v) for s, v in stages.items()}
    split_rows.sort(key=lambda r: r[0], reverse=True)
    tail = split_rows[: max(1, math.ceil(len(split_rows) * TAIL))] if split_rows else []
    result["tail_stages_ms"] = (
        {s: round(sum(split[s] for _, split in tail) / len(tail), 1) for s in STAGES} if tail else {}
    )
    # until the outcome's transaction began
    result["after_arrival_ms"] = spread(
        [(r["finished"] - r["arrived"]) * 1000 for r in rows if r["finished"] is not None]
    )
    result["retried"] = sum(1 for r in rows if r["attempts"] > 1)
    # One router transaction (or claim) has one now(): how many of the flags each one took.
    result["router_batches"] = batches([r["routed"] for r in rows if r["routed"] is not None])
    result["claims"] = batches([r["claimed"] for r in rows if r["claimed"] is not None])
    return result


def batches(starts: Sequence[float]) -> dict[str, float]:
    sizes: dict[float, int] = {}
    for start in starts:
        sizes[start] = sizes.get(start, 0) + 1
    if not sizes:
        return {}
    return {
        "count": len(sizes),
        "mean": round(len(starts) / len(sizes), 2),
        "max": max(sizes.values()),
    }


async def postgres_by_client(
    conn: asyncpg.Connection, prefix: str, before: dict[str, Any], after: dict[str, Any], n: int
) -> dict[str, float]:
    """The PostgreSQL part of ``cpu_ms_per_flag`` by database and connection (the application
    name its pool gives; the relays' connections have none)."""
    rows = await conn.fetch(
        "SELECT pid, datname, application_name FROM pg_stat_activity WHERE datname LIKE $1", prefix + "%"
    )
    names = {r[0]: f"{r[1][len(prefix) :]}/{r[2] or 'relay'}" for r in rows}
    spent: dict[str, float] = {}
    for pid, cpu in after["postgres"].items():
        name = names.get(pid, "gone")
        spent[name] = spent.get(name, 0.0) + cpu - before["postgres"].get(pid, 0.0)
    return {name: round(s * 1000 / n, 2) for name, s in sorted(spent.items()) if s > 0}


# -- the run ---------------------------------------------------------------------------------------


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


@dataclass
class Setup:
    commands: MonitoringCommands
    flagger: Flagger
    pids: dict[str, int]


async def run(
    settings: Settings,
    args: argparse.Namespace,
    log_dir: Path,
    webhooks: WebhookReceiver,
    mail: MailReceiver | None,
) -> dict[str, Any]:
    n = max(1, round(args.rate * args.seconds))
    channels = 2 if mail is not None else 1
    async with contextlib.AsyncExitStack() as stack:
        setup = await start_services(stack, settings, args, log_dir)
        watch = await stack.enter_async_context(Watch.open(settings))
        log(f"registering {n} households")
        households = await register(setup.commands, n, args.writers)
        await until("the directory projected", watch.directory)
        await until("monitoring idle", lambda: watch.idle("monitoring", watch.monitoring))
        await until("notification idle", lambda: watch.idle("notification", watch.notification))
        cpu = CpuMeter(setup.pids, watch.notification, settings.database_prefix)
        load_before = os.getloadavg()
        log(f"{n} flags at {args.rate}/s ({args.mode})")
        cpu_before = await cpu.snapshot()
        flags, achieved = await pace(households, args.rate, setup.flagger)
        committed = sum(1 for f in flags if f.error is None)
        await until_count("webhooks", lambda: len(webhooks.arrivals.times), committed)
        if mail is not None:
            await until_count("e-mails", lambda: len(mail.arrivals.times), committed)
        await until_count("deliveries recorded", watch.finished, committed * channels)
        await until("monitoring idle", lambda: watch.idle("monitoring", watch.monitoring))
        await until("notification idle", lambda: watch.idle("notification", watch.notification))
        cpu_after = await cpu.snapshot()
        load_after = os.getloadavg()

        events = await watch.flagged_events()
        stored = await watch.stored_in_stream(len(events))
        by_stream = {household_stream(f.household_id): f for f in flags}
        errors = [f.error for f in flags if f.error is not None]
        result: dict[str, Any] = {
            "mode": args.mode,
            "rate": args.rate,
            "achieved_rate": round(achieved, 1),
            "flags": len(flags),
            "errors": len(errors),
            "count": len(events),
        }
        rows = flag_marks(webhooks.arrivals, events, by_stream, stored, await watch.tries("webhook"))
        result.update(channel_figures(webhooks.arrivals, events, rows))
        if args.dump:
            await asyncio.to_thread(write_rows, Path(args.dump), rows)
        result["command_ms"] = spread([(f.returned - f.called) * 1000 for f in flags if f.error is None])
        if mail is not None:
            mails = flag_marks(mail.arrivals, events, by_stream, stored, await watch.tries("email"))
            result["email"] = channel_figures(mail.arrivals, events, mails)
        result["cpu_ms_per_flag"] = CpuMeter.ms_per(cpu_before, cpu_after, max(1, len(events)))
        result["postgres_ms_per_flag"] = await postgres_by_client(
            watch.notification, settings.database_prefix, cpu_before, cpu_after, max(1, len(events))
        )
        result["loadavg"] = [round(load_before[0], 2), round(load_after[0], 2)]
        if errors:
            result["first_error"] = errors[0][:300]
        return result
    raise AssertionError("unreachable")


async def start_services(
    stack: contextlib.AsyncExitStack, settings: Settings, args: argparse.Namespace, log_dir: Path
) -> Setup:
    from services.monitoring.app import create as create_monitoring

    pids = {"bench": os.getpid()}
    if args.mode == "command":
        monitoring = create_monitoring(settings)
        await stack.enter_async_context(monitoring.router.lifespan_context(monitoring))
        notification = await stack.enter_async_context(child("notification", settings, log_dir))
        pids["notification"] = pid_of(notification)
        commands = monitoring_commands(monitoring.state.runtime.store, settings)
        return Setup(commands, command_flagger(commands), pids)
    monitoring_child, notification = await asyncio.gather(
        stack.enter_async_context(child("monitoring", settings, log_dir)),
        stack.enter_async_context(child("notification", settings, log_dir)),
    )
    pids["monitoring"] = pid_of(monitoring_child)
    pids["notification"] = pid_of(notification)
    # Registration (untimed) goes straight to the database the monitoring child relays from.
    pool = await create_pool(settings.service_database_url("monitoring"), application="bench")
    stack.push_async_callback(pool.close)
    clients: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
    headers = token(settings, OFFICER.role, OFFICER.region)
    for _ in range(args.clients):
        client = httpx.AsyncClient(
            base_url=monitoring_child.url,
            headers=headers,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            timeout=30,
        )
        clients.put_nowait(await stack.enter_async_context(client))
    return Setup(monitoring_commands(EventStore(pool), settings), http_flagger(clients), pids)


async def main(args: argparse.Namespace) -> int:
    database_url = args.database_url or os.environ.get("XINGCUN_DATABASE_URL") or DEFAULT_DATABASE_URL
    nats_url = args.nats_url or os.environ.get("XINGCUN_NATS_URL") or DEFAULT_NATS_URL
    mail = MailReceiver() if args.email else None
    with tempfile.TemporaryDirectory(prefix="xingcun-bench-") as tmp_dir, mail_server(mail) as smtp:
        log_dir = prepare_log_dir(args.log_dir or tmp_dir)
        async with serving(WebhookReceiver()) as webhooks:
            overrides: dict[str, Any] = {
                "notification_seed": seed(webhooks.url, mail is not None),
                "notification_allow_http_webhooks": True,
                "webhook_secrets": {SECRET_REF: SECRET},
            }
            if smtp is not None:
                overrides.update(
                    smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_sender="alerts@xingcun.test"
                )
            settings = isolated_settings(database_url, nats_url, **overrides)
            try:
                result = await run(settings, args, log_dir, webhooks, mail)
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
    parser.add_argument("--rate", type=float, default=100.0, help="flags per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long flags are raised")
    parser.add_argument("--mode", choices=["command", "http"], default="command")
    parser.add_argument("--email", action="store_true", help="an e-mail channel too (aiosmtpd)")
    parser.add_argument("--writers", type=int, default=16, help="concurrent registrations (untimed)")
    parser.add_argument("--clients", type=int, default=16, help="http mode: concurrent requests at most")
    parser.add_argument("--dump", help="write each webhook's stage times here (JSON lines)")
    add_stack_arguments(parser)
    return parser.parse_args(argv)


def run_cli(argv: Sequence[str] | None = None) -> int:
    return run_on_chosen_loop(main, parse(argv))


if __name__ == "__main__":
    sys.exit(run_cli())
