"""One bootstrap for every service: database, migrations, NATS, relay, subscribers, HTTP app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Container, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.auth import Principal
from shared.clock import Clock, SystemClock
from shared.db import migrate
from shared.db.engine import create_engine, create_pool, ensure_database
from shared.events.subjects import region_filter, stream_for
from shared.eventstore.context import CommandContext
from shared.eventstore.store import EventStore
from shared.http import problems
from shared.http.nul_guard import RefuseNul
from shared.messaging.append_signal import AppendSignal, wake_subject
from shared.messaging.projector import Projection, Projector
from shared.messaging.relay import OutboxRelay
from shared.messaging.streams import connect, ensure_stream
from shared.messaging.subscriber import BatchHandler, ProjectorConsumer
from shared.observability.correlation import CORRELATION_HEADER, current_correlation
from shared.observability.http import ObserveRequests
from shared.observability.logs import configure_logging
from shared.observability.metrics import CONTENT_TYPE, LatencyHistogram, render
from shared.observability.service_metrics import MetricsSource, consumer_lags, outbox_and_dead_letters
from shared.runtime.collector import tune_collector
from shared.settings import ServiceName, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Consumes:
    """A projection a service feeds from a service's stream.

    ``event_types``, when given, are the only events delivered to it. Only for types whose streams
    hold nothing else (e.g. a project's): a checkpoint counts every version of a stream, so a
    stream that came through in part would wait for its missing versions forever.
    """

    source: ServiceName
    build: Callable[[], Projection]
    event_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Handles:
    """A handler a service feeds from a service's stream without a projector's checkpoints: its
    writes are idempotent, so a redelivered batch changes nothing, and it may start anywhere in a
    stream (the notification router). ``build`` gets the service's engine."""

    source: ServiceName
    build: Callable[[AsyncEngine], BatchHandler]
    event_types: tuple[str, ...] = ()


@dataclass
class Runtime:
    """What a running service holds; reached from handlers through ``request.app.state.runtime``."""

    service: ServiceName
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    store: EventStore
    nc: Client
    js: JetStreamContext
    relay: OutboxRelay
    consumers: list[ProjectorConsumer] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def command_context(request: Request, principal: Principal) -> CommandContext:
    """Who asks, when, and the correlation id that follows the request through its events."""
    correlation = current_correlation() or request.headers.get(CORRELATION_HEADER) or str(uuid4())
    return CommandContext(
        actor=principal.actor(), now=runtime_of(request).clock.now(), correlation_id=correlation
    )


async def start_runtime(
    service: ServiceName, settings: Settings, clock: Clock, consumes: Sequence[Consumes | Handles]
) -> Runtime:
    url = settings.service_database_url(service)
    await ensure_database(settings.database_url, settings.database_name(service))
    engine = create_engine(url, application=f"xingcun-{service}", pool_size=5)
    pool = await create_pool(url, application=f"xingcun-{service}-store")
    await migrate.upgrade(engine, service)

    nc = await connect(settings.nats_url, f"xingcun-{service}")
    js = nc.jetstream()
    own = stream_for(settings, service)
    await ensure_stream(js, own, owner=True)
    consumers = []
    for consumed in consumes:
        spec = stream_for(settings, consumed.source)
        await ensure_stream(js, spec, owner=False)
        handler: BatchHandler = (
            consumed.build(engine)
            if isinstance(consumed, Handles)
            else Projector(engine, consumed.build(), max_attempts=settings.max_apply_attempts)
        )
        consumers.append(
            ProjectorConsumer(
                js,
                handler,
                spec,
                subjects=[
                    region_filter(settings.subject_root, "", *t.split(".", 1)) for t in consumed.event_types
                ],
                batch_size=settings.consumer_batch_size,
                idle_wait_s=settings.consumer_idle_wait_s,
                ack_wait_s=settings.consumer_ack_wait_s,
            )
        )
    relay = OutboxRelay(
        url,
        js,
        subject_root=settings.subject_root,
        stream_name=own.name,
        batch_size=settings.relay_batch_size,
        ack_timeout=settings.relay_ack_timeout,
    )
    signal = AppendSignal(nc, wake_subject(settings.subject_root, service))
    await signal.listen(relay.wake)
    store = EventStore(pool, after_append=signal.appended)
    runtime = Runtime(service, settings, clock, engine, store, nc, js, relay, consumers)
    runtime.tasks.append(asyncio.create_task(relay.run(), name=f"{service}-relay"))
    for consumer in consumers:
        consumer.start()
    return runtime


async def events_behind(runtime: Runtime, names: Container[str] | None = None) -> int:
    """How many events the service's consumers (those named, else all) have yet to take in from
    what their streams hold now."""
    behind = 0
    for consumer in runtime.consumers:
        if names is None or consumer.name in names:
            try:
                info = await runtime.js.consumer_info(consumer.spec.name, consumer.name)
            except NotFoundError:
                behind += 1  # not created yet (the service is starting): it has taken in nothing
                continue
            behind += info.num_pending + info.num_ack_pending
    return behind


async def wait_caught_up(runtime: Runtime, within_s: float, names: Container[str] | None = None) -> int:
    """Wait up to ``within_s`` for the consumers to take in their streams; the events still
    behind then (0: caught up)."""
    deadline = asyncio.get_running_loop().time() + within_s
    # Polled: JetStream tells no one when a consumer catches up.
    while (behind := await events_behind(runtime, names)) and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    return behind


async def stop_runtime(runtime: Runtime) -> None:
    await asyncio.gather(*(consumer.stop() for consumer in runtime.consumers))
    for task in runtime.tasks:
        task.cancel()
    for task in runtime.tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    with contextlib.suppress(Exception):
        await runtime.nc.drain()
    await runtime.store.pool.close()
    await runtime.engine.dispose()


Worker = Callable[[Runtime], Coroutine[Any, Any, None]]
"""A background loop a service runs beside its API (e.g. a scheduler); cancelled at stop."""


def every(
    what: str,
    job: Callable[[Runtime], Coroutine[Any, Any, Any]],
    interval_s: Callable[[Settings], float],
    told: Callable[[Any], str | None] = lambda _: None,
) -> Worker:
    """A worker that runs ``job`` now, then every ``interval_s(settings)`` seconds until the
    service stops; ``told`` says what a run did worth a log line (None: nothing)."""

    async def worker(runtime: Runtime) -> None:
        while True:
            try:
                if line := told(await job(runtime)):
                    log.info("%s: %s", what, line)
            except Exception:
                # A database hiccup must not end the loop: the next tick tries again.
                log.exception("%s failed", what)
            await asyncio.sleep(interval_s(runtime.settings))

    worker.__name__ = what.replace(" ", "_")
    return worker


def create_app(
    service: ServiceName,
    *,
    routers: Sequence[APIRouter] = (),
    consumes: Sequence[Consumes | Handles] = (),
    workers: Sequence[Worker] = (),
    metrics: Sequence[MetricsSource] = (),
    settings: Settings | None = None,
    clock: Clock | None = None,
    title: str,
) -> FastAPI:
    settings = settings or Settings()
    clock = clock or SystemClock()
    if not logging.getLogger().handlers:
        # A process of its own (uvicorn, `xingcun serve`), not an application that set up logging.
        configure_logging(service, settings.log_format, settings.log_level)
    latency = LatencyHistogram("xingcun_http_request_duration_seconds", "HTTP requests by route and status")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(service, settings, clock, consumes)
        tune_collector()
        runtime.tasks.extend(asyncio.create_task(worker(runtime), name=worker.__name__) for worker in workers)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await stop_runtime(runtime)

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.settings = settings
    problems.install(app)
    app.add_middleware(RefuseNul)
    app.add_middleware(ObserveRequests, histogram=latency)
    for router in routers:
        app.include_router(router)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus(request: Request) -> PlainTextResponse:
        """The outbox (appended, relayed, backlog), each durable consumer's lag, dead letters, the
        HTTP latency, and the service's own figures."""
        runtime: Runtime = request.app.state.runtime
        families = [latency.family()]
        for source in (outbox_and_dead_letters, consumer_lags, *metrics):
            try:
                families += await source(runtime)
            except Exception:  # a figure that cannot be read now is left out, not the whole scrape
                log.exception("metrics: %s failed", getattr(source, "__name__", source))
        return PlainTextResponse(render(families), media_type=CONTENT_TYPE)

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "alive", "service": service}

    @app.get("/readyz", tags=["operations"], summary="Database, migrations and NATS are ready")
    async def readyz(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        checks: dict[str, str] = {}
        try:
            async with runtime.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            checks["migrations"] = "ok" if await migrate.is_current(runtime.engine, service) else "behind"
        except Exception as exc:
            checks["database"] = f"unreachable: {exc.__class__.__name__}"
        checks["nats"] = "ok" if runtime.nc.is_connected else "disconnected"
        checks["relay"] = runtime.relay.stats.blocked or "ok"
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "not ready", "service": service, "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    return app
