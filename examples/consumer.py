#!/usr/bin/env python3
"""Follow one county's xingcun events from a date on, with plain nats-py and a local checkpoint.

A self-contained example for systems that build on xingcun's events: it imports nothing from
xingcun, only ``nats-py`` (2.x) and the standard library (Python 3.11+). Copy it and replace
``Store.keep`` (what is kept) and ``show`` (what is done after) with your own.

For each stream (PAIRING, MONITORING, REPORTING, NOTIFICATION by default) it keeps a durable pull
consumer of its own on the server, named ``--durable``, filtered to the county's part of the stream:
``<root>.<province 2>.<city 4>.<county 6>.<service>.>``, the service being the stream's name without
the deployment's prefix, in lower case. It needs no stream information (a county's credentials may
not read it); it creates the consumer through the JetStream API subject that names the filter,
which is what a county's credentials are allowed. The first time, it starts at ``--since``
(JetStream's DeliverPolicy.BY_START_TIME: the time each event reached the stream). After that the
server remembers what was acknowledged, and a SQLite file remembers what was handled:

* ``events``: each event kept, by ``event_id``. An event comes again when JetStream redelivers one
  whose acknowledgement was lost, or when xingcun republishes it (its relay may, after a crash,
  once JetStream's duplicate window has passed); the primary key keeps it once.
* ``checkpoints``: the last stream sequence handled per stream, in the same transaction as the
  event. A message at or below it is acknowledged without being handled again; and if the durable
  consumer is gone (deleted, or the stream restored elsewhere), it is made again from the
  checkpoint on, not from ``--since``.

    NATS_PASSWORD=… python consumer.py --county 150602 --since 2026-01-01 \\
        --nats-url nats://nats.example:4222 --user county-150602 --inbox-prefix _INBOX_county-150602 \\
        --db county-150602.sqlite

Under a county user of xingcun's deploy/nats/accounts.conf the durable name must be the user's
name (the default, ``county-<county>``) and the inbox prefix ``_INBOX_<user>``.

Each new event is printed as one JSON line on stdout; messages about the run go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import sqlite3
import sys
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import APIError, NotFoundError

CHINA = timezone(timedelta(hours=8), "CST")
STREAMS = ("PAIRING", "MONITORING", "REPORTING", "NOTIFICATION")
STREAM_MISSING_RETRY_S = 5.0
# A fetch waits this long for a full batch once a first event came: an event is handled within it.
POLL_S = 1.0
# JetStream's error codes this example tells apart.
STREAM_NOT_FOUND = 10059
FILTER_OUTSIDE_STREAM = 10093
# What this example reads of an envelope (docs/events.md lists all of its fields).
ENVELOPE_KEYS = {"event_id", "type", "schema_version", "region_code", "occurred_at", "data"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    stream   TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    event_id       TEXT PRIMARY KEY,
    type           TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    region_code    TEXT NOT NULL,
    occurred_at    TEXT NOT NULL,
    stream         TEXT NOT NULL,
    stream_seq     INTEGER NOT NULL,
    subject        TEXT NOT NULL,
    envelope       TEXT NOT NULL
);
"""


def check_county(county: str) -> str:
    if not re.fullmatch(r"\d{6}", county):
        raise ValueError(f"a county is a 6-digit division code, not {county!r}")
    return county


def service_of(stream: str, prefix: str) -> str:
    """The service whose events a stream holds: ``X_PAIRING`` with prefix ``X_`` is ``pairing``."""
    if not stream.startswith(prefix):
        raise ValueError(f"stream {stream!r} does not start with the stream prefix {prefix!r}")
    service = stream[len(prefix) :].lower()
    if not re.fullmatch(r"[a-z0-9_-]+", service):
        raise ValueError(f"stream {stream!r} with prefix {prefix!r} names no service")
    return service


