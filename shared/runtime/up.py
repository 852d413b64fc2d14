"""``xingcun up``: PostgreSQL, NATS and the four services on one machine, until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from shared.runtime.embedded import NatsServer, Postgres, free_port, port_open
from shared.runtime.mail_sink import start_mail_sink
from shared.runtime.state import (
    DATA_DIR,
    RUNTIME_ENV,
    auth_secret,
    personal_data_key,
    write_runtime_env,
)
from shared.settings import SERVICES

DEFAULT_NATS_PORT = 14222  # never 4222: a machine's own NATS may hold it
DEFAULT_PORT_BASE = 8101


def _nats_port(data_dir: Path) -> int:
    saved = data_dir / "nats-port"
    if saved.exists():
        return int(saved.read_text())
    port = DEFAULT_NATS_PORT if not port_open("127.0.0.1", DEFAULT_NATS_PORT) else free_port()
    saved.write_text(str(port))
    return port


def _wait_ready(url: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    last = "not answering"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{url}/readyz", timeout=2)
            if response.status_code == 200:
                return "ready"
            last = str(response.json().get("checks"))
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return f"NOT READY ({last})"


def up(data_dir: Path = DATA_DIR, port_base: int | None = None) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "logs").mkdir(exist_ok=True)
    port_base = port_base or int(os.environ.get("XINGCUN_PORT_BASE", DEFAULT_PORT_BASE))
    postgres = nats = mail = None
    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        database_url = os.environ.get("XINGCUN_DATABASE_URL")
        if not database_url:
            postgres = Postgres((data_dir / "pg").resolve()).start()
            database_url = postgres.url
        nats_url = os.environ.get("XINGCUN_NATS_URL")
        if not nats_url:
            nats = NatsServer((data_dir / "nats").resolve(), port=_nats_port(data_dir)).start()
            nats_url = nats.url
        env = {
            **os.environ,
            "XINGCUN_DATABASE_URL": database_url,
            "XINGCUN_NATS_URL": nats_url,
            "XINGCUN_AUTH_SECRET": auth_secret(data_dir),
            "XINGCUN_PERSONAL_DATA_KEY": personal_data_key(data_dir),
        }
        if "XINGCUN_NOTIFICATION_LINK_BASE" not in os.environ:
            # the dashboard is reporting's, the third service
            env["XINGCUN_NOTIFICATION_LINK_BASE"] = f"http://127.0.0.1:{port_base + 2}/dashboard"
        if "XINGCUN_SMTP_HOST" not in os.environ:
            # No mail server given: alerts are kept as files rather than lost to a closed port 25.
            mail = start_mail_sink((data_dir / "mail").resolve())
            env |= {"XINGCUN_SMTP_HOST": "127.0.0.1", "XINGCUN_SMTP_PORT": str(mail.port)}
        urls = {}
        for offset, service in enumerate(SERVICES):
            port = port_base + offset
            urls[service] = f"http://127.0.0.1:{port}"
            log = (data_dir / "logs" / f"{service}.log").open("ab")
            children[service] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    f"services.{service}.app:create",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-access-log",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        write_runtime_env(
            {
                "XINGCUN_DATABASE_URL": database_url,
                "XINGCUN_NATS_URL": nats_url,
                **{f"XINGCUN_{s.upper()}_URL": u for s, u in urls.items()},
            },
            data_dir,
        )
        print(f"{'PostgreSQL':<14}{database_url}")
        print(f"{'NATS':<14}{nats_url}")
        if mail:
            print(f"{'e-mail':<14}kept in {(data_dir / 'mail').resolve()} (no XINGCUN_SMTP_HOST given)")
        for service, url in urls.items():
            print(f"{service:<14}{url}  {_wait_ready(url, 60)}  (docs: {url}/docs)")
        print(f"data and logs in {data_dir.resolve()}; Ctrl-C stops everything")
        while not stopping:
            for service, child in children.items():
                if child.poll() is not None:
                    print(f"{service} exited with {child.returncode}; see {data_dir}/logs/{service}.log")
                    stopping = True
            time.sleep(0.5)
        return 0
    finally:
        print("stopping…")
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        if mail:
            mail.stop()
        if nats:
            nats.stop()
        if postgres:
            postgres.stop()
        (data_dir / RUNTIME_ENV).unlink(missing_ok=True)
        print("stopped")
