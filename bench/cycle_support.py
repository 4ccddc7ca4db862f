"""Where bench/billing_cycle.py's time goes: CPU per process, history events, worker shares.

- `cpu_seconds()`: CPU seconds so far of the bench process, the Temporal dev server,
  PostgreSQL and the worker processes (psutil; processes that exited in between are lost,
  PostgreSQL's backends live as long as the pools, so little is).
- `history_figures()`: every run on a task queue (continued-as-new runs included), its
  history events since an instant, counted by type, the identity of each workflow task and
  activity task (which worker process took it), and the bytes of those events: the server
  round trips and payloads per invoice.
- `WorkerProcesses`: N worker processes (bench/cycle_worker.py), started and stopped.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import psutil
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.client import Client

HERE = Path(__file__).parent
FETCH_CONCURRENCY = 32
WORKER_READY_SECONDS = 120.0


def cpu_seconds() -> dict[str, float]:
    me = psutil.Process()
    groups: dict[str, float] = {}
    times = me.cpu_times()
    groups["bench"] = times.user + times.system
    for child in me.children(recursive=True):
        try:
            name = child.name()
            cmdline = " ".join(child.cmdline())
            t = child.cpu_times()
        except psutil.Error:
            continue
        if "temporal" in name:
            group = "temporal_server"
        elif "postgres" in name:
            group = "postgres"
        elif "cycle_worker" in cmdline:
            group = "workers"
        else:
            group = "other"
        groups[group] = groups.get(group, 0.0) + t.user + t.system
    return groups


def cpu_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after.get(k, 0.0) - before.get(k, 0.0), 2) for k in sorted(after)}


def _name(event_type: int) -> str:
    return EventType.Name(event_type).removeprefix("EVENT_TYPE_").lower()  # type: ignore[arg-type]


async def history_figures(
    client: Client, queue: str, since: datetime, per: int, limit: int
) -> dict[str, object]:
    """History events since `since` of (at most `limit`) runs on `queue`, per `per` units."""
    runs = []
    async for execution in client.list_workflows(f'TaskQueue="{queue}"'):
        runs.append((execution.id, execution.run_id))
        if len(runs) >= limit:
            break
    events: Counter[str] = Counter()
    workflow_tasks: Counter[str] = Counter()
    activity_tasks: Counter[str] = Counter()
    size = 0
    retried: Counter[str] = Counter()
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)
    workflows: set[str] = set()

    async def one(wf_id: str, run_id: str) -> None:
        nonlocal size
        async with gate:
            history = await client.get_workflow_handle(wf_id, run_id=run_id).fetch_history()
        for event in history.events:
            if event.event_time.ToDatetime(tzinfo=UTC) < since:
                continue
            workflows.add(wf_id)
            name = _name(event.event_type)
            events[name] += 1
            size += event.ByteSize()
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                workflow_tasks[event.workflow_task_started_event_attributes.identity] += 1
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                attrs = event.activity_task_started_event_attributes
                activity_tasks[attrs.identity] += 1
                if attrs.attempt > 1:
                    retried["activity_attempts_after_the_first"] += attrs.attempt - 1
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                kind = event.workflow_task_timed_out_event_attributes.timeout_type
                retried[f"workflow_task_timeouts_{TimeoutType.Name(kind).lower()}"] += 1

    await asyncio.gather(*(one(wf_id, run_id) for wf_id, run_id in runs))
    # The sample's own count of workflows (all of them unless `limit` cut the list).
    units = per if len(runs) < limit else max(len(workflows), 1)
    total = sum(events.values())
    return {
        "runs_read": len(runs),
        "workflows_read": len(workflows),
        "events_per_unit": round(total / units, 2),
        "event_bytes_per_unit": round(size / units),
        "events_by_type_per_unit": {k: round(v / units, 2) for k, v in sorted(events.items())},
        "retries": dict(sorted(retried.items())),
        "workflow_tasks_by_identity": dict(sorted(workflow_tasks.items())),
        "activity_tasks_by_identity": dict(sorted(activity_tasks.items())),
    }


class WorkerProcesses:
    """N worker processes polling `queue` (bench/cycle_worker.py), each named by identity."""

    def __init__(
        self, n: int, address: str, queue: str, role: str, database_url: str, out: Path
    ) -> None:
        self.n, self.address, self.queue, self.role = n, address, queue, role
        self.database_url, self.out = database_url, out
        self.procs: list[subprocess.Popen[str]] = []
        self.counts: list[dict[str, object]] = []

    def _command(self, i: int) -> list[str]:
        return [
            sys.executable,
            str(HERE / "cycle_worker.py"),
            *("--address", self.address, "--queue", self.queue, "--role", self.role),
            *("--database-url", self.database_url, "--processes", str(self.n)),
            *("--identity", f"worker-{i}", "--counts", str(self.out / f"{self.role}-{i}.json")),
        ]

    async def __aenter__(self) -> WorkerProcesses:
        # The worker imports bxb from this checkout (as the bench does), not an installed copy.
        env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
        for i in range(self.n):
            self.procs.append(
                subprocess.Popen(  # noqa: ASYNC220 - starting it does not block
                    self._command(i), stdout=subprocess.PIPE, text=True, env=env
                )
            )
        for proc in self.procs:
            assert proc.stdout is not None
            line = await asyncio.wait_for(
                asyncio.to_thread(proc.stdout.readline), WORKER_READY_SECONDS
            )
            if line.strip() != "ready":
                raise RuntimeError(f"a worker process did not start (exit {proc.poll()})")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                await asyncio.to_thread(proc.wait, 60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for i in range(self.n):
            path = self.out / f"{self.role}-{i}.json"
            if path.exists():
                self.counts.append(json.loads(path.read_text()))
