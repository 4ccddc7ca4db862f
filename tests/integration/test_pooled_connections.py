"""The engine's pool checks a connection before handing it out (bxb.core.db): a connection
the database closed while it sat in the pool is replaced, not handed to a request."""

from __future__ import annotations

import asyncpg
from sqlalchemy import text

from bxb.core.db import create_engine, create_sessionmaker


async def test_connections_the_database_closed_are_replaced(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=3)
    sessions = create_sessionmaker(engine)
    try:
        # Three connections into the pool, then the database ends all of them.
        held = [sessions() for _ in range(3)]
        pids = [(await s.execute(text("select pg_backend_pid()"))).scalar_one() for s in held]
        for session in held:
            await session.close()
        assert len(set(pids)) == 3
        admin = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            ended = await admin.fetchval(
                "select count(*) filter (where pg_terminate_backend(p)) from unnest($1::int[]) p",
                pids,
            )
        finally:
            await admin.close()
        assert ended == 3

        # Every later session gets a live connection: no error reaches the caller.
        for _ in range(4):
            async with sessions() as session:
                pid = (await session.execute(text("select pg_backend_pid()"))).scalar_one()
                assert pid not in pids
    finally:
        await engine.dispose()