def stream_filter(root: str, county: str, service: str) -> str:
    """The county's part of a service's stream: ``<root>.15.1506.150602.pairing.>`` for 150602.

    Within the stream's subjects (``<root>.*.*.*.pairing.>``), which nats-server before 2.10
    requires of a filter, and within ``<root>.15.1506.150602.>``, which a county's credentials
    require.
    """
    check_county(county)
    return f"{root}.{county[:2]}.{county[:4]}.{county}.{service}.>"


def parse_since(text: str) -> datetime:
    """An ISO date (from midnight, China time) or date-time (China time unless it names a zone)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.combine(date.fromisoformat(text), time(), CHINA)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Store:
    """The local SQLite file: the events kept, and per stream the last sequence handled."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path)
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def last_seq(self, stream: str) -> int | None:
        row = self.db.execute("SELECT last_seq FROM checkpoints WHERE stream = ?", (stream,)).fetchone()
        return None if row is None else int(row[0])

    def keep(self, stream: str, seq: int, subject: str, envelope: dict[str, Any]) -> bool:
        """Keep the event and move the checkpoint, in one transaction; False if it was kept before."""
        with self.db:
            inserted = self.db.execute(
                "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    envelope["event_id"],
                    envelope["type"],
                    envelope["schema_version"],
                    envelope["region_code"],
                    envelope["occurred_at"],
                    stream,
                    seq,
                    subject,
                    json.dumps(envelope, ensure_ascii=False),
                ),
            ).rowcount
            self._advance(stream, seq)
        return inserted == 1

    def skip(self, stream: str, seq: int) -> None:
        """Move the checkpoint past a message that is not an event (nothing to keep)."""
        with self.db:
            self._advance(stream, seq)

    def _advance(self, stream: str, seq: int) -> None:
        self.db.execute(
            "INSERT INTO checkpoints VALUES (?, ?) "
            "ON CONFLICT (stream) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)",
            (stream, seq),
        )


def show(envelope: dict[str, Any], stream: str, seq: int) -> None:
    """What this example does with a new event: one JSON line on stdout."""
    line = {
        "stream": stream,
        "seq": seq,
        "event_id": envelope["event_id"],
        "type": envelope["type"],
        "schema_version": envelope["schema_version"],
        "region_code": envelope["region_code"],
        "occurred_at": envelope["occurred_at"],
        "data": envelope["data"],
    }
    print(json.dumps(line, ensure_ascii=False), flush=True)


def handle(store: Store, stream: str, msg: Msg) -> dict[str, Any] | None:
    """The event a message carries if it is new to this consumer, after keeping it; else None.

    The caller acknowledges the message afterwards in either case: if the process dies before
    that, JetStream delivers it again and the checkpoint (or the event id) recognises it.
    """
    seq = msg.metadata.sequence.stream
    last = store.last_seq(stream)
    if last is not None and seq <= last:
        return None
    try:
        envelope = json.loads(msg.data)
        if not isinstance(envelope, dict) or not envelope.keys() >= ENVELOPE_KEYS:
            raise ValueError("not an event envelope")
    except ValueError as bad:
        print(f"{stream} #{seq} on {msg.subject} skipped: {bad}", file=sys.stderr)
        store.skip(stream, seq)
        return None
    return envelope if store.keep(stream, seq, msg.subject, envelope) else None


class StreamMissing(LookupError):
    """The stream does not exist (yet): its service has not published anything."""


class CannotFollow(RuntimeError):
    """The durable name is taken with another filter, the stream cannot hold the county's
    subjects, or the server's permissions refused the consumer."""


