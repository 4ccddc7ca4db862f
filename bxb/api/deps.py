"""Annotated dependencies shared by every router, and the one place requests are authorized.

`current_organization` and `current_organization_id` (OrgDep, OrganizationIdDep) resolve
the request's Actor: an API key from `Authorization: Bearer <key>`, else a signed-in
member's session. They record it (`current_actor`, the ASGI scope), check the role's
permission for the matched route (bxb.governance.permissions) and the rate limit, once per
request however many dependencies ask.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.errors import ApiError, unauthorized
from bxb.core.organizations import hash_api_key
from bxb.core.settings import Settings
from bxb.core.temporal import TemporalConnector
from bxb.governance import key_grants, key_usage
from bxb.governance.actor import SCOPE_KEY, Actor, current_actor
from bxb.governance.key_grants import forget_api_keys
from bxb.governance.organization_cache import organization_in
from bxb.governance.permissions import is_allowed
from bxb.governance.rate_limits import enforce_rate_limit
from bxb.governance.sessions import member_actor
from bxb.models import Organization

__all__ = ["forget_api_keys"]


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; the route commits what it writes. A route marked
    `reads_only` gets an autocommit session: no BEGIN and ROLLBACK round trips."""
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    sessions = _sessions(request)
    if getattr(endpoint, READS_ONLY, False):
        sessions = request.app.state.read_sessions
    async with sessions() as session:
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


def forbidden(code: str = "forbidden_for_role") -> ApiError:
    return ApiError(403, code=code, error="Forbidden")


def _bearer_key(header: str) -> str:
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise unauthorized()
    return key


async def _key_actor(request: Request, header: str) -> Actor:
    sessions = _sessions(request)
    grant = await key_grants.key_grant(sessions, hash_api_key(_bearer_key(header)))
    if grant is None or grant.expired(time.time()):
        raise unauthorized()
    key_id = grant.actor.id
    if key_id is not None and key_usage.due(key_id):
        await key_usage.record_use(sessions, key_id)
    return grant.actor


async def current_actor_of(request: Request, *, changes: bool = True) -> Actor:
    """The request's authorized Actor; 401 without credentials, 403 when the role forbids.

    `changes=False` (event ingestion) keeps the actor out of `current_actor`: the audit
    trail logs what people change, and the background work an ingestion request starts
    must not inherit an actor. It is still in the scope, for the API log.
    """
    scope = request.scope
    known: Actor | None = scope.get(SCOPE_KEY)
    if known is not None:
        return known
    header = request.headers.get("authorization")
    if header is not None:
        actor = await _key_actor(request, header)
    else:
        member = await member_actor(request, _sessions(request))
        if member is None:
            raise unauthorized()
        actor = member
    scope[SCOPE_KEY] = actor
    if changes:
        current_actor.set(actor)
    route = scope.get("route")
    if not is_allowed(actor.role, scope["method"], getattr(route, "path", None)):
        raise forbidden()
    await enforce_rate_limit(request, actor)
    return actor


ActorDep = Annotated[Actor, Depends(current_actor_of)]


async def current_organization(request: Request, session: SessionDep) -> Organization:
    """The organization of the request's actor (see `current_actor_of`)."""
    actor = await current_actor_of(request)
    organization = await organization_in(session, actor.organization_id)
    if organization is None:
        raise unauthorized()
    return organization


OrgDep = Annotated[Organization, Depends(current_organization)]


async def current_organization_id(request: Request) -> uuid.UUID:
    """The id of the organization of the request's actor; no database round trip for keys."""
    return (await current_actor_of(request, changes=False)).organization_id


OrganizationIdDep = Annotated[uuid.UUID, Depends(current_organization_id)]

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
AUTHENTICATES_INLINE = "__bxb_authenticates_inline__"
READS_ONLY = "__bxb_reads_only__"


def reads_only(endpoint: Endpoint) -> Endpoint:
    """Mark a route that only reads (SELECTs, no locks, nothing written): its session runs
    each statement in autocommit. Under PostgreSQL's READ COMMITTED every statement of a
    transaction takes its own snapshot anyway, so a read-only route sees the same as inside
    one, and saves the BEGIN and the ROLLBACK: two of the three or four round trips of a
    simple read. A route that writes, locks, or needs one snapshot must not carry it."""
    setattr(endpoint, READS_ONLY, True)
    return endpoint


def authenticates_inline(endpoint: Endpoint) -> Endpoint:
    """Mark a route that calls `current_organization_id` itself instead of depending on it
    (event ingestion, where dependency resolution is a measurable cost), so the matrix's
    coverage test counts it as key-authenticated."""
    setattr(endpoint, AUTHENTICATES_INLINE, True)
    return endpoint


def authenticates_with_key(route: APIRoute) -> bool:
    """Whether a route admits API keys and members (then the permission matrix covers it)."""
    if getattr(route.endpoint, AUTHENTICATES_INLINE, False):
        return True
    calls = {current_actor_of, current_organization, current_organization_id}

    def depends(dependant: Dependant) -> bool:
        return any(d.call in calls or depends(d) for d in dependant.dependencies)

    return depends(route.dependant)
