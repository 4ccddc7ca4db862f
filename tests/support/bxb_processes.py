"""bxb's own processes (`bxb worker`, `bxb api`) started by tests, so they can be killed."""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """A test killed hard must not leave its worker or API running."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


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


async def start_bxb(command: str, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """`bxb <command>` as a child process, its output appended to log."""
    argv = [sys.executable, "-m", "bxb.core.cli", command]
    with log.open("ab") as output:
        return await asyncio.create_subprocess_exec(
            *argv,
            env=env,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
