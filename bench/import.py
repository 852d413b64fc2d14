"""Import N generated quarterly surveys through POST /imports/surveys and print what it sustained.

    .venv/bin/python bench/import.py [--n 100000] [--inprocess] [--quiet-service]

The monitoring service runs as a uvicorn child process (as deployed; ``--inprocess``: in this
process, behind an ASGI client) on fresh, isolated databases, subject root and streams on the
machine's PostgreSQL and NATS (or ``--database-url``/``--nats-url``, ``XINGCUN_DATABASE_URL``/
``XINGCUN_NATS_URL``), removed at the end. The CSV (one row per household, 300 villages, a tenth
of the incomes below the monitoring line) is made before anything is timed. Then:

1. import: the batch, every household new. ``rows_per_s`` is N over the request's time: when the
   answer arrives every event is stored (``events`` counts them in the event store).
2. again: the same batch; every row comes back unchanged (each household's stream is loaded and
   replayed, nothing is written).
3. dry run of a second batch over the same households: read, match and decide, nothing written.

``cpu_ms_per_row``: CPU time of the service process and of the run's PostgreSQL backends per row
over the phase. ``peak_rss_mb``: the service process's peak resident memory (VmHWM). The service's
relay (to JetStream) and projector run beside the import as they would in production: they take
their part of the same two cores (``--quiet-service`` stops them in ``--inprocess`` mode, to see
the import alone). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/import.py` puts bench/, not the repo, on the path
    sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from services.monitoring.platform.layout import IMPORT_HEADERS  # noqa: E402
from shared.auth import Role  # noqa: E402
from shared.db.engine import asyncpg_dsn  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.support.apps import ServiceProcess, running, token  # noqa: E402
from tests.support.isolation import cleanup, isolated_settings  # noqa: E402
from tests.support.monitoring import citizen_id, village_code  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
VILLAGES = 300
STATUSES = ("脱贫户", "一般农户", "低收入户")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def survey_csv(n: int, period: str = "2026Q3", surveyed_on: str = "2026-09-28") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(IMPORT_HEADERS)
    for i in range(n):
        income = "5200.00" if i % 10 == 0 else f"{9000 + i % 5000}.50"
        medical = "1200.00" if i % 7 == 0 else ""
        head = (i + 1, village_code(i % VILLAGES), f"户主{i}", citizen_id(i), STATUSES[i % 3], 1 + i % 6)
        writer.writerow([*head, period, income, medical, "", "", "", surveyed_on, f"139{i:08d}", ""])
    return buffer.getvalue().encode()


class Meter:
    """CPU seconds (user + system, from /proc) of the service and of the run's PostgreSQL backends."""

    def __init__(self, service_pid: int, probe: asyncpg.Connection, prefix: str) -> None:
        self.pid = service_pid
        self.probe = probe
        self.prefix = prefix
        self.tick = os.sysconf("SC_CLK_TCK")

    def _cpu(self, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / self.tick
        except (OSError, IndexError, ValueError):
            return 0.0

    async def snapshot(self) -> tuple[float, dict[int, float]]:
        backends = await self.probe.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname LIKE $1", self.prefix + "%"
        )
        return self._cpu(self.pid), {r[0]: self._cpu(r[0]) for r in backends}

    @staticmethod
    def ms_per_row(
        before: tuple[float, dict[int, float]], after: tuple[float, dict[int, float]], n: int
    ) -> dict[str, float]:
        postgres = sum(v - before[1].get(pid, 0.0) for pid, v in after[1].items())
        return {
            "service": round((after[0] - before[0]) * 1000 / n, 3),
            "postgres": round(postgres * 1000 / n, 3),
        }

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
        return 0.0


