"""deploy/nats/: the deployment's users and permissions on a real nats-server started with that
configuration (a server of this test's own, on free ports; never the machine's).

A service publishes its own events and is refused another service's; the four services run under
their users; a county consumer reads its county's events through its own durable consumer and is
refused everything outside its county; examples/consumer.py runs under the county's user.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.monitoring.app import create as monitoring_app
from services.notification.app import create as notification_app
from services.pairing.app import create as pairing_app
from services.reporting.app import create as reporting_app
from shared.auth import Role
from shared.events.envelope import Actor, Envelope
from shared.events.subjects import region_filter, stream_for, subject_for
from shared.messaging.append_signal import wake_subject
from shared.messaging.streams import ensure_stream
from shared.runtime.embedded import free_port, nats_server_binary, stop_process, wait_for_port
from shared.runtime.ops import tail
from shared.runtime.rebuild import rebuild_projection
from shared.settings import SERVICES, ServiceName, Settings
from tests.support.apps import REPO, running, token, wait_until
from tests.support.isolation import cleanup, isolated_settings
from tests.support.pairing import village_body, village_code

CONFIG = REPO / "deploy" / "nats"
EXAMPLE = REPO / "examples" / "consumer.py"
ROOT = "xingcun"  # the subject root accounts.conf is written for (the default)
COUNTY, ELSEWHERE = "150602", "150603"
COUNTY_USER = f"county-{COUNTY}"
COUNTY_INBOX = f"_INBOX_{COUNTY_USER}"
USERS = (*SERVICES, COUNTY_USER, "admin")
DEPLOYED = Settings(subject_root=ROOT, stream_prefix="")


def password_variable(user: str) -> str:
    return f"NATS_{user.upper().replace('-', '_')}_PASSWORD"


@dataclass
class Deployed:
    port: int
    passwords: dict[str, str]
    log: Path

    def url(self, user: str) -> str:
        return f"nats://{user}:{self.passwords[user]}@127.0.0.1:{self.port}"

    def violations(self, since: int = 0) -> list[str]:
        """The server's log lines about refused publishes and subscriptions, after byte ``since``."""
        with self.log.open("rb") as log:
            log.seek(since)
            return [line for line in log.read().decode().splitlines() if "Violation" in line]

    def log_size(self) -> int:
        return self.log.stat().st_size


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """nats-server with deploy/nats/nats.conf and accounts.conf as they are, but for the store
    folder (a flag cannot override store_dir; nats.conf names the container's /data)."""
    folder = tmp_path_factory.mktemp("nats-accounts")
    conf = (CONFIG / "nats.conf").read_text()
    assert conf.count("store_dir: /data") == 1, "nats.conf no longer names store_dir /data"
    (folder / "nats.conf").write_text(conf.replace("store_dir: /data", f'store_dir: "{folder / "store"}"'))
    shutil.copy(CONFIG / "accounts.conf", folder / "accounts.conf")
    # As .env.example says: hex beginning with a letter.
    passwords = {user: "x" + secrets.token_hex(16) for user in USERS}
    environment = {**os.environ, **{password_variable(u): p for u, p in passwords.items()}}
    port, log = free_port(), folder / "nats-server.log"
    process = subprocess.Popen(
        [
            nats_server_binary(),
            "-c",
            str(folder / "nats.conf"),
            "-a",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            str(free_port()),
            "-l",
            str(log),
        ],
        env=environment,
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port)
        yield Deployed(port, passwords, log)
    finally:
        stop_process(process)


@dataclass
class Connection:
    nc: Client
    refusals: list[str]

    @property
    def js(self) -> JetStreamContext:
        return self.nc.jetstream()

    async def refused(self, what: str, subject: str) -> None:
        """Wait for the server to refuse ``what`` ("publish to", "subscription to") on ``subject``."""
        expected = f'permissions violation for {what} "{subject}"'.lower()
        await wait_until(lambda: expected in self.refusals, 5, f"the refusal: {expected}")


