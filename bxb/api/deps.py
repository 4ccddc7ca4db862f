"""Annotated dependencies shared by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.errors import unauthorized
from bxb.core.organizations import authenticate
from bxb.core.settings import Settings
from bxb.core.temporal import TemporalConnector
from bxb.models import Organization


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; the route commits what it writes."""
    async with _sessions(request)() as session:
        yield session


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_temporal(request: Request) -> TemporalConnector:
    temporal: TemporalConnector = request.app.state.temporal
    return temporal


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[TemporalConnector, Depends(get_temporal)]


async def current_organization(request: Request, session: SessionDep) -> Organization:
    """Resolve `Authorization: Bearer <key>` to its organization, or answer 401."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise unauthorized()
    organization = await authenticate(session, key.strip())
    if organization is None:
        raise unauthorized()
    return organization


OrgDep = Annotated[Organization, Depends(current_organization)]
