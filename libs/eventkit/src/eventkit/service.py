"""The edge every service shares: pools and broker built from settings, health, shutdown.

Nothing here connects at import time: `ServiceRuntime.start()` runs inside the FastAPI
lifespan, so importing a service module is free and tests can build apps with other settings.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from faststream.kafka import KafkaBroker

from . import logging as jsonlog
from . import migrate
from .edge import EdgeGuard
from .http_errors import install_common_handlers, install_size_handler
from .kafka_security import faststream_security
from .limits import PRODUCER_MAX_REQUEST_BYTES
from .loops import LoopHealth, supervise
from .openapi import install_openapi
from .relay import OutboxRelay, RelaySettings
from .settings import ServiceSettings
from .store import EventReader, PostgresEventStore
from .upcasting import UpcasterRegistry

log = logging.getLogger("eventkit.service")

Hook = Callable[["ServiceRuntime"], Awaitable[None]]
MigratedHook = Callable[[asyncpg.Connection, str], Awaitable[None]]
"""Runs on the migrating (owner's) connection after the migrations, with the runtime role's
name: where a service grants its runtime role what it may do."""


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool release without asyncpg's reset query.

    By default every release runs `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL` (one more round trip per acquire: about 20 statements per case in the pipeline
    benchmark, bench/PIPELINE.md). asyncpg still rolls back an open transaction and drops
    listeners before calling this. Session state is never left on pooled connections here:
    session advisory locks, LISTEN and SET live on dedicated connections (outbox relay, audit
    appender, notify dispatcher), and migrations unlock their lock in a `finally`."""


async def create_pool(
    dsn: str,
    schema: str = "public",
    *,
    min_size: int = 2,
    max_size: int = 10,
    application_name: str = "bianmin",
    reset_sessions: bool = False,
) -> asyncpg.Pool:
    """`reset_sessions=True` restores asyncpg's full reset on release (for callers that leave
    session state on pooled connections)."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": application_name},
        reset=None if reset_sessions else _keep_session,
    )


def build_broker(settings: ServiceSettings) -> KafkaBroker:
    k = settings.kafka()
    return KafkaBroker(
        # a list: FastStream wraps a string into [string], so "a:9092,b:9092" (a cluster)
        # would reach aiokafka as one host name and never resolve
        [s.strip() for s in k.bootstrap_servers.split(",") if s.strip()],
        acks="all",
        enable_idempotence=True,
        linger_ms=k.linger_ms,
        # the size limits are eventkit.limits' (the topics are created to match)
        max_batch_size=min(k.max_batch_size, PRODUCER_MAX_REQUEST_BYTES),
        max_request_size=PRODUCER_MAX_REQUEST_BYTES,
        compression_type=k.compression_type,  # type: ignore[arg-type]
        request_timeout_ms=k.request_timeout_ms,
        allow_auto_create_topics=False,
        client_id=f"{settings.service_name}-{settings.instance_id}",
        security=faststream_security(k.security),  # as every client (eventkit.kafka_security)
        graceful_timeout=15.0,
        logger=logging.getLogger(f"{settings.service_name}.broker"),
    )


class ServiceRuntime:
    """Owns the PostgreSQL pool and the Kafka broker of one service process."""

    def __init__(
        self,
        settings: ServiceSettings,
        migrations_dir: Path | None = None,
        broker: KafkaBroker | None = None,
        *,
        upcasters: UpcasterRegistry | None = None,
    ) -> None:
        """`upcasters`: the registry of the events this service reads (the contracts'); its
        store (`self.store`) decodes every read through it (`eventkit.store.EventReader`)."""
        self.settings = settings
        self.upcasters = upcasters
        # exists before the pool, so read models built in `bootstrap` can hold it
        self.reader = EventReader(upcasters)
        self.migrations_dir = migrations_dir
        self.broker = broker or build_broker(settings)
        self.pool: asyncpg.Pool | None = None
        self.on_start: list[Hook] = []
        self.on_stop: list[Hook] = []
        self.on_migrated: list[MigratedHook] = []
        self.background: list[asyncio.Task[Any]] = []
        self.loops: dict[str, LoopHealth] = {}
        self.broker_started = False
        self.store: PostgresEventStore | None = None
        self.relay: OutboxRelay | None = None
        self._outbox_topic: str | None = None
        self._relay_settings: RelaySettings | None = None
        self._stop = asyncio.Event()

    def enable_outbox(self, topic: str, settings: RelaySettings | None = None) -> None:
        """Publish this service's event store to `topic` (one relay per service, leased);
        its state is the `outbox_relay` check of `/readyz`."""
        self._outbox_topic = topic
        self._relay_settings = settings

    async def start(self) -> None:
        s = self.settings
        self.pool = await create_pool(
            s.database_url,
            s.database_schema,
            min_size=s.db_pool_min,
            max_size=s.db_pool_max,
            application_name=s.service_name,
        )
        async with self.pool.acquire() as conn:
            runtime_role = str(await conn.fetchval("SELECT current_user"))
            if s.migration_database_url:
                owner = await asyncpg.connect(
                    s.migration_database_url,
                    server_settings={
                        "search_path": s.database_schema,
                        "application_name": f"{s.service_name}-migrate",
                    },
                )
                try:
                    await self._migrate(owner, runtime_role)
                finally:
                    await owner.close()
            else:
                await self._migrate(conn, runtime_role)
        self.store = PostgresEventStore(
            self.pool, max_event_bytes=s.max_event_bytes, reader=self.reader
        )
        if self._outbox_topic:
            self.relay = OutboxRelay(
                s.database_url,
                s.kafka().bootstrap_servers,
                self._outbox_topic,
                s.service_name,
                schema=s.database_schema,
                settings=self._relay_settings,
                health=self.loop_health("outbox_relay"),
                security=s.kafka().security,
            )
            self.store.on_append(self.relay.wake)
            self.spawn(self.relay.run(self._stop), "outbox_relay")
        try:
            # FastStream waits forever for a subscribed topic that does not exist
            # (auto-creation is off on our brokers): turn that into a clear error.
            await asyncio.wait_for(self.broker.start(), s.kafka_start_timeout_s)
        except TimeoutError:
            raise RuntimeError(
                f"Kafka consumers did not start within {s.kafka_start_timeout_s:.0f} s: are the "
                "topics created (`make infra-up` creates them) and is "
                f"{s.kafka().bootstrap_servers} reachable?"
            ) from None
        self.broker_started = True
        for hook in self.on_start:
            await hook(self)

    def wake_relay(self) -> None:
        """After a commit that appended events on a connection of the service's own (a
        route's, a consumer's transaction): publish them now rather than at the relay's next
        poll. Nothing to wake before start."""
        if self.store is not None:
            self.store.notify_appended()

    async def _migrate(self, conn: asyncpg.Connection, runtime_role: str) -> None:
        s = self.settings
        if s.database_schema != "public":
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{s.database_schema}"')
        files = migrate.eventkit_migrations()
        if self.migrations_dir and self.migrations_dir.is_dir():
            files += migrate.directory_migrations(self.migrations_dir, s.service_name)
        applied = await migrate.apply(conn, files)
        if applied:
            log.info("migrations applied", extra={"applied": applied})
        for hook in self.on_migrated:
            await hook(conn, runtime_role)

    def spawn(self, coro: Awaitable[Any], name: str) -> None:
        self.background.append(asyncio.ensure_future(coro))
        self.background[-1].set_name(name)

    def loop_health(self, name: str) -> LoopHealth:
        """The health record `/readyz` shows for the loop `name` (made on first use)."""
        return self.loops.setdefault(name, LoopHealth(name))

    def supervise(
        self,
        name: str,
        body: Callable[[LoopHealth], Awaitable[None]],
        stop: asyncio.Event | None = None,
    ) -> LoopHealth:
        """Run `body` as a supervised background loop (`eventkit.loops.supervise`): errors
        are logged and retried with capped backoff, its state is in `/readyz`, it ends only
        when the runtime (or `stop`) stops."""
        health = self.loop_health(name)
        self.spawn(supervise(name, body, stop=stop or self._stop, health=health), name)
        return health

    async def stop(self) -> None:
        self._stop.set()
        for hook in reversed(self.on_stop):
            try:
                await hook(self)
            except Exception:
                log.exception("stop hook failed")
        if self.background:  # let the relay finish its batch, then cut what is left
            _, pending = await asyncio.wait(self.background, timeout=5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self.background, return_exceptions=True)
        if self.broker_started:
            await self.broker.stop()
        if self.pool is not None:
            await self.pool.close()

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            assert self.pool is not None
            async with self.pool.acquire(timeout=2) as conn:
                await conn.fetchval("SELECT 1", timeout=2)
            checks["postgres"] = "ok"
        except Exception as exc:  # readiness reports, never raises
            checks["postgres"] = f"error: {exc!r}"
        try:
            ok = self.broker_started and await self.broker.ping(timeout=2.0)
            checks["kafka"] = "ok" if ok else "error: no answer"
        except Exception as exc:
            checks["kafka"] = f"error: {exc!r}"
        for name, health in self.loops.items():
            checks[name] = health.describe()
        for task in self.background:
            if task.done():
                checks[task.get_name()] = _ended(task)
        return checks


def _ended(task: asyncio.Task[Any]) -> str:
    """A background task that is over while the service runs: why, in one line."""
    if task.cancelled():
        return "stopped: cancelled"
    exc = task.exception()
    return f"stopped: {exc!r}" if exc is not None else "stopped"


def create_app(
    runtime: ServiceRuntime,
    title: str,
    description: str = "",
    *,
    streamed_paths: tuple[str, ...] = (),
) -> FastAPI:
    """A FastAPI app whose lifespan starts and stops the runtime; /healthz and /readyz.

    The edge every service shares comes with it: `EdgeGuard` (body size, control characters,
    64-bit integers), the one error shape for validation, HTTP and router errors
    (`http_errors.install_common_handlers`), the OpenAPI's error and bearer-JWT documentation
    (`eventkit.openapi`), and the /docs and /redoc pages with their scripts and styles served
    by the service itself from the installed `fastapi-offline` package (`/docs/assets`), so
    they work on an intranet with no way out."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        log.info("started", extra={"port": runtime.settings.http_port})
        try:
            yield
        finally:
            log.info("stopping")
            await runtime.stop()
            log.info("stopped")

    app = FastAPIOffline(
        title=title,
        description=description,
        lifespan=lifespan,
        static_url="/docs/assets",
        swagger_ui_parameters={"persistAuthorization": True},
    )
    app.state.runtime = runtime
    app.add_middleware(
        EdgeGuard,
        max_body_bytes=runtime.settings.max_body_bytes,
        streamed_paths=streamed_paths,
    )
    install_common_handlers(app)
    install_size_handler(app)  # an event too large to publish is the caller's 413
    install_openapi(app)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "service": runtime.settings.service_name}

    @app.get(
        "/readyz",
        tags=["ops"],
        responses={503: {"description": "Not ready: the checks say which dependency failed"}},
    )
    async def readyz() -> JSONResponse:
        """Readiness: connected to PostgreSQL and Kafka."""
        checks = await runtime.readiness()
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    return app


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn re-raises a captured SIGTERM after its graceful shutdown, so the process
        would end with status -15; the shutdown *was* graceful, so we end with 0."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

    return Server


GC_GEN0_THRESHOLD = 50_000


def tune_gc(gen0: int = GC_GEN0_THRESHOLD) -> None:
    """Fewer garbage collections for a long-running service process.

    `gc.freeze()` moves everything alive after start-up (modules, settings, the app) out of
    the collector's sight, and a generation-0 threshold of 50,000 allocations instead of 700
    stops a batch that allocates tens of thousands of short-lived objects (an audit append
    of 1,000 envelopes, a consumer poll of 500) from triggering dozens of collections that
    each traverse the batch's live objects: -25 % of the audit append's time (bench/audit_log.py
    runs the append with this setting, as the service does). Cyclic garbage waits a little
    longer for collection; reference counting, which frees nearly everything, is unchanged."""
    gc.freeze()
    gc.set_threshold(gen0, 20, 20)


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run under uvicorn; SIGTERM/SIGINT trigger a graceful shutdown (lifespan exit)."""
    import uvicorn

    jsonlog.configure(settings.service_name, settings.log_level)
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        loop=loop,
        timeout_graceful_shutdown=10,
        access_log=False,
    )
    server = _server_class()(config)
    tune_gc()
    server.run()
    if not server.started:
        raise SystemExit(1)
