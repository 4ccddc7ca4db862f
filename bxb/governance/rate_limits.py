"""Rate limits per key and route class (events, reads, writes), per organization.

The defaults come from the settings; an organization's overrides live in
`rate_limit_overrides` and are cached per process for a few seconds. Counting is done by
`SharedCounter` (see its module for how processes share a limit and the overshoot bound).
Over the limit the request gets Lago's 429 with the headers lago-python-client reads.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from typing import Any, Final

from fastapi import Request
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.settings import Settings
from bxb.governance.actor import Actor
from bxb.governance.audit.recorder import record_activity
from bxb.governance.shared_counter import Decision, Limit, SharedCounter
from bxb.lago_objects.errors import ApiError
from bxb.models import Organization, RateLimitOverride

ROUTE_CLASSES: Final = ("events", "reads", "writes")
# The ingestion routes; reading events back is a read.
EVENT_ROUTES: Final = frozenset({"/api/v1/events", "/api/v1/events/batch"})
OVERRIDES_TTL_SECONDS = 5.0


def route_class(method: str, path: str) -> str:
    if method == "POST" and path in EVENT_ROUTES:
        return "events"
    return "reads" if method in ("GET", "HEAD") else "writes"


def default_limits(settings: Settings) -> dict[str, Limit]:
    period = settings.rate_limit_period
    return {
        "events": Limit(settings.rate_limit_events, period),
        "reads": Limit(settings.rate_limit_reads, period),
        "writes": Limit(settings.rate_limit_writes, period),
    }


class RateLimiter:
    """One per API process: the shared counter and the organizations' limits."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.defaults = default_limits(settings)
        self.counter = SharedCounter(sessions, settings.rate_limit_sync_ms / 1000)
        self._limits: dict[uuid.UUID, tuple[dict[str, Limit], float]] = {}
        self._lookups: dict[uuid.UUID, asyncio.Future[dict[str, Limit]]] = {}

    def cached_limits(self, organization_id: uuid.UUID) -> dict[str, Limit] | None:
        cached = self._limits.get(organization_id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        return None

    async def limits(self, organization_id: uuid.UUID) -> dict[str, Limit]:
        cached = self.cached_limits(organization_id)
        if cached is not None:
            return cached
        # Concurrent requests with an expired entry share one lookup.
        lookup = self._lookups.get(organization_id)
        if lookup is None:
            lookup = asyncio.ensure_future(self._load(organization_id))
            self._lookups[organization_id] = lookup
            lookup.add_done_callback(lambda _: self._lookups.pop(organization_id, None))
        return await asyncio.shield(lookup)

    async def _load(self, organization_id: uuid.UUID) -> dict[str, Limit]:
        async with self.sessions() as session:
            limits = await organization_limits(session, organization_id, self.defaults)
        self._limits[organization_id] = (
            {name: limit for name, (limit, _) in limits.items()},
            time.monotonic() + OVERRIDES_TTL_SECONDS,
        )
        return self._limits[organization_id][0]

    def forget(self, organization_id: uuid.UUID) -> None:
        self._limits.pop(organization_id, None)


async def organization_limits(
    session: AsyncSession, organization_id: uuid.UUID, defaults: Mapping[str, Limit]
) -> dict[str, tuple[Limit, bool]]:
    """Each route class's limit, and whether it is the organization's own."""
    rows = await session.scalars(
        select(RateLimitOverride).where(RateLimitOverride.organization_id == organization_id)
    )
    limits = {name: (limit, False) for name, limit in defaults.items()}
    for row in rows:
        if row.route_class in limits:
            limits[row.route_class] = (Limit(row.limit, row.period), True)
    return limits


async def set_organization_limits(
    session: AsyncSession, organization_id: uuid.UUID, changes: Mapping[str, Limit | None]
) -> None:
    """Override (a Limit) or return to the default (None) per route class; the change is
    in the audit trail as an update of the organization."""
    overrides = await session.scalars(
        select(RateLimitOverride).where(RateLimitOverride.organization_id == organization_id)
    )
    before = {row.route_class: {"limit": row.limit, "period": row.period} for row in overrides}
    for name, limit in changes.items():
        if limit is None:
            await session.execute(
                delete(RateLimitOverride).where(
                    RateLimitOverride.organization_id == organization_id,
                    RateLimitOverride.route_class == name,
                )
            )
            continue
        values: dict[str, Any] = {"limit": limit.limit, "period": limit.period}
        statement = insert(RateLimitOverride).values(
            organization_id=organization_id, route_class=name, **values
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["organization_id", "route_class"],
                set_={**values, "updated_at": statement.excluded.updated_at},
            )
        )
    organization = await session.get(Organization, organization_id)
    if organization is not None:
        audited = {
            f"api_rate_limits.{name}": [
                before.get(name),
                None if limit is None else {"limit": limit.limit, "period": limit.period},
            ]
            for name, limit in changes.items()
        }
        record_activity(session.sync_session, organization, "updated", changes=audited)


def rate_limited(decision: Decision) -> ApiError:
    """Lago's 429 body; lago-python-client waits `x-ratelimit-reset` seconds, then retries."""
    reset = str(decision.reset)
    return ApiError(
        429,
        code="rate_limit_exceeded",
        error="Too Many Requests",
        headers={
            "Retry-After": reset,
            "x-ratelimit-limit": str(decision.limit),
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": reset,
        },
    )


async def enforce_rate_limit(request: Request, actor: Actor) -> None:
    """Answer 429 (raise) when `actor` is over its limit for this request's route class.

    The CLI and the system are never limited. Without a running limiter (an app whose
    lifespan did not start it, or limits turned off) nothing is limited.
    """
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None or actor.kind in ("cli", "system"):
        return
    name = route_class(request.scope["method"], request.scope["path"])
    # Awaits only on a miss: each coroutine costs on the events path.
    limits = limiter.cached_limits(actor.organization_id)
    if limits is None:
        limits = await limiter.limits(actor.organization_id)
    key = actor.id or actor.organization_id
    now = time.time()
    decision = limiter.counter.hit_locally(key, name, limits[name], now)
    if decision is None:
        decision = await limiter.counter.hit_exactly(key, name, limits[name], now)
    if not decision.allowed:
        raise rate_limited(decision)
