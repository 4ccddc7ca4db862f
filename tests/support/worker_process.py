"""bxb's worker as a separate process (`bxb worker`), for tests that kill it."""

from __future__ import annotations

import asyncio
import os
import sys

from bxb.core.settings import Settings


async def start_worker_process(
    settings: Settings, temporal_address: str, **env: str
) -> asyncio.subprocess.Process:
    """`python -m bxb.core.cli worker` on the settings' database and task queue."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bxb.core.cli",
        "worker",
        env=os.environ
        | {
            "DATABASE_URL": settings.resolved_database_url,
            "TEMPORAL_ADDRESS": temporal_address,
            "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
            **env,
        },
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
