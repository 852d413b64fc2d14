#!/usr/bin/env python3
"""Follow one county's xingcun events from a date on, with plain nats-py and a local checkpoint.

A self-contained example for systems that build on xingcun's events: it imports nothing from
xingcun, only ``nats-py`` (2.x) and the standard library (Python 3.11+). Copy it and replace
``Store.keep`` (what is kept) and ``show`` (what is done after) with your own.

For each stream (PAIRING, MONITORING, REPORTING, NOTIFICATION by default) it keeps a durable pull
consumer of its own on the server, filtered to the county's part of the stream
(``<root>.<province 2>.<city 4>.<county 6>.<service>.>``). The first time, it starts at ``--since``
(JetStream's DeliverPolicy.BY_START_TIME: the time each event reached the stream). After that the
server remembers what was acknowledged, and a SQLite file remembers what was handled:

* ``events``: each event kept, by ``event_id``. An event comes again when JetStream redelivers one
  whose acknowledgement was lost, or when xingcun republishes it (its relay may, after a crash,
  once JetStream's duplicate window has passed); the primary key keeps it once.
* ``checkpoints``: the last stream sequence handled per stream, in the same transaction as the
  event. A message at or below it is acknowledged without being handled again; and if the durable
  consumer is gone (deleted, or the stream restored elsewhere), it is made again from the
  checkpoint on, not from ``--since``.

    python consumer.py --county 150602 --since 2026-01-01 --durable county-150602-mydept \\
        --nats-url nats://nats.example:4222 --creds county-150602.creds --db county-150602.sqlite

Each new event is printed as one JSON line on stdout; messages about the run go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
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
from nats.js.errors import NotFoundError

CHINA = timezone(timedelta(hours=8), "CST")
STREAMS = ("PAIRING", "MONITORING", "REPORTING", "NOTIFICATION")
STREAM_MISSING_RETRY_S = 5.0
# A fetch waits this long for a full batch once a first event came: an event is handled within it.
POLL_S = 1.0
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


def county_filter(root: str, county: str) -> str:
    """The subjects of one county: ``<root>.15.1506.150602.>`` for county 150602."""
    if not re.fullmatch(r"\d{6}", county):
        raise ValueError(f"a county is a 6-digit division code, not {county!r}")
    return f"{root}.{county[:2]}.{county[:4]}.{county}.>"


def narrow(stream_subject: str, county: str) -> str | None:
    """The subjects both patterns match, as one pattern (None if they share none):
    ``xingcun.*.*.*.pairing.>`` and ``xingcun.15.1506.150602.>`` give
    ``xingcun.15.1506.150602.pairing.>``."""
    mine, theirs = stream_subject.split("."), county.split(".")
    out: list[str] = []
    for i, token in enumerate(mine):
        if i >= len(theirs):
            return None
        other = theirs[i]
        if token == ">":
            return ".".join(out + theirs[i:])
        if other == ">":
            return ".".join(out + mine[i:])
        if token != "*" and other not in ("*", token):
            return None
        out.append(other if token == "*" else token)
    return ".".join(out) if len(mine) == len(theirs) else None


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
    """The stream holds none of the county's subjects, or the durable name is taken."""


async def attach(
    js: JetStreamContext,
    stream: str,
    durable: str,
    county: str,
    since: datetime | None,
    store: Store,
) -> JetStreamContext.PullSubscription:
    """Bind to this consumer's durable on ``stream``, creating it the first time.

    ``county`` is the county's subject filter (see ``county_filter``).
    """
    try:
        stream_info = await js.stream_info(stream)
    except NotFoundError:
        raise StreamMissing(stream) from None
    # The server takes only a filter inside the stream's own subjects: the county's part of each.
    filters = [f for s in stream_info.config.subjects or [] if (f := narrow(s, county)) is not None]
    if not filters:
        raise CannotFollow(f"{stream} holds no subjects of {county}: is --root right?")
    try:
        info = await js.consumer_info(stream, durable)
    except NotFoundError:
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
        if len(filters) == 1:
            start["filter_subject"] = filters[0]
        else:
            start["filter_subjects"] = filters
        config = ConsumerConfig(
            # With a name and one filter, nats-py asks $JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>:
            # the server's permissions can then allow a county's credentials its own subjects only.
            name=durable,
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=30,
            max_ack_pending=1000,
            **start,
        )
        await js.add_consumer(stream, config)
        where = {k: v for k, v in start.items() if k != "deliver_policy"}
        print(f"{stream}: created durable consumer {durable!r}: {where}", file=sys.stderr)
    else:
        existing = info.config.filter_subjects or [info.config.filter_subject]
        if sorted(existing) != sorted(filters):
            raise CannotFollow(
                f"{stream}: durable {durable!r} exists with filter {existing}, not {filters}: "
                "choose another --durable"
            )
        if since is not None:
            print(f"{stream}: durable {durable!r} exists; going on where it left off", file=sys.stderr)
    return await js.pull_subscribe_bind(durable=durable, stream=stream)


async def follow(
    js: JetStreamContext,
    stream: str,
    args: argparse.Namespace,
    store: Store,
) -> int:
    """Handle the stream's events for this county; the number of new ones."""
    county = county_filter(args.root, args.county)
    since = parse_since(args.since) if args.since else None
    while True:
        try:
            sub = await attach(js, stream, args.durable, county, since, store)
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


async def run(args: argparse.Namespace) -> int:
    store = Store(args.db)
    nc: Client = await nats.connect(
        servers=args.nats_url.split(","),
        user_credentials=args.creds,
        name=f"xingcun-consumer-{args.durable}",
        max_reconnect_attempts=-1,
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
    p.add_argument("--durable", required=True, help="this consumer's durable name, unique per stream")
    p.add_argument(
        "--since",
        help="the first time only: from this date (China midnight) or ISO date-time; default: all",
    )
    p.add_argument("--nats-url", default="nats://127.0.0.1:4222", help="comma-separated server URLs")
    p.add_argument("--creds", help="a NATS credentials file, if the server asks for one")
    p.add_argument("--root", default="xingcun", help="the subject root (default xingcun)")
    p.add_argument(
        "--streams",
        nargs="+",
        default=list(STREAMS),
        help="stream names, with the deployment's prefix if it has one (default: %(default)s)",
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
    args = parser().parse_args(argv)
    county_filter(args.root, args.county)  # refuse a bad county before connecting
    if args.since:
        parse_since(args.since)

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
