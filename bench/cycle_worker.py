"""One worker process of bench/billing_cycle.py `--worker-processes N` (like `bxb worker`).

    python bench/cycle_worker.py --address HOST:PORT --database-url URL --queue Q
        --role bxb|floor --identity NAME --counts FILE

Polls one task queue with bxb's worker (`--role bxb`: bxb.worker.build_worker, the workflows
and activities `bxb worker` runs) or the floor's bare workflow (`--role floor`), prints
"ready" once polling, and runs until SIGTERM; then it writes how many activities it ran,
by type, to FILE (the bench's check that no process starved). Its client identity names
it in the histories (WorkflowTaskStarted and ActivityTaskStarted events).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Worker,
)

from bxb.core.cli import run_event_loop
from bxb.core.db import create_engine, create_sessionmaker
from bxb.events.postgres_store import PostgresEventStore
from bxb.worker import WORKFLOW_RUNNER, build_worker

sys.path.insert(0, str(Path(__file__).parent))
from floor_workflow import BareWorkflow, noop

ACTIVITIES: Counter[str] = Counter()


class _Counting(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        ACTIVITIES[getattr(input.fn, "__name__", "activity")] += 1
        return await self.next.execute_activity(input)


class CountActivities(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Counting(next)


def pool_size(processes: int) -> int:
    """Connections per worker process: the bench's 40, fewer with 4 processes (PostgreSQL's
    max_connections is 200 and each pool may overflow to twice its size)."""
    return max(10, min(40, 160 // (2 * max(processes, 1))))


async def serve(args: argparse.Namespace) -> None:
    client = await Client.connect(
        args.address, data_converter=pydantic_data_converter, identity=args.identity
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    if args.role == "floor":
        worker = Worker(
            client,
            task_queue=args.queue,
            workflows=[BareWorkflow],
            activities=[noop],
            workflow_runner=WORKFLOW_RUNNER,
            interceptors=[CountActivities()],
        )
    else:
        engine = create_engine(args.database_url, pool_size=pool_size(args.processes))
        sessions = create_sessionmaker(engine)
        events = PostgresEventStore(engine)
        worker = build_worker(
            client, args.queue, sessions, events, interceptors=[CountActivities()]
        )
    run = asyncio.create_task(worker.run())
    print("ready", flush=True)
    await stop.wait()
    # The phase is over (every workflow answered): the counts are final. A graceful
    # shutdown would wait out the server's long polls (a minute); a bench need not.
    counts = {"identity": args.identity, "activities": dict(ACTIVITIES)}
    Path(args.counts).write_text(json.dumps(counts) + "\n")  # noqa: ASYNC240 - at exit
    run.cancel()
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--queue", required=True)
    parser.add_argument("--role", choices=("bxb", "floor"), default="bxb")
    parser.add_argument("--identity", required=True)
    parser.add_argument("--counts", required=True)
    parser.add_argument("--processes", type=int, default=1)
    run_event_loop(serve(parser.parse_args()))  # as `bxb worker` runs (uvloop)


if __name__ == "__main__":
    main()