async def attach(
    js: JetStreamContext,
    stream: str,
    durable: str,
    filter_subject: str,
    since: datetime | None,
    store: Store,
) -> JetStreamContext.PullSubscription:
    """Bind to this consumer's durable on ``stream``, creating it the first time.

    ``filter_subject`` is the county's part of the stream (see ``stream_filter``).
    """
    try:
        info = await js.consumer_info(stream, durable)
    except NotFoundError as missing:
        if missing.err_code == STREAM_NOT_FOUND:
            raise StreamMissing(stream) from None
        info = None
    except TimeoutError:  # nats-py raises its own subclass
        raise unanswered(stream, durable) from None
    if info is None:
        await create(js, stream, durable, filter_subject, since, store)
    else:
        existing = info.config.filter_subjects or [info.config.filter_subject]
        if existing != [filter_subject]:
            raise CannotFollow(
                f"{stream}: durable {durable!r} exists with filter {existing}, not {filter_subject}: "
                "choose another --durable"
            )
        if since is not None:
            print(f"{stream}: durable {durable!r} exists; going on where it left off", file=sys.stderr)
    return await js.pull_subscribe_bind(durable=durable, stream=stream)


async def create(
    js: JetStreamContext,
    stream: str,
    durable: str,
    filter_subject: str,
    since: datetime | None,
    store: Store,
) -> None:
    """The durable consumer, from the checkpoint if there is one, else from ``since``."""
    last = store.last_seq(stream)
    if last is not None:  # handled before: go on from there, whatever --since says
        start: dict[str, Any] = {
            "deliver_policy": DeliverPolicy.BY_START_SEQUENCE,
            "opt_start_seq": last + 1,
        }
    elif since is not None:
        # An RFC 3339 string, which every nats-py 2.x accepts (newer ones also take a datetime).
        start = {"deliver_policy": DeliverPolicy.BY_START_TIME, "opt_start_time": rfc3339(since)}
    else:
        start = {"deliver_policy": DeliverPolicy.ALL}
    config = ConsumerConfig(
        # With a name and one filter_subject (never filter_subjects), nats-py asks
        # $JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>: the only form a county's credentials
        # may use, as the server's permissions can check the filter in the subject.
        name=durable,
        durable_name=durable,
        filter_subject=filter_subject,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=30,
        max_ack_pending=1000,
        **start,
    )
    try:
        await js.add_consumer(stream, config)
    except NotFoundError as missing:
        if missing.err_code == STREAM_NOT_FOUND:
            raise StreamMissing(stream) from None
        raise
    except APIError as refused:
        if refused.err_code == FILTER_OUTSIDE_STREAM:  # nats-server before 2.10 only
            raise CannotFollow(
                f"{stream} does not hold {filter_subject}: are --root and --stream-prefix right?"
            ) from None
        raise
    except TimeoutError:  # nats-py raises its own subclass
        raise unanswered(stream, durable) from None
    where = {k: v for k, v in start.items() if k != "deliver_policy"}
    print(f"{stream}: created durable consumer {durable!r} on {filter_subject}: {where}", file=sys.stderr)


def unanswered(stream: str, durable: str) -> CannotFollow:
    # A request the server's permissions refuse gets no answer; the refusal itself comes to
    # on_error (stderr).
    return CannotFollow(
        f"{stream}: JetStream did not answer about consumer {durable!r}. Under a county user, "
        "--durable must be the user's name, --inbox-prefix _INBOX_<user> and --root the "
        "deployment's; see any permissions violation above"
    )


async def follow(
    js: JetStreamContext,
    stream: str,
    args: argparse.Namespace,
    store: Store,
) -> int:
    """Handle the stream's events for this county; the number of new ones."""
    subjects = stream_filter(args.root, args.county, service_of(stream, args.stream_prefix))
    since = parse_since(args.since) if args.since else None
    while True:
        try:
            sub = await attach(js, stream, args.durable, subjects, since, store)
            break
        except StreamMissing:
            if args.until_idle is not None:
                print(f"{stream}: no such stream, skipped", file=sys.stderr)
                return 0
            await asyncio.sleep(STREAM_MISSING_RETRY_S)
    new = 0
    while True:
        try:
            messages = await sub.fetch(args.batch, timeout=args.until_idle or POLL_S)
        except TimeoutError:  # nats-py raises its own subclass, or asyncio's
            if args.until_idle is not None:
                return new
            continue
        # One at a time, in stream order, each acknowledged after it is kept.
        for msg in messages:
            envelope = handle(store, stream, msg)
            if envelope is not None:
                new += 1
                show(envelope, stream, msg.metadata.sequence.stream)
            await msg.ack()


