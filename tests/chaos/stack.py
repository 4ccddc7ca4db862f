"""The stack a chaos run breaks: every part that can fail is a process of its own.

PostgreSQL (durable, as `bxb up` runs it) and the Temporal dev server (its SQLite file)
are the embedded services of bxb.core.embedded, restarted on the same data and ports.
`bxb worker` and `bxb api` are child processes, so the worker can be SIGKILLed. Stripe is
localstripe behind a fault-injecting proxy; webhooks go to a receiver in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from bxb.core.db import create_engine, create_sessionmaker
from bxb.core.embedded import EmbeddedPostgres, EmbeddedTemporal
from bxb.core.migrate import upgrade
from bxb.core.temporal import SEARCH_ATTRIBUTE_TYPES, connect
from tests.support.bxb_processes import bxb_env, start_bxb
from tests.support.holding_proxy import HoldingProxy, holding_proxy
from tests.support.ports import free_port
from tests.support.stripe_cards import API_KEY
from tests.support.webhook_receiver import WebhookReceiver, running_receiver

# Seconds one webhook attempt may take; the receiver "times out" by answering later.
WEBHOOK_TIMEOUT_SECONDS = 5.0
SETTINGS = {
    "BXB_WEBHOOK_TIMEOUT": str(WEBHOOK_TIMEOUT_SECONDS),
    "BXB_WEBHOOK_RETRY_INITIAL_INTERVAL": "1",
    # A run measures how long billing stalls; the advance itself must not give up first.
    "BXB_TEST_CLOCK_ADVANCE_TIMEOUT": "3600",
    "STRIPE_API_KEY": API_KEY,
}
WORKER_READY_LINE = b"worker polling task queue"
TASK_QUEUE = "bxb-chaos"
START_SECONDS = 300.0


@dataclass
class Outage:
    """A span during which a service was down (monotonic seconds)."""

    service: str
    started: float
    ended: float | None = None

    def overlaps(self, start: float, end: float) -> bool:
        return self.started <= end and (self.ended is None or start <= self.ended)


@dataclass
class ChaosStack:
    data_dir: Path
    postgres: EmbeddedPostgres
    temporal: EmbeddedTemporal
    proxy: HoldingProxy
    receiver: WebhookReceiver
    localstripe_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    client: Client
    env: dict[str, str]
    api_url: str = ""
    worker: asyncio.subprocess.Process | None = None
    api: asyncio.subprocess.Process | None = None
    outages: list[Outage] = field(default_factory=list)
    unexpected_exits: list[str] = field(default_factory=list)

    # ---- bxb's processes -------------------------------------------------------------

    async def start_worker(self) -> tuple[float, float]:
        """Start `bxb worker`; returns the monotonic times it was polling for activities
        (per Temporal) and it had finished its start-up recovery (per its log)."""
        log = self.data_dir / "logs" / "worker.log"
        offset = log.stat().st_size if log.exists() else 0
        self.worker = await start_bxb("worker", self.env, log)
        identity = f"{self.worker.pid}@"
        deadline = time.monotonic() + START_SECONDS
        polling: float | None = None
        while True:
            if polling is None and await self._activity_poller(identity):
                polling = time.monotonic()
            if WORKER_READY_LINE in log.read_bytes()[offset:]:
                # The line is logged once the worker polls and its start-up recovery is done.
                # Temporal's list of pollers can miss a worker whose activity slots are all
                # busy (seen after a kill with 1,000 subscriptions); then the line says it.
                ready = time.monotonic()
                return (polling if polling is not None else ready), ready
            if self.worker.returncode is not None:
                raise RuntimeError(f"bxb worker exited during start-up; see {log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"bxb worker did not start; see {log}")
            await asyncio.sleep(0.1)

    async def _activity_poller(self, identity_prefix: str) -> bool:
        """Whether a worker whose identity starts so polls the task queue's activities."""
        request = DescribeTaskQueueRequest(
            namespace=self.client.namespace,
            task_queue=TaskQueue(name=TASK_QUEUE),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
        try:
            answer = await self.client.workflow_service.describe_task_queue(request)
        except RPCError:
            return False
        return any(p.identity.startswith(identity_prefix) for p in answer.pollers)

    async def kill_worker(self) -> float:
        """SIGKILL the worker; returns the monotonic time it was dead."""
        assert self.worker is not None
        if self.worker.returncode is not None:
            self.unexpected_exits.append(f"worker exited with {self.worker.returncode}")
        else:
            self.worker.send_signal(signal.SIGKILL)
        await self.worker.wait()
        return time.monotonic()

    async def start_api(self) -> None:
        port = free_port()
        env = self.env | {"BXB_API_HOST": "127.0.0.1", "BXB_API_PORT": str(port)}
        self.api = await start_bxb("api", env, self.data_dir / "logs" / "api.log")
        self.api_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_SECONDS
        async with httpx.AsyncClient(base_url=self.api_url, timeout=5) as client:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/health")).status_code == 200:
                        return
                if self.api.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError("bxb api did not start; see logs/api.log")
                await asyncio.sleep(0.1)

    def check_processes(self) -> None:
        """Record a bxb process that died without being killed."""
        for name, process in (("worker", self.worker), ("api", self.api)):
            if process is not None and process.returncode is not None:
                self.unexpected_exits.append(f"{name} exited with {process.returncode}")

    # ---- services --------------------------------------------------------------------

    async def crash(self, service: str, down_seconds: float) -> Outage:
        """Crash "temporal" (SIGKILL; its SQLite file is reopened) or "postgres" (immediate
        shutdown: crash recovery from the WAL on start), then start it again on the same
        data and port after down_seconds."""
        embedded: EmbeddedPostgres | EmbeddedTemporal = (
            self.temporal if service == "temporal" else self.postgres
        )
        sig = signal.SIGKILL if service == "temporal" else signal.SIGQUIT
        outage = Outage(service, time.monotonic())
        self.outages.append(outage)
        await asyncio.to_thread(_kill, _process(embedded), sig)
        await asyncio.sleep(down_seconds)
        await embedded.start()
        outage.ended = time.monotonic()
        return outage


def _process(service: EmbeddedPostgres | EmbeddedTemporal) -> subprocess.Popen[bytes]:
    # bxb.core.embedded keeps its child private: only its orderly stop is public, and a
    # chaos run needs the crash.
    process = service._child.process
    assert process is not None
    return process


def _kill(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    process.send_signal(sig)
    process.wait(60)


@contextlib.asynccontextmanager
async def chaos_stack(data_dir: Path, localstripe_url: str) -> AsyncIterator[ChaosStack]:
    postgres = EmbeddedPostgres(data_dir, free_port(), durable=True)
    temporal = EmbeddedTemporal(data_dir, free_port(), None, "default", SEARCH_ATTRIBUTE_TYPES)
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(postgres.stop)
        await postgres.start()
        await upgrade(postgres.url)
        stack.callback(temporal.stop)
        await temporal.start()
        proxy = stack.enter_context(holding_proxy(localstripe_url))
        receiver = stack.enter_context(running_receiver())
        engine = create_engine(postgres.url, pool_size=4)
        stack.push_async_callback(engine.dispose)
        env = bxb_env(
            postgres.url,
            temporal.address,
            TASK_QUEUE,
            STRIPE_API_BASE=proxy.url,
            BXB_DATA_DIR=str(data_dir),
            **SETTINGS,
        )
        chaos = ChaosStack(
            data_dir=data_dir,
            postgres=postgres,
            temporal=temporal,
            proxy=proxy,
            receiver=receiver,
            localstripe_url=localstripe_url,
            engine=engine,
            sessions=create_sessionmaker(engine),
            client=await connect(temporal.address, "default"),
            env=env,
        )
        stack.push_async_callback(_stop_processes, chaos)
        await chaos.start_worker()
        await chaos.start_api()
        yield chaos


async def _stop_processes(chaos: ChaosStack) -> None:
    for process in (chaos.api, chaos.worker):
        if process is None or process.returncode is not None:
            continue
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
