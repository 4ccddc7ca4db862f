"""Annotated dependencies shared by every router."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session

from bxb.api.errors import unauthorized
from bxb.core.organizations import authenticate, hash_api_key
from bxb.core.settings import Settings
from bxb.core.temporal import TemporalConnector
from bxb.governance.actor import SCOPE_KEY, Actor, Role, current_actor
from bxb.models import ApiKey, Organization


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


def _bearer_key(request: Request) -> str:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise unauthorized()
    return key.strip()


async def current_organization(request: Request, session: SessionDep) -> Organization:
    """Resolve `Authorization: Bearer <key>` to its organization, or answer 401."""
    organization = await authenticate(session, _bearer_key(request))
    if organization is None:
        raise unauthorized()
    _act_for_key(request, organization.id)
    return organization


def _act_for_key(request: Request, organization_id: uuid.UUID, *, changes: bool = True) -> None:
    """Minimal actor for the audit trail (issue 12, audit helper): the organization's key
    as an admin. The auth dependency of issue 12 replaces this with the key's own id, name
    and role; an actor it already set is kept. Event ingestion (changes=False) only needs
    it in the scope (for the API log): its background tasks, started from a request, must
    not inherit an actor."""
    if SCOPE_KEY in request.scope:
        return
    actor = Actor(organization_id, Role.ADMIN, "api_key", label="api_key")
    request.scope[SCOPE_KEY] = actor
    if changes:
        current_actor.set(actor)


OrgDep = Annotated[Organization, Depends(current_organization)]


# Event ingestion authenticates every request; a database round trip per event would
# cost more than storing it. Live keys are cached per process for a short time: a key
# revoked through this process's ORM is forgotten at once (listener below); one revoked
# by another process (e.g. `bxb org revoke-key`) stops working here within the TTL.
API_KEY_CACHE_TTL_SECONDS = 1.0
API_KEY_CACHE_MAX_ENTRIES = 10_000
_live_keys: dict[str, tuple[uuid.UUID, float]] = {}
_lookups: dict[str, asyncio.Future[uuid.UUID | None]] = {}


async def current_organization_id(request: Request) -> uuid.UUID:
    """The id of the organization owning the bearer key (cached), or answer 401."""
    digest = hash_api_key(_bearer_key(request))
    cached = _live_keys.get(digest)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    # One lookup per key at a time: concurrent requests with an expired entry share it.
    lookup = _lookups.get(digest)
    if lookup is None:
        lookup = asyncio.ensure_future(_lookup_key(_sessions(request), digest))
        _lookups[digest] = lookup
        lookup.add_done_callback(lambda _: _lookups.pop(digest, None))
    organization_id = await asyncio.shield(lookup)
    if organization_id is None:
        raise unauthorized()
    _act_for_key(request, organization_id, changes=False)
    return organization_id


async def _lookup_key(sessions: async_sessionmaker[AsyncSession], digest: str) -> uuid.UUID | None:
    async with sessions() as session:
        organization_id = await session.scalar(
            select(ApiKey.organization_id).where(
                ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)
            )
        )
    if organization_id is None:
        _live_keys.pop(digest, None)
        return None
    if len(_live_keys) >= API_KEY_CACHE_MAX_ENTRIES:
        _live_keys.clear()
    _live_keys[digest] = (organization_id, time.monotonic() + API_KEY_CACHE_TTL_SECONDS)
    return organization_id


def forget_api_keys() -> None:
    _live_keys.clear()
    _lookups.clear()  # a lookup in flight may have read the key before its revocation


@event.listens_for(Session, "do_orm_execute")
def _forget_keys_on_revocation(state: ORMExecuteState) -> None:
    """Any ORM update or delete of keys or organizations empties the cache."""
    if not (state.is_update or state.is_delete):
        return
    if any(mapper.class_ in (ApiKey, Organization) for mapper in state.all_mappers):
        forget_api_keys()


OrganizationIdDep = Annotated[uuid.UUID, Depends(current_organization_id)]
