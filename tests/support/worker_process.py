"""bxb's worker as a separate process (`bxb worker`), for tests that kill it."""

from __future__ import annotations

import asyncio
import uuid

from bxb.core.settings import Settings
from tests.support.bxb_processes import bxb_env, start_bxb

# Logged once the worker polls its task queue (bxb.worker.run_worker).
READY_LINE = b"worker polling task queue"
# A start-up (imports, coverage, connections) takes a few seconds alone, many more on a
# 2-core machine running the suite on two xdist workers beside other jobs.
START_SECONDS = 120.0


async def start_worker_process(
    settings: Settings, temporal_address: str, **env: str
) -> asyncio.subprocess.Process:
    """`bxb worker` on the settings' database and task queue, returned once it polls.

    Waiting matters: a request sent before then waits for the worker's start-up within the
    API's own bound (15 s), which a loaded machine can exceed. Its output goes to
    `worker-<random>.log` in the settings' data directory (the test's tmp_path)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log = settings.data_dir / f"worker-{uuid.uuid4().hex[:8]}.log"
    queue = settings.temporal_task_queue
    environment = bxb_env(settings.resolved_database_url, temporal_address, queue, **env)
    process = await start_bxb("worker", environment, log)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_SECONDS
    while READY_LINE not in log.read_bytes():
        if process.returncode is not None:
            raise RuntimeError(f"bxb worker exited during start-up; see {log}")
        if loop.time() > deadline:
            process.kill()
            await process.wait()
            raise RuntimeError(f"bxb worker did not poll within {START_SECONDS:.0f} s; see {log}")
        await asyncio.sleep(0.05)
    return process
