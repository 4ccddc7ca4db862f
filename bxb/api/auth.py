"""Signing in and out of the web app, invitations and password resets (bxb).

Public routes: they authenticate by what they are given (a one-time token, a password or
the session cookie), never by an API key. Documented in docs/members.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, BackgroundTasks, FastAPI, Request, Response
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.deps import SessionDep, SettingsDep
from bxb.api.errors import unauthorized
from bxb.api.members import EmailDep
from bxb.api.openapi_document import api_routes, operation_id
from bxb.api.responses import JsonResponse
from bxb.api.schemas.members import (
    InvitationAcceptBody,
    PasswordResetBody,
    PasswordResetRequestBody,
    SignInBody,
)
from bxb.core.settings import Settings
from bxb.governance import members, sign_in
from bxb.governance.actor import Role
from bxb.governance.permissions import is_allowed
from bxb.governance.sessions import (
    SESSION_COOKIE,
    clear_session_cookies,
    cookies_secure,
    live_session,
    member_actor,
    open_session,
    request_now,
    set_session_cookies,
)
from bxb.governance.tokens import digest
from bxb.lago_objects.formats import iso
from bxb.lago_objects.members import member_object
from bxb.models import Member, MemberSession

router = APIRouter(prefix="/api/v1", tags=["auth"])


def allowed_operations(app: FastAPI, role: Role) -> list[str]:
    """The OpenAPI operation ids of /api/v1 routes a member of `role` may call, sorted."""
    cache: dict[Role, list[str]] | None = getattr(app.state, "allowed_operations", None)
    if cache is None:
        cache = app.state.allowed_operations = {}
    if role not in cache:
        cache[role] = sorted(
            operation_id(route)
            for route in api_routes(app.router.routes)
            if route.include_in_schema
            and route.path.startswith("/api/v1/")
            and any(is_allowed(role, method, route.path) for method in route.methods or ())
        )
    return cache[role]


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


async def _signed_in(
    request: Request, response: Response, session: SessionDep, member: Member, s: Settings
) -> dict[str, Any]:
    opened = await open_session(
        session, member, now=request_now(request), ttl=timedelta(seconds=s.session_ttl_seconds)
    )
    await session.commit()
    secure = cookies_secure(request, s.session_cookie_secure, s.resolved_public_url)
    set_session_cookies(request, response, opened, secure=secure)
    return {
        "member": member_object(member),
        "session": {"csrf_token": opened.csrf_token, "expires_at": iso(opened.row.expires_at)},
    }


@router.post("/invitations/{token}/accept")
async def accept_invitation(
    token: str,
    body: InvitationAcceptBody,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Become a member: choose a name and password; the answer signs you in."""
    member = await members.accept_invitation(
        session, token, body.member.name, body.member.password, now=request_now(request)
    )
    return await _signed_in(request, response, session, member, settings)


@router.post("/auth/sign_in")
async def sign_in_route(
    body: SignInBody,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> Any:
    try:
        member = await sign_in.sign_in(
            session, body.email, body.password, body.organization_id, now=request_now(request)
        )
    except sign_in.SignInRefusedError as refused:
        headers = {} if refused.retry_after is None else {"Retry-After": str(refused.retry_after)}
        return JsonResponse(refused.error.body(), refused.error.status, headers=headers)
    return await _signed_in(request, response, session, member, settings)


@router.post("/auth/sign_out", status_code=204)
async def sign_out(request: Request, session: SessionDep) -> Response:
    """End this session (CSRF-checked like any state change); always clears the cookies."""
    token = request.cookies.get(SESSION_COOKIE)
    if token and await member_actor(request, _sessions(request)) is not None:
        await session.execute(
            update(MemberSession)
            .where(MemberSession.token_hash == digest(token), MemberSession.revoked_at.is_(None))
            .values(revoked_at=request_now(request))
        )
        await session.commit()
    response = Response(status_code=204)
    clear_session_cookies(response)
    return response


@router.get("/auth/me")
async def me(request: Request, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """The signed-in member and their organization, or 401."""
    token = request.cookies.get(SESSION_COOKIE)
    found = await live_session(session, token, request_now(request)) if token else None
    if found is None:
        raise unauthorized()
    _, member = found
    organization = member.organization
    return {
        "member": member_object(member),
        "organization": {
            "lago_id": str(member.organization_id),
            "name": organization.name,
            "timezone": organization.timezone,
            "default_currency": organization.default_currency,
        },
        # What the web app may show as buttons: the operations this role may call. The API
        # still checks every call; this only keeps forbidden actions off the screen.
        "allowed_operations": allowed_operations(request.app, Role(member.role)),
        "temporal_ui": temporal_ui(request, settings),
    }


def temporal_ui(request: Request, settings: Settings) -> dict[str, str] | None:
    """The Temporal UI's namespace page, for links to a subscription's workflow."""
    base = settings.temporal_ui_url
    if base is None and settings.temporal_address is None:  # `bxb up`'s embedded server
        base = f"http://{request.url.hostname or '127.0.0.1'}:{settings.temporal_ui_port}"
    if base is None:
        return None
    return {"namespace_url": f"{base.rstrip('/')}/namespaces/{settings.temporal_namespace}"}


@router.post("/auth/password_resets", status_code=202)
async def request_password_reset(
    body: PasswordResetRequestBody,
    request: Request,
    background: BackgroundTasks,
    settings: SettingsDep,
    email: EmailDep,
) -> dict[str, Any]:
    """Always 202, at once: the lookup and the mail happen after the answer, so neither
    its body nor its timing tells whether the email has an account."""
    background.add_task(
        sign_in.request_password_reset,
        _sessions(request),
        email,
        body.email,
        body.organization_id,
        now=request_now(request),
        ttl=timedelta(seconds=settings.password_reset_ttl_seconds),
        public_url=settings.resolved_public_url,
    )
    return {}


@router.post("/auth/password_resets/{token}")
async def reset_password(
    token: str, body: PasswordResetBody, request: Request, session: SessionDep
) -> dict[str, Any]:
    """Set a new password with a reset link's token (once); every session of the member ends."""
    member = await sign_in.reset_password(session, token, body.password, now=request_now(request))
    await session.commit()
    return {"member": member_object(member)}