@contextlib.asynccontextmanager
async def connected(deployed: Deployed, user: str, inbox_prefix: str = "_INBOX") -> AsyncIterator[Connection]:
    refusals: list[str] = []

    async def on_error(error: Exception) -> None:
        # nats-py reports a refusal in lower case and keeps the connection
        refusals.append(str(error).removeprefix("nats: ").lower())

    nc = await nats.connect(
        deployed.url(user),
        error_cb=on_error,
        allow_reconnect=False,
        connect_timeout=3,
        inbox_prefix=inbox_prefix,
    )
    try:
        yield Connection(nc, refusals)
    finally:
        await nc.close()


@pytest.fixture
async def admin(deployed: Deployed) -> AsyncIterator[Connection]:
    """The operator's connection; every stream is deleted after the test."""
    async with connected(deployed, "admin") as connection:
        yield connection
        for info in await connection.js.streams_info():
            await connection.js.delete_stream(info.config.name)


async def stored(admin: Connection, stream: str) -> list[str]:
    """The subjects a stream holds, in order."""
    state = (await admin.js.stream_info(stream)).state
    if not state.messages:
        return []
    return [
        (await admin.js.get_msg(stream, seq)).subject for seq in range(state.first_seq, state.last_seq + 1)
    ]


def event_subject(county: str, event_type: str) -> str:
    return subject_for(ROOT, f"{county}103201", event_type)


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_publishes_its_own_events_and_is_refused_another_services(
    deployed: Deployed, admin: Connection, service: ServiceName
) -> None:
    other: ServiceName = SERVICES[(SERVICES.index(service) + 1) % len(SERVICES)]
    async with connected(deployed, service) as connection:
        # What a service does at start: its own stream (brought up to the spec: an update), and
        # the streams it reads if missing.
        own_stream = stream_for(DEPLOYED, service)
        await ensure_stream(connection.js, replace(own_stream, duplicate_window_s=60), owner=True)
        await ensure_stream(connection.js, own_stream, owner=True)
        assert (await admin.js.stream_info(own_stream.name)).config.duplicate_window == 600
        await ensure_stream(connection.js, stream_for(DEPLOYED, other), owner=False)

        own = event_subject(COUNTY, f"{service}.something_happened")
        ack = await connection.js.publish(own, b"{}", headers={"Nats-Msg-Id": "e-1"})
        assert ack.stream == stream_for(DEPLOYED, service).name
        # its relay's wake-up, there and back
        woken = await connection.nc.subscribe(wake_subject(ROOT, service))
        await connection.nc.publish(wake_subject(ROOT, service), b"")
        await woken.next_msg(timeout=5)

        others = event_subject(COUNTY, f"{other}.something_happened")
        await connection.nc.publish(others, b"{}")
        await connection.refused("publish to", others)
        # another service's wake-up, and another service's stream configuration
        await connection.nc.publish(wake_subject(ROOT, other), b"")
        await connection.refused("publish to", wake_subject(ROOT, other))
        update = f"$JS.API.STREAM.UPDATE.{stream_for(DEPLOYED, other).name}"
        await connection.nc.publish(update, b"{}")
        await connection.refused("publish to", update)
        # events are read through JetStream only
        await connection.nc.subscribe(own)
        await connection.refused("subscription to", own)

    assert await stored(admin, stream_for(DEPLOYED, service).name) == [own]
    assert await stored(admin, stream_for(DEPLOYED, other).name) == []


@pytest.fixture
async def service_settings(
    database_url: str, deployed: Deployed, admin: Connection
) -> AsyncIterator[dict[str, Settings]]:
    """Each service's settings: its own NATS user, the subject root and stream names the
    accounts are written for; databases of their own, dropped afterwards."""
    made = {
        service: isolated_settings(
            database_url,
            deployed.url(service),
            subject_root=ROOT,
            stream_prefix="",
            counties=f"{COUNTY},{ELSEWHERE}",
        )
        for service in SERVICES
    }
    yield made
    for value in made.values():
        # the admin may delete streams, the services may not
        await cleanup(value.model_copy(update={"nats_url": deployed.url("admin")}))


