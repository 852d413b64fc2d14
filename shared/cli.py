"""The ``xingcun`` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.settings import SERVICES


def _token(args: argparse.Namespace) -> int:
    from shared.auth import Role, issue_token
    from shared.runtime.state import auth_secret

    token = issue_token(
        auth_secret().encode(),
        subject=args.subject,
        role=Role(args.role),
        region=args.region,
        now=datetime.now(UTC),
        ttl=timedelta(hours=args.hours),
        enterprise_id=uuid.UUID(args.enterprise_id) if args.enterprise_id else None,
    )
    print(token)
    return 0


def _up(args: argparse.Namespace) -> int:
    from shared.runtime.up import up

    return up(port_base=args.port_base)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(f"services.{args.service}.app:create", factory=True, host=args.host, port=args.port)
    return 0


def _contract(args: argparse.Namespace) -> int:
    from shared.events.contract import write_contract

    written = write_contract(Path(args.root))
    print("\n".join(written) if written else "contract files are up to date")
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    import uvloop

    from shared.runtime.rebuild import rebuild_projection

    # The event loop the services run on (uvicorn takes uvloop): a replay is mostly receiving
    # messages, where uvloop spends a fifth less (bench/README.md, rebuild.py).
    count = uvloop.run(rebuild_projection(args.projection))
    print(f"rebuilt {args.projection} from {count} events")
    return 0


def _status(args: argparse.Namespace) -> int:
    from shared.runtime.ops import render_status, service_urls, status

    rows = asyncio.run(status(service_urls()))
    print(render_status(rows))
    return 0 if all(row.state == "ready" for row in rows) else 1


def _dead_letters(args: argparse.Namespace) -> int:
    from shared.runtime.ops import CannotRetry, dead_letters, retry_dead_letter
    from shared.settings import Settings

    settings = Settings()
    if args.action == "list":
        services = (args.service,) if args.service else SERVICES
        letters = asyncio.run(dead_letters(settings, services))
        for letter in letters:
            print(json.dumps(letter, ensure_ascii=False, default=str))
        print(f"{len(letters)} dead letters", file=sys.stderr)
        return 0
    if not args.service or args.id is None:
        print("retry needs --service and --id (see `xingcun dead-letters list`)", file=sys.stderr)
        return 2
    try:
        print(asyncio.run(retry_dead_letter(settings, args.service, args.id)))
    except CannotRetry as refused:
        print(refused, file=sys.stderr)
        return 1
    return 0


def _tail(args: argparse.Namespace) -> int:
    from shared.runtime.ops import tail
    from shared.settings import Settings

    since = datetime.fromisoformat(args.since) if args.since else None
    if since is not None and since.tzinfo is None:
        print("--since needs a time zone, e.g. 2026-11-29T08:00:00+08:00", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a tail ends
        asyncio.run(tail(Settings(), args.subject, since, args.limit))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from shared.runtime.demo import demo_command

    return demo_command(seed=args.seed, scale=args.scale, concurrency=args.concurrency, county=args.county)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xingcun", description=__doc__)
    commands = parser.add_subparsers(required=True)

    up = commands.add_parser("up", help="run PostgreSQL, NATS and the four services")
    up.add_argument("--port-base", type=int, default=None, help="first HTTP port (default 8101)")
    up.set_defaults(run=_up)

    serve = commands.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("service", choices=SERVICES)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8101)
    serve.set_defaults(run=_serve)

    token = commands.add_parser("token", help="issue a bearer token for local use")
    token.add_argument("--role", required=True)
    token.add_argument("--region", required=True, help="division-code prefix, e.g. 150602")
    token.add_argument("--subject", default="local-user")
    token.add_argument("--hours", type=int, default=12)
    token.add_argument("--enterprise-id", help="for --role enterprise: the enterprise it acts for")
    token.set_defaults(run=_token)

    rebuild = commands.add_parser("rebuild", help="drop a projection and replay it from the stream")
    rebuild.add_argument("projection", help="e.g. pairing-facts")
    rebuild.set_defaults(run=_rebuild)

    status = commands.add_parser(
        "status", help="each service: ready, outbox backlog, dead letters, consumer lags"
    )
    status.set_defaults(run=_status)

    letters = commands.add_parser("dead-letters", help="list the events consumers gave up on, or retry one")
    letters.add_argument("action", choices=("list", "retry"))
    letters.add_argument("--service", choices=SERVICES)
    letters.add_argument("--id", type=int, help="retry: the dead letter's id (from list)")
    letters.set_defaults(run=_dead_letters)

    events = commands.add_parser("events", help="read the event streams")
    events_commands = events.add_subparsers(required=True)
    tail = events_commands.add_parser("tail", help="print events on a subject as they are published")
    tail.add_argument(
        "subject", help="a subject filter, e.g. xingcun.15.1506.150602.> or 'xingcun.*.*.*.monitoring.>'"
    )
    tail.add_argument("--since", help="from this moment on (ISO 8601 with a zone) instead of new events only")
    tail.add_argument("--limit", type=int, help="stop after this many")
    tail.set_defaults(run=_tail)

    demo = commands.add_parser("demo", help="load a synthetic county through the running services' APIs")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--scale", type=float, default=1.0, help="share of the full county (3,000 households)")
    demo.add_argument("--concurrency", type=int, default=12, help="API calls at once")
    demo.add_argument("--county", default=None, help="a county of XINGCUN_COUNTIES (default: the first)")
    demo.set_defaults(run=_demo)

    contract = commands.add_parser("contract", help="write docs/events.md, docs/asyncapi.json and schemas/")
    contract.add_argument("--root", default=".")
    contract.set_defaults(run=_contract)

    args = parser.parse_args(argv)
    if args.run is not _up:
        # Commands other than `up` find a running `xingcun up` through its runtime.env.
        from shared.runtime.state import load_runtime_env

        load_runtime_env()
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
