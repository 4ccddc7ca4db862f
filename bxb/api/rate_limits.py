"""GET/PUT /api/v1/rate_limits: the caller's organization's limits per route class.

A bxb extension in Lago's style (a root key; Lago keeps `{"limit", "period"}` per limit in
its organizations' `api_rate_limits`). PUT changes only the classes it names; `null`
returns a class to the default of the settings. Other processes apply a change within
`OVERRIDES_TTL_SECONDS`, this one at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field

from bxb.api.deps import OrgDep, SessionDep, SettingsDep
from bxb.governance.rate_limits import (
    RateLimiter,
    default_limits,
    organization_limits,
    set_organization_limits,
)
from bxb.governance.shared_counter import Limit


@asynccontextmanager
async def rate_limiter_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """One limiter per process, started with the app (FastAPI merges router lifespans)."""
    settings = app.state.settings
    if not settings.rate_limits_enabled:
        yield
        return
    limiter = RateLimiter(app.state.sessions, settings)
    limiter.counter.start()
    app.state.rate_limiter = limiter
    try:
        yield
    finally:
        app.state.rate_limiter = None
        await limiter.counter.stop()


router = APIRouter(
    prefix="/api/v1/rate_limits", tags=["rate_limits"], lifespan=rate_limiter_lifespan
)


class LimitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(ge=1, le=1_000_000_000)
    period: int = Field(ge=1, le=3600)


class RateLimitsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: LimitIn | None = None
    reads: LimitIn | None = None
    writes: LimitIn | None = None


class RateLimitsBody(BaseModel):
    rate_limits: RateLimitsIn


def _object(limits: dict[str, tuple[Limit, bool]]) -> dict[str, Any]:
    return {
        "rate_limits": {
            name: {"limit": limit.limit, "period": limit.period, "customized": own}
            for name, (limit, own) in limits.items()
        }
    }


@router.get("")
async def get_rate_limits(
    org: OrgDep, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    return _object(await organization_limits(session, org.id, default_limits(settings)))


@router.put("")
async def update_rate_limits(
    request: Request, body: RateLimitsBody, org: OrgDep, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    given = body.rate_limits
    changes = {
        name: None if value is None else Limit(value.limit, value.period)
        for name in given.model_fields_set
        for value in [getattr(given, name)]
    }
    await set_organization_limits(session, org.id, changes)
    await session.commit()
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        limiter.forget(org.id)
    return _object(await organization_limits(session, org.id, default_limits(settings)))
