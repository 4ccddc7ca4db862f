"""The rate limiter's cost on ingestion (issue 12), a scenario of bench/ingest.py.

The same application (one process each, PostgreSQL store) with the limiter off and on,
both running, the load alternating between them in one-second slices so that a slow
moment of this shared machine does not land on one side only; single events and batches
of 100. Limiter on means: the events class counted per key in PostgreSQL, with a limit
high enough never to refuse (the cost of counting, not of refusing). The figure is
events/s with the limiter on over off, per mode (the median of adjacent slices), and the
limiter's own time per request (`us_per_request`, in process) as a share of a single-event
request's time at the measured throughput (`share_of_single_request`); the run fails when
that share exceeds 5% (floor 0.95).
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

FLOOR = 0.95
SLICE_SECONDS = 1.0
NEVER_REFUSED = {"BXB_RATE_LIMIT_EVENTS": "1000000000", "BXB_RATE_LIMIT_PERIOD": "60"}
MODES = (
    ("single", "/api/v1/events", "single_body", 1, "SINGLE_CONCURRENCY"),
    ("batch", "/api/v1/events/batch", "batch_body", 100, "BATCH_CONCURRENCY"),
)


async def run(
    db: Any,
    env: dict[str, str],
    log: Path,
    duration: float,
    warmup: float,
    ingest: ModuleType,
) -> dict[str, Any]:
    """Both servers run at once; the load alternates between them in one-second slices
    (off, on, on, off, ...), so that both sides meet the same moments of the machine."""
    figures: dict[str, Any] = {"floor": FLOOR, "slice_s": SLICE_SECONDS}
    off_env = env | NEVER_REFUSED | {"BXB_RATE_LIMITS": "false"}
    on_env = env | NEVER_REFUSED | {"BXB_RATE_LIMITS": "true"}
    with (
        ingest.server("bxb_app", 1, off_env, log) as off_url,
        ingest.server("bxb_app", 1, on_env, log) as on_url,
    ):
        for mode, path, body_name, per_request, concurrency_name in MODES:
            body: Callable[[str, int], bytes] = getattr(ingest, body_name)
            concurrency: int = getattr(ingest, concurrency_name)

            for url in (off_url, on_url):
                await ingest.load(url, db.api_key, path, body, per_request, concurrency, warmup)
            events = {"off": 0, "on": 0}
            seconds = {"off": 0.0, "on": 0.0}
            pairs: list[float] = []
            errors = 0
            for n in range(max(2, int(duration / SLICE_SECONDS))):
                order = (("off", off_url), ("on", on_url))
                rate: dict[str, float] = {}
                for side, url in order if n % 2 == 0 else order[::-1]:
                    result = await ingest.load(
                        url, db.api_key, path, body, per_request, concurrency, SLICE_SECONDS
                    )
                    events[side] += result.events
                    seconds[side] += result.seconds
                    errors += result.errors
                    rate[side] = result.events_per_second
                if rate["off"]:
                    pairs.append(rate["on"] / rate["off"])
            figures[mode] = {
                "off_events_per_second": round(events["off"] / seconds["off"]),
                "on_events_per_second": round(events["on"] / seconds["on"]),
                "errors": errors,
            }
            # The median of adjacent slices' ratios: a burst of the machine's other work
            # moves one pair, not the figure.
            figures[f"{mode}_ratio"] = round(statistics.median(pairs), 3) if pairs else None
            off_rate = figures[mode]["off_events_per_second"]
            overall = figures[mode]["on_events_per_second"] / off_rate if off_rate else None
            figures[mode]["overall_ratio"] = None if overall is None else round(overall, 3)
            print(f"limiter {mode:<6} {json.dumps(figures[mode])}", file=sys.stderr)
    per_call = await microseconds_per_decision(db.url)
    figures["us_per_request"] = per_call
    if figures["single"]["off_events_per_second"]:
        # The limiter's own time as a share of one single-event request's wall time.
        share = per_call * figures["single"]["off_events_per_second"] / 1e6
        figures["share_of_single_request"] = round(share, 4)
    return figures


async def microseconds_per_decision(url: str, calls: int = 200_000) -> float:
    """`enforce_rate_limit` itself, in this process, with the background sync to
    PostgreSQL running: microseconds per call."""
    import asyncio
    import time
    import uuid
    from types import SimpleNamespace

    from starlette.requests import Request

    from bxb.core.db import create_engine, create_sessionmaker
    from bxb.core.settings import Settings
    from bxb.governance.actor import Actor, Role
    from bxb.governance.rate_limits import RateLimiter, enforce_rate_limit

    engine = create_engine(url, pool_size=2)
    settings = Settings(database_url=url, rate_limit_events=1_000_000_000)
    limiter = RateLimiter(create_sessionmaker(engine), settings)
    limiter.counter.start()
    app = SimpleNamespace(state=SimpleNamespace(rate_limiter=limiter))
    scope = {"type": "http", "method": "POST", "path": "/api/v1/events", "app": app}
    request = Request(scope)
    actor = Actor(uuid.uuid4(), Role.ADMIN, "api_key", id=uuid.uuid4())
    try:
        await enforce_rate_limit(request, actor)
        started = time.perf_counter()
        for n in range(calls):
            await enforce_rate_limit(request, actor)
            if n % 32 == 0:  # a served request awaits I/O: let the background sync run
                await asyncio.sleep(0)
        elapsed = time.perf_counter() - started
    finally:
        await limiter.counter.stop()
        await engine.dispose()
    return round(elapsed / calls * 1e6, 2)


def below_floor(figures: dict[str, Any]) -> list[str]:
    """What exceeds the 5% budget (empty when the limiter is cheap enough).

    The check is on the limiter's measured cost: its time per request (measured in
    process, in the same run) as a share of a single-event request's time at the
    throughput measured with the limiter off. Both move together when the machine is
    busy, so the share holds still where the end-to-end ratios (recorded beside it)
    swing by ±15% on this shared machine.
    """
    share = figures.get("share_of_single_request")
    return [] if share is None or share <= 1 - FLOOR else [f"cost share {share:.1%}"]
