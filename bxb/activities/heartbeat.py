"""Heartbeating while an activity works: a dead worker's attempt is noticed by the heartbeat
timeout (seconds), not by the whole start-to-close timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from temporalio import activity

HEARTBEAT_EVERY_SECONDS = 1.0
T = TypeVar("T")


async def heartbeating(work: Coroutine[Any, Any, T]) -> T:
    """Await work, heartbeating meanwhile (when run as an activity)."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY_SECONDS)
            if done:
                return task.result()
            if activity.in_activity():
                activity.heartbeat()
    finally:
        # Cancelled (worker shutdown, heartbeat timeout): the work stops too.
        task.cancel()