async def on_error(error: Exception) -> None:
    # Permissions violations come here (the refused request itself just gets no answer).
    print(error, file=sys.stderr)  # nats-py's errors begin with "nats: "


async def run(args: argparse.Namespace) -> int:
    store = Store(args.db)
    # A user and password may also be in the URL (nats://user:password@host:4222).
    login = {"user": args.user, "password": args.password} if args.user else {}
    nc: Client = await nats.connect(
        servers=args.nats_url.split(","),
        user_credentials=args.creds,
        inbox_prefix=args.inbox_prefix,
        name=f"xingcun-consumer-{args.durable}",
        error_cb=on_error,
        max_reconnect_attempts=-1,
        **login,
    )
    try:
        js = nc.jetstream()
        counts = await asyncio.gather(*(follow(js, stream, args, store) for stream in args.streams))
        print(f"{sum(counts)} new events", file=sys.stderr)
        return 0
    finally:
        # Acknowledgements are buffered: flush them out before closing. (Not drain(): with pull
        # subscriptions it waits for its whole timeout in nats-py 2.16.)
        with contextlib.suppress(Exception):
            await nc.flush(timeout=5)
        await nc.close()
        store.close()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--county", required=True, help="6-digit county division code, e.g. 150602")
    p.add_argument(
        "--durable",
        help="this consumer's durable name on each stream (default: county-<county>); under a "
        "county user of xingcun's accounts it must be the user's name",
    )
    p.add_argument(
        "--since",
        help="the first time only: from this date (China midnight) or ISO date-time; default: all",
    )
    p.add_argument("--nats-url", default="nats://127.0.0.1:4222", help="comma-separated server URLs")
    p.add_argument("--creds", help="a NATS credentials file, if the server asks for one")
    p.add_argument("--user", help="a NATS user (or put user:password in the URL)")
    p.add_argument(
        "--password",
        default=os.environ.get("NATS_PASSWORD"),
        help="its password (default: $NATS_PASSWORD, which keeps it out of the process list)",
    )
    p.add_argument(
        "--inbox-prefix",
        default="_INBOX",
        help="where replies and pulled messages come (default: %(default)s); a county user of "
        "xingcun's accounts may use only _INBOX_<user>",
    )
    p.add_argument("--root", default="xingcun", help="the subject root (default xingcun)")
    p.add_argument(
        "--stream-prefix",
        default="",
        help="the deployment's stream name prefix (its XINGCUN_STREAM_PREFIX; default: none)",
    )
    p.add_argument(
        "--streams",
        nargs="+",
        help=f"stream names, each the prefix and a service in capitals (default: {' '.join(STREAMS)}, "
        "prefixed)",
    )
    p.add_argument("--db", default="county-events.sqlite", help="the local SQLite file")
    p.add_argument("--batch", type=int, default=100, help="messages fetched per request")
    p.add_argument(
        "--until-idle",
        type=float,
        metavar="SECONDS",
        help="stop once every stream has had nothing new for SECONDS (catch up and exit, e.g. from cron)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    args.durable = args.durable or f"county-{args.county}"
    args.streams = args.streams or [args.stream_prefix + name for name in STREAMS]
    try:  # refuse a bad county, stream or date before connecting
        check_county(args.county)
        for stream in args.streams:
            service_of(stream, args.stream_prefix)
        if args.since:
            parse_since(args.since)
    except ValueError as bad:
        p.error(str(bad))

    async def main_task() -> int:
        task = asyncio.current_task()
        assert task is not None
        # SIGTERM ends the run like Ctrl-C: whatever was kept stays kept, the rest comes again.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await run(args)

    try:
        return asyncio.run(main_task())
    except CannotFollow as refused:
        print(refused, file=sys.stderr)
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 0  # stopped on request (Ctrl-C, SIGTERM): a normal end


if __name__ == "__main__":
    sys.exit(main())
