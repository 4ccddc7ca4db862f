"""The client side of bench/scale.py: requests with their outcomes, and the results file.

Requests keeps each request's latency and status so a phase's figures can be read at any
moment. Run rewrites the results file whole, with the phases still running written as
their figures so far.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ATTEMPTS = 5  # per request, when the answer is 503 (busy: send it again)


@dataclass
class Requests:
    """Outcomes of a bounded stream of requests, readable at any moment."""

    name: str
    total: int
    started: float = field(default_factory=time.perf_counter)
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    first_errors: list[str] = field(default_factory=list)
    retries: int = 0

    def record(self, latency: float, status: str, error: str | None) -> None:
        self.latencies.append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if error is not None and len(self.first_errors) < 5:
            self.first_errors.append(error[:500])

    def figures(self) -> dict[str, Any]:
        elapsed = time.perf_counter() - self.started
        done = len(self.latencies)
        ordered = sorted(self.latencies)

        def pct(q: float) -> float | None:
            return round(1000 * ordered[min(done - 1, int(q * done))], 1) if done else None

        return {
            "requested": self.total,
            "done": done,
            "errors": done - self.statuses.get("200", 0),
            "statuses": self.statuses,
            "retried_503": self.retries,
            "elapsed_s": round(elapsed, 1),
            "per_s": round(done / elapsed, 1) if elapsed else None,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "max_ms": round(1000 * ordered[-1], 1) if done else None,
            "first_errors": self.first_errors,
        }


class Run:
    """The results file, rewritten whole after every phase."""

    def __init__(self, path: Path, figures: dict[str, Any]) -> None:
        self.path = path
        self.figures = figures
        self.phases: dict[str, Any] = {}
        figures["phases"] = self.phases

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        text = json.dumps(self.figures, indent=2, default=_live)
        partial.write_text(text + "\n")
        partial.replace(self.path)


def _live(value: object) -> Any:
    """A phase still running is written with its figures so far."""
    if isinstance(value, Requests):
        return value.figures()
    raise TypeError(type(value).__name__)


async def every(seconds: float, write: Callable[[], None]) -> None:
    """Rewrite the results file every so often: a run killed hard keeps its progress."""
    while True:
        await asyncio.sleep(seconds)
        write()


async def send(stats: Requests, call: Callable[[], Awaitable[httpx.Response]]) -> bool:
    """One request, sent again on 503 (busy: Retry-After), its outcome recorded."""
    began = time.perf_counter()
    status, error = "none", None
    for attempt in range(1, ATTEMPTS + 1):
        error = None
        try:
            response = await call()
        except httpx.HTTPError as exc:
            status = type(exc).__name__
            error = repr(exc)
        else:
            status = str(response.status_code)
            if status != "200":
                error = f"{status} {response.text}"
        # A 503 says "send it again" (Retry-After: 1), as a client of Lago's API does.
        if status != "503" or attempt == ATTEMPTS:
            break
        stats.retries += 1
        await asyncio.sleep(1)
    stats.record(time.perf_counter() - began, status, error)
    return status == "200"
