"""Calls `enforce_rate_limit` on every /api/v1 request, as the auth dependency will.

Until the auth dependency calls it (issue 12, another helper), tests and the ingestion
bench wire the limiter with this middleware. The actor is the API key's organization
(one key per organization on main), resolved through the events path's key cache.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from bxb.api.deps import current_organization_id
from bxb.api.errors import ApiError
from bxb.governance.actor import Actor, Role
from bxb.governance.rate_limits import enforce_rate_limit


class RateLimitWiring:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/v1/"):
            request = Request(scope)
            try:
                organization_id = await current_organization_id(request)
            except ApiError:
                organization_id = None  # the route answers 401 itself
            if organization_id is not None:
                actor = Actor(organization_id, Role.ADMIN, "api_key", id=organization_id)
                try:
                    await enforce_rate_limit(request, actor)
                except ApiError as error:
                    response = JSONResponse(error.body(), error.status, headers=error.headers)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def wire_rate_limits(app: FastAPI) -> FastAPI:
    app.add_middleware(RateLimitWiring)
    return app
