"""`bxb up`: embedded services, migrations, worker and API in one process tree.

Start order: PostgreSQL → Temporal → migrations → bootstrap → worker → API.
Stop order is the reverse, on Ctrl-C or SIGTERM, so nothing is orphaned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator

import uvicorn

from bxb.api.app import create_app
from bxb.core.db import create_engine, create_sessionmaker, transaction
from bxb.core.embedded import EmbeddedPostgres, EmbeddedTemporal
from bxb.core.gc_tuning import tune_gc_for_serving
from bxb.core.migrate import upgrade
from bxb.core.organizations import bootstrap_organization
from bxb.core.serving import AnswersWhenCancelled, graceful_seconds
from bxb.core.settings import Settings
from bxb.core.temporal import SEARCH_ATTRIBUTE_TYPES
from bxb.core.tracing import configure_tracing
from bxb.webapp import webapp_built
from bxb.worker import run_worker

log = logging.getLogger(__name__)


class _ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling: the stack owns Ctrl-C and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def api_server(settings: Settings) -> _ApiServer:
    config = uvicorn.Config(
        AnswersWhenCancelled(create_app(settings)),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=graceful_seconds(settings),
    )
    return _ApiServer(config)


def serve_api_processes(settings: Settings, workers: int) -> None:
    """`bxb api --workers N`: uvicorn's process manager runs N copies of the API."""
    uvicorn.run(
        "bxb.core.serving:served_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        workers=workers,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=graceful_seconds(settings),
        # uvicorn kills a process that has not finished starting within this time (5 s by
        # default) and starts another; importing bxb on a busy machine can take longer, and
        # then each new process was killed in turn and the API never answered.
        timeout_worker_healthcheck=60,
    )


@contextlib.asynccontextmanager
async def embedded_services(settings: Settings, *, durable: bool = True) -> AsyncIterator[None]:
    """Start the embedded PostgreSQL and Temporal that settings leave unconfigured."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stack = contextlib.AsyncExitStack()
    async with stack:
        if settings.embedded_database:
            postgres = EmbeddedPostgres(
                settings.data_dir, settings.embedded_postgres_port, durable=durable
            )
            stack.callback(postgres.stop)
            await postgres.start()
        if settings.embedded_temporal:
            temporal = EmbeddedTemporal(
                settings.data_dir,
                settings.embedded_temporal_port,
                settings.temporal_ui_port,
                settings.temporal_namespace,
                SEARCH_ATTRIBUTE_TYPES,
            )
            stack.callback(temporal.stop)
            await temporal.start()
        yield


async def prepare_database(settings: Settings) -> str | None:
    """Migrate, then bootstrap the default organization; returns its key prefix if created."""
    await upgrade(settings.resolved_database_url)
    if settings.bootstrap_api_key is None:
        return None
    engine = create_engine(settings.resolved_database_url, pool_size=1)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            issued = await bootstrap_organization(session, settings.bootstrap_api_key)
    finally:
        await engine.dispose()
    return None if issued is None else issued.prefix


def banner(settings: Settings) -> str:
    api = f"http://{settings.api_host}:{settings.api_port}"
    lines = [
        "bxb is up",
        f"  API           {api}/api/v1",
        f"  OpenAPI docs  {api}/docs",
        f"  Web app       {api}/" if webapp_built() else "  Web app       not built (make web)",
    ]
    if settings.embedded_temporal and settings.temporal_ui_port:
        lines.append(f"  Temporal UI   http://127.0.0.1:{settings.temporal_ui_port}")
    lines += [f"  Data          {settings.data_dir.resolve()}", "Press Ctrl-C to stop."]
    return "\n".join(lines)


async def run_stack(
    settings: Settings, stop: asyncio.Event, *, announce: Callable[[str], None] = print
) -> None:
    """Run everything until stop is set or a part fails; then shut down in order."""
    async with embedded_services(settings):
        created = await prepare_database(settings)
        if created:
            announce(f"created the Default organization with BXB_BOOTSTRAP_API_KEY ({created}…)")
        await serve(
            settings, stop, worker=True, api=True, on_ready=lambda: announce(banner(settings))
        )


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    worker: bool,
    api: bool,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run the worker and/or the API until stop is set or one of them ends."""
    # Before the app and the worker are built: they instrument themselves when it is on.
    stop_tracing = configure_tracing(settings, service_name(worker=worker, api=api))
    try:
        await _serve(settings, stop, worker=worker, api=api, on_ready=on_ready)
    finally:
        stop_tracing()


def service_name(*, worker: bool, api: bool) -> str:
    """The name a process's spans carry unless OTEL_SERVICE_NAME says otherwise."""
    if worker and api:
        return "bxb"
    return "bxb-worker" if worker else "bxb-api"


async def _serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    worker: bool,
    api: bool,
    on_ready: Callable[[], None] | None,
) -> None:
    worker_stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    server = api_server(settings) if api else None
    if worker:
        tasks.append(asyncio.create_task(run_worker(settings, worker_stop), name="worker"))
    if server is not None:
        tune_gc_for_serving()
        tasks.append(asyncio.create_task(server.serve(), name="api"))
        # uvicorn exposes readiness only as a flag.
        while not server.started and not any(t.done() for t in tasks):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    if on_ready is not None and not any(t.done() for t in tasks):
        on_ready()
    stopper = asyncio.create_task(stop.wait(), name="stop")
    await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    if server is not None:
        server.should_exit = True
    worker_stop.set()
    stopper.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for task, result in zip(tasks, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            raise RuntimeError(f"bxb {task.get_name()} failed: {result}") from result
    if not stop.is_set():
        raise RuntimeError("bxb stopped because a part exited unexpectedly")
