"""CSV exports: rows per second and the memory they take, at two sizes.

    .venv/bin/python bench/exports.py [--events 200000] [--small 50000] [--invoices 20000]

What runs, all on loopback: an embedded PostgreSQL (not durable), migrated, one
organization with `--events` events and `--invoices` invoices (one customer each). The
export work of the worker's activity (bxb.exports.runner.write_export: server-side cursor,
~1 MB CSV chunks committed with progress) runs in this process, without Temporal, so its
memory is this process's: a sampler reads the resident set every 10 ms and each export
reports its peak growth over the RSS just before it.

Exports: `--small` events (a timestamp_to filter), all events, all invoices. The floor is
the cursor alone: the same events streamed as tuples, no CSV, nothing stored.

Memory must stay flat: the peak growth of the large events export may exceed the small
one's by at most FLAT_BOUND_MB, else the bench exits 1. Prints one JSON line and writes
bench/results/exports-<UTC timestamp>.json (unless --no-record).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from bxb.core.db import create_engine, create_sessionmaker, transaction  # noqa: E402
from bxb.core.embedded import EmbeddedPostgres  # noqa: E402
from bxb.core.migrate import upgrade  # noqa: E402
from bxb.core.organizations import create_organization  # noqa: E402
from bxb.exports.runner import write_export  # noqa: E402
from bxb.models import Customer, DataExport, Event, Invoice  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

FLAT_BOUND_MB = 16.0
START = datetime(2026, 1, 1, tzinfo=UTC)
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


async def peak_growth(work: Callable[[], Awaitable[Any]]) -> tuple[Any, float, float]:
    """(work's result, seconds, peak RSS growth in MB while it ran)."""
    gc.collect()
    base = peak = rss_mb()
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb())
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    try:
        result = await work()
    finally:
        seconds = time.perf_counter() - started
        done.set()
        await sampler
    return result, seconds, round(max(peak, rss_mb()) - base, 1)


async def seed(sessions: async_sessionmaker[AsyncSession], events: int, invoices: int) -> uuid.UUID:
    async with transaction(sessions) as session:
        org, _ = await create_organization(session, "Exports bench")
        await session.execute(
            text(
                "INSERT INTO events (organization_id, transaction_id, external_subscription_id,"
                " code, timestamp, properties)"
                " SELECT :org, 'tx_' || i, 'sub_' || (i % 500), 'api_calls',"
                " CAST(:start AS timestamptz) + i * interval '1 second',"
                " jsonb_build_object('region', 'eu', 'n', i)"
                " FROM generate_series(1, :n) AS i"
            ),
            {"org": org.id, "n": events, "start": START},
        )
    for first in range(0, invoices, 2_000):
        batch = range(first, min(first + 2_000, invoices))
        async with transaction(sessions) as session:
            ids = [uuid.uuid4() for _ in batch]
            await session.execute(
                insert(Customer),
                [
                    {
                        "id": cid,
                        "organization_id": org.id,
                        "external_id": f"cus_{i}",
                        "sequential_id": i + 1,
                        "name": f"Customer {i}",
                        "currency": "EUR",
                    }
                    for cid, i in zip(ids, batch, strict=True)
                ],
            )
            await session.execute(
                insert(Invoice),
                [
                    {
                        "organization_id": org.id,
                        "customer_id": cid,
                        "kind": f"bench-{i}",
                        "status": "finalized",
                        "currency": "EUR",
                        "issuing_date": (START + timedelta(days=i % 365)).date(),
                        "sequential_id": i + 1,
                        "number": f"INV-{i + 1:06d}",
                        "fees_amount_cents": 1000 + i,
                        "taxes_amount_cents": 200,
                        "total_amount_cents": 1200 + i,
                    }
                    for cid, i in zip(ids, batch, strict=True)
                ],
            )
    async with sessions() as session:
        await session.execute(text("ANALYZE"))
    return org.id


async def export(
    sessions: async_sessionmaker[AsyncSession], org: uuid.UUID, kind: str, filters: dict[str, Any]
) -> dict[str, Any]:
    async with transaction(sessions) as session:
        row = DataExport(
            organization_id=org,
            resource_type=kind,
            filters=filters,
            status="pending",
            rows_exported=0,
            chunks_count=0,
            file_size=0,
        )
        session.add(row)
    result, seconds, growth = await peak_growth(lambda: write_export(sessions, row.id))
    return {
        "rows": result.rows_exported,
        "seconds": round(seconds, 2),
        "rows_per_s": round(result.rows_exported / seconds),
        "mb": round(result.file_size / 2**20, 1),
        "chunks": result.chunks_count,
        "peak_rss_growth_mb": growth,
    }


async def floor(sessions: async_sessionmaker[AsyncSession], org: uuid.UUID) -> dict[str, Any]:
    async def stream() -> int:
        count = 0
        async with sessions() as session:
            query = select(Event.__table__).where(Event.organization_id == org)
            result = await session.stream(query.execution_options(yield_per=2_000))
            async for rows in result.partitions():
                count += len(rows)
        return count

    rows, seconds, growth = await peak_growth(stream)
    return {"rows": rows, "rows_per_s": round(rows / seconds), "peak_rss_growth_mb": growth}


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=50_000)
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        postgres = EmbeddedPostgres(Path(directory), free_port(), durable=False)
        await postgres.start()
        try:
            await upgrade(postgres.url)
            engine = create_engine(postgres.url)
            sessions = create_sessionmaker(engine)
            org = await seed(sessions, args.events, args.invoices)
            small_to = (START + timedelta(seconds=args.small)).isoformat()
            figures: dict[str, Any] = {
                "floor_cursor_only": await floor(sessions, org),
                f"events_{args.small}": await export(
                    sessions, org, "events", {"timestamp_to": small_to}
                ),
                f"events_{args.events}": await export(sessions, org, "events", {}),
                f"invoices_{args.invoices}": await export(sessions, org, "invoices", {}),
            }
            await engine.dispose()
        finally:
            postgres.stop()
    small, large = figures[f"events_{args.small}"], figures[f"events_{args.events}"]
    flat = large["peak_rss_growth_mb"] - small["peak_rss_growth_mb"] <= FLAT_BOUND_MB
    figures |= {"flat_bound_mb": FLAT_BOUND_MB, "memory_flat": flat}
    line = json.dumps(figures)
    print(line)
    if not args.no_record:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        (ROOT / "bench" / "results" / f"exports-{stamp}.json").write_text(line + "\n")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
