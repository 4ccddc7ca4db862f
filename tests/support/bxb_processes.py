"""bxb's own processes (`bxb worker`, `bxb api`) started by tests, so they can be killed."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path


def bxb_env(
    database_url: str, temporal_address: str, task_queue: str, **settings: str
) -> dict[str, str]:
    """The environment of a bxb process: services and queue, plus other settings by their
    variable names (e.g. STRIPE_API_BASE=...)."""
    return os.environ | {
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": temporal_address,
        "TEMPORAL_TASK_QUEUE": task_queue,
        **settings,
    }


async def start_bxb(
    command: str, env: dict[str, str], log: Path | None = None
) -> asyncio.subprocess.Process:
    """`bxb <command>` as a child process; its output goes to log (appended) or nowhere."""
    argv = [sys.executable, "-m", "bxb.core.cli", command]
    if log is None:
        return await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
    with log.open("ab") as output:
        return await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=output, stderr=asyncio.subprocess.STDOUT
        )