async def test_the_four_services_run_under_their_users(
    deployed: Deployed, admin: Connection, service_settings: dict[str, Settings]
) -> None:
    log_start = deployed.log_size()
    apps = {
        "pairing": pairing_app(service_settings["pairing"]),
        "monitoring": monitoring_app(service_settings["monitoring"]),
        "reporting": reporting_app(service_settings["reporting"]),
        "notification": notification_app(service_settings["notification"]),
    }
    async with (
        running(apps["pairing"]) as pairing,
        running(apps["monitoring"]) as monitoring,
        running(apps["reporting"]) as reporting,
        running(apps["notification"]) as notification,
    ):
        for client in (pairing, monitoring, reporting, notification):
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text

        # Every durable consumer exists: each service created its own on the streams it reads.
        expected = {(c.spec.name, c.name) for app in apps.values() for c in app.state.runtime.consumers}
        assert {stream for stream, _ in expected} == {"PAIRING", "MONITORING", "REPORTING", "NOTIFICATION"}

        async def consumers() -> set[tuple[str, str]]:
            return {
                (stream, info.name)
                for stream in ("PAIRING", "MONITORING", "REPORTING", "NOTIFICATION")
                for info in await admin.js.consumers_info(stream)
            }

        async def all_created() -> bool:
            return expected <= await consumers()

        await wait_until(all_created, 30, "every service's durable consumers")

        # An event goes the whole way: pairing's relay publishes it, reporting's consumer takes it in.
        officer = token(service_settings["pairing"], Role.federation_officer, COUNTY)
        registered = await pairing.post("/villages", json=village_body(1), headers=officer)
        assert registered.status_code == 201, registered.text

        async def in_the_ledger() -> bool:
            found = await reporting.get(f"/ledgers/villages/{village_code(1)}", headers=officer)
            return found.status_code == 200

        await wait_until(in_the_ledger, 30, "the village in reporting's ledger")

        # What an operator runs in a service's container works under its user too: a replay
        # (ephemeral consumer) and `xingcun events tail` (ordered consumers).
        assert await rebuild_projection("pairing-facts", service_settings["reporting"]) == 1
        lines: list[str] = []
        county_events = region_filter(ROOT, COUNTY)
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        shown = await tail(service_settings["reporting"], county_events, an_hour_ago, 1, lines.append)
        assert shown == 1 and json.loads(lines[0])["type"] == "pairing.village_registered"

    # Nothing any service did was refused (relay, wake-ups, streams, consumers, pulls, acks).
    assert deployed.violations(log_start) == []


