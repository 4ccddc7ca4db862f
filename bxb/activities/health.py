"""Activities that report on the worker's own dependencies."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity


@dataclass(frozen=True)
class DatabaseStatus:
    server_version: str
    migration: str | None


class HealthActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name="check_database")
    async def check_database(self) -> DatabaseStatus:
        async with self.sessions() as session:
            version = await session.scalar(text("SHOW server_version"))
            migration = await session.scalar(text("SELECT version_num FROM alembic_version"))
        return DatabaseStatus(server_version=str(version), migration=migration)