async def phase(
    name: str, client: httpx.AsyncClient, meter: Meter, data: bytes, n: int, **params: Any
) -> dict[str, Any]:
    log(f"{name}: {n} rows")
    before = await meter.snapshot()
    started = time.perf_counter()
    response = await client.post(
        "/imports/surveys", files={"file": ("batch.csv", data, "text/csv")}, params=params, timeout=3600
    )
    seconds = time.perf_counter() - started
    after = await meter.snapshot()
    if response.status_code != 200:
        raise RuntimeError(f"{name}: {response.status_code} {response.text[:2000]}")
    report = response.json()
    errors = report.pop("errors")
    if errors:
        raise RuntimeError(f"{name}: rows rejected: {errors[:5]}")
    return {
        "seconds": round(seconds, 2),
        "rows_per_s": round(n / seconds),
        "cpu_ms_per_row": Meter.ms_per_row(before, after, n),
        "report": report,
    }


@contextlib.asynccontextmanager
async def service(
    settings: Settings, args: argparse.Namespace, log_dir: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    headers = token(settings, Role.platform, "15")
    if args.inprocess:
        from services.monitoring.app import create

        app = create(settings)
        async with running(app) as client:
            if args.quiet_service:
                runtime = app.state.runtime
                for task in runtime.tasks:
                    task.cancel()
                await asyncio.gather(*(consumer.stop() for consumer in runtime.consumers))
            client.headers.update(headers)
            yield client, os.getpid()
        return
    process = ServiceProcess("monitoring", settings, log_dir)
    try:
        await process.start()
        assert process.process is not None
        async with httpx.AsyncClient(base_url=process.url, headers=headers) as client:
            yield client, process.process.pid
    finally:
        process.stop()


async def measure(settings: Settings, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    log(f"making {args.n} rows")
    data = survey_csv(args.n)
    second = survey_csv(args.n, period="2026Q4", surveyed_on="2026-11-20")
    probe = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        async with service(settings, args, log_dir) as (client, pid):
            meter = Meter(pid, probe, settings.database_prefix)
            result: dict[str, Any] = {
                "n": args.n,
                "mode": "in-process" if args.inprocess else "child process",
            }
            result["import"] = await phase("import", client, meter, data, args.n, batch_id="BENCH-1")
            result["again"] = await phase("again", client, meter, data, args.n, batch_id="BENCH-1")
            result["dry_run"] = await phase(
                "dry run", client, meter, second, args.n, batch_id="BENCH-2", dry_run="true"
            )
            result["peak_rss_mb"] = meter.peak_rss_mb() if not args.inprocess else _own_peak_mb()
            events = await asyncpg.connect(asyncpg_dsn(settings.service_database_url("monitoring")))
            try:
                result["events"] = await events.fetchval("SELECT count(*) FROM events")
            finally:
                await events.close()
            return result
    finally:
        await probe.close()


def prepare_log_dir(path: str) -> Path:
    log_dir = Path(path)
    log_dir.mkdir(parents=True, exist_ok=True)
    return log_dir


def dump_logs(log_dir: Path) -> None:
    for path in log_dir.glob("*.log"):
        log(f"{path.name}:\n{path.read_text()[-3000:]}")


def _own_peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def main(args: argparse.Namespace) -> int:
    database_url = args.database_url or os.environ.get("XINGCUN_DATABASE_URL") or DEFAULT_DATABASE_URL
    nats_url = args.nats_url or os.environ.get("XINGCUN_NATS_URL") or DEFAULT_NATS_URL
    settings = isolated_settings(database_url, nats_url)
    with tempfile.TemporaryDirectory(prefix="xingcun-bench-") as tmp_dir:
        log_dir = prepare_log_dir(args.log_dir or tmp_dir)
        try:
            result = await measure(settings, args, log_dir)
        except BaseException:
            dump_logs(log_dir)
            raise
        finally:
            await cleanup(settings)
    result["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="rows (households) in the batch")
    parser.add_argument("--inprocess", action="store_true", help="run the service in this process")
    parser.add_argument(
        "--quiet-service", action="store_true", help="--inprocess: stop the relay and projector first"
    )
    parser.add_argument("--log-dir", help="keep the service's log here")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (XINGCUN_DATABASE_URL)")
    parser.add_argument("--nats-url", help="a NATS JetStream URL (XINGCUN_NATS_URL)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