async def test_a_county_consumer_reads_its_county_and_is_refused_outside(
    deployed: Deployed, admin: Connection
) -> None:
    published = [
        event_subject(COUNTY, "pairing.village_registered"),
        event_subject(ELSEWHERE, "pairing.village_registered"),
        event_subject(COUNTY, "pairing.agreement_signed"),
    ]
    async with connected(deployed, "pairing") as pairing:
        await ensure_stream(pairing.js, stream_for(DEPLOYED, "pairing"), owner=True)
        for n, subject in enumerate(published):
            await pairing.js.publish(subject, b"{}", headers={"Nats-Msg-Id": f"e-{n}"})

    county_filter = region_filter(ROOT, COUNTY)  # xingcun.15.1506.150602.*.>
    assert county_filter == f"{ROOT}.15.1506.{COUNTY}.*.>"
    async with connected(deployed, COUNTY_USER, inbox_prefix=COUNTY_INBOX) as county:
        # Its own durable consumer, filtered to its county (the API form naming the filter).
        config = ConsumerConfig(
            name=COUNTY_USER,
            durable_name=COUNTY_USER,
            filter_subject=county_filter,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
        )
        created = await county.js.add_consumer("PAIRING", config)
        assert created.config.filter_subject == county_filter
        pulled = await county.js.pull_subscribe_bind(COUNTY_USER, stream="PAIRING")
        messages = await pulled.fetch(10, timeout=5)
        assert [m.subject for m in messages] == [published[0], published[2]]
        for message in messages:
            await message.ack()
        await county.nc.flush()

        async def all_acknowledged() -> bool:
            info = await county.js.consumer_info("PAIRING", COUNTY_USER)
            return info.num_ack_pending == 0 and info.num_pending == 0

        await wait_until(all_acknowledged, 5, "the county consumer's acks")

        # A consumer over another county, or over everything: refused before JetStream sees it.
        body = json.dumps({"stream_name": "PAIRING", "config": {"durable_name": COUNTY_USER}}).encode()
        for outside in (region_filter(ROOT, ELSEWHERE), f"{ROOT}.>", region_filter(ROOT, "15")):
            create = f"$JS.API.CONSUMER.CREATE.PAIRING.{COUNTY_USER}.{outside}"
            await county.nc.publish(create, body)
            await county.refused("publish to", create)
        # The allowed form with another filter in its body: JetStream refuses the mismatch.
        mismatch = {"stream_name": "PAIRING", "config": {**config.as_dict(), "filter_subject": f"{ROOT}.>"}}
        answer = await county.nc.request(
            f"$JS.API.CONSUMER.CREATE.PAIRING.{COUNTY_USER}.{county_filter}",
            json.dumps(mismatch).encode(),
            timeout=5,
        )
        assert json.loads(answer.data)["error"]["err_code"] == 10131  # filter does not match the subject
        # The forms whose filter is in the body only, and other consumers (the services' read everything).
        for api in (
            f"$JS.API.CONSUMER.CREATE.PAIRING.{COUNTY_USER}",
            f"$JS.API.CONSUMER.DURABLE.CREATE.PAIRING.{COUNTY_USER}",
            "$JS.API.CONSUMER.CREATE.PAIRING",
            "$JS.API.CONSUMER.MSG.NEXT.PAIRING.reporting-pairing-facts",
            "$JS.API.STREAM.INFO.PAIRING",  # with a subjects filter it counts other counties' events
            "$JS.API.STREAM.MSG.GET.PAIRING",
            "$JS.API.DIRECT.GET.PAIRING",
        ):
            await county.nc.publish(api, b"{}")
            await county.refused("publish to", api)
        # Plain subscriptions: not to another county, not to the shared inbox (it carries the
        # services' pulls of every county's events), and not to event subjects at all: a literal
        # subscription there would let a push consumer's deliveries into another stream.
        for subject in (
            region_filter(ROOT, ELSEWHERE),
            f"{ROOT}.>",
            "_INBOX.>",
            event_subject(COUNTY, "monitoring.household_flagged"),
        ):
            await county.nc.subscribe(subject)
            await county.refused("subscription to", subject)

    assert await stored(admin, "PAIRING") == published


async def publish_as_the_services(deployed: Deployed, label: str) -> list[str]:
    """Each service, under its own user, publishes an event of the county and one of its
    neighbour (into its stream, made if missing, as at its start); the county's event ids."""
    mine: list[str] = []
    for service in SERVICES:
        async with connected(deployed, service) as connection:
            await ensure_stream(connection.js, stream_for(DEPLOYED, service), owner=True)
            for region_code in (f"{COUNTY}103201", f"{ELSEWHERE}100201"):
                now = datetime.now(UTC)
                event = Envelope(
                    event_id=uuid.uuid4(),
                    type=f"{service}.something_happened",
                    schema_version=1,
                    stream_id=f"test-{uuid.uuid4()}",
                    stream_version=1,
                    region_code=region_code,
                    occurred_at=now,
                    recorded_at=now,
                    actor=Actor(id="tester", role="platform", region_code=region_code[:6]),
                    data={"note": f"{label}:{service}:{region_code}"},
                )
                await connection.js.publish(
                    subject_for(ROOT, region_code, event.type),
                    event.model_dump_json().encode(),
                    headers={"Nats-Msg-Id": str(event.event_id)},
                )
                if region_code.startswith(COUNTY):
                    mine.append(str(event.event_id))
            assert connection.refusals == []
    return sorted(mine)


