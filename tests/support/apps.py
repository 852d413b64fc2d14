"""Running services for a test: in-process (lifespan + ASGI client) or as a real child process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI

from shared.auth import Role, issue_token
from shared.runtime.embedded import free_port, kill_process, stop_process
from shared.settings import Settings
from tests.support.isolation import settings_env

REPO = Path(__file__).resolve().parents[2]


def token(
    settings: Settings, role: Role, region: str, subject: str = "tester", enterprise_id: str | None = None
) -> dict[str, str]:
    value = issue_token(
        settings.secret_bytes,
        subject=subject,
        role=role,
        region=region,
        now=datetime.now(UTC),
        ttl=timedelta(hours=1),
        enterprise_id=uuid.UUID(enterprise_id) if enterprise_id else None,
    )
    return {"authorization": f"Bearer {value}"}


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app's lifespan (database, NATS, relay, subscribers) and give an HTTP client to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


class ServiceProcess:
    """One service under uvicorn in a child process, to be killed with SIGKILL mid-work."""

    def __init__(self, service: str, settings: Settings, log_dir: Path, **env: str) -> None:
        self.service = service
        self.settings = settings
        self.port = free_port()
        self.log_path = log_dir / f"{service}-{self.port}.log"
        self.env = {**os.environ, **settings_env(settings), **env}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, ready_within: float = 60) -> ServiceProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: ASYNC220 - a child that outlives this call
            [
                sys.executable,
                "-m",
                "uvicorn",
                f"services.{self.service}.app:create",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
            ],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        await wait_until(self._ready, ready_within, f"{self.service} ready (log: {self.log_path})")
        return self

    async def _ready(self) -> bool:
        if self.process and self.process.poll() is not None:
            raise RuntimeError(f"{self.service} exited: {self.log_path.read_text()[-3000:]}")
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{self.url}/readyz", timeout=2)).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        kill_process(self.process)

    def stop(self) -> None:
        stop_process(self.process)


async def wait_until(
    condition: Callable[[], object],
    timeout: float,  # noqa: ASYNC109 - a polling deadline, not a cancellation timeout
    what: str,
    interval: float = 0.05,
) -> None:
    """Poll ``condition`` (sync or async) until it is truthy; fail the test after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)