async def run_example(
    nats_url: str, db: Path, *options: str, password: str | None = None
) -> tuple[int, str, str]:
    """One run of examples/consumer.py under the county's user until it has caught up: its exit
    status, stdout and stderr."""
    environment = {k: v for k, v in os.environ.items() if k != "NATS_PASSWORD"}
    if password is not None:
        environment["NATS_PASSWORD"] = password
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        "--county", COUNTY,
        "--nats-url", nats_url,
        "--inbox-prefix", COUNTY_INBOX,
        "--db", str(db),
        "--until-idle", "1",
        *options,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def last_stored_at(admin: Connection) -> datetime:
    """When the newest message of the four streams was stored, by the server's clock."""
    times = []
    for service in SERVICES:
        name = stream_for(DEPLOYED, service).name
        stored_at = (await admin.js.get_msg(name, (await admin.js.stream_info(name)).state.last_seq)).time
        assert stored_at is not None
        times.append(stored_at)
    return max(times)


def reported(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


async def test_the_example_consumer_follows_its_county_under_the_county_user(
    deployed: Deployed, admin: Connection, tmp_path: Path
) -> None:
    log_start = deployed.log_size()
    db = tmp_path / "county.sqlite"
    before = await publish_as_the_services(deployed, "before")
    since = await last_stored_at(admin) + timedelta(microseconds=1)
    await asyncio.sleep(0.01)  # the next messages are stored later than `since`
    first = await publish_as_the_services(deployed, "first")

    # The user and its password as options (the password from the environment); the durable name
    # is the default, county-150602: the user's name.
    status, out, err = await run_example(
        f"nats://127.0.0.1:{deployed.port}",
        db,
        "--user", COUNTY_USER,
        "--since", since.isoformat(),
        password=deployed.passwords[COUNTY_USER],
    )  # fmt: skip
    assert status == 0, err
    got = reported(out)
    assert sorted(e["event_id"] for e in got) == first
    assert not set(before) & {e["event_id"] for e in got}
    assert all(e["region_code"].startswith(COUNTY) for e in got)
    assert {e["stream"] for e in got} == {stream_for(DEPLOYED, s).name for s in SERVICES}

    # On every stream a durable named after the user, over the county's part of that stream,
    # with everything delivered and acknowledged.
    async def all_acknowledged() -> bool:
        for service in SERVICES:
            info = await admin.js.consumer_info(stream_for(DEPLOYED, service).name, COUNTY_USER)
            assert info.config.filter_subject == f"{ROOT}.15.1506.{COUNTY}.{service}.>"
            if info.num_pending or info.num_ack_pending:
                return False
        return True

    await wait_until(all_acknowledged, 10, "the county durables caught up and acknowledged")

    # Restarted (now with the password in the URL) after new events, and after the operator
    # deleted one of its durables: that one is made again from the checkpoint.
    second = await publish_as_the_services(deployed, "second")
    await admin.js.delete_consumer("PAIRING", COUNTY_USER)
    status, out, err = await run_example(deployed.url(COUNTY_USER), db, "--since", since.isoformat())
    assert status == 0, err
    assert sorted(e["event_id"] for e in reported(out)) == second
    remade = await admin.js.consumer_info("PAIRING", COUNTY_USER)
    assert remade.config.deliver_policy == DeliverPolicy.BY_START_SEQUENCE
    assert remade.config.filter_subject == f"{ROOT}.15.1506.{COUNTY}.pairing.>"

    # Nothing it did was refused: no stream information, only its own consumer API, its inbox.
    assert deployed.violations(log_start) == []


async def test_the_example_consumer_under_the_county_user_is_refused_another_durable(
    deployed: Deployed, admin: Connection, tmp_path: Path
) -> None:
    await publish_as_the_services(deployed, "only")
    log_start = deployed.log_size()
    status, out, err = await run_example(
        deployed.url(COUNTY_USER),
        tmp_path / "county.sqlite",
        "--durable", f"{COUNTY_USER}-mine",
        "--streams", "PAIRING",
    )  # fmt: skip
    assert (status, out) == (2, "")
    assert "must be the user's name" in err
    refused = f"$JS.API.CONSUMER.INFO.PAIRING.{COUNTY_USER}-mine"
    assert any(f'"{refused}"' in line for line in deployed.violations(log_start))
    assert f'permissions violation for publish to "{refused}"'.lower() in err.lower()
    assert await admin.js.consumers_info("PAIRING") == []
