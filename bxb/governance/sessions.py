"""Browser sessions of members: opening one, the cookies, and reading it back per request.

A session is a random token in an HttpOnly cookie (`bxb_session`); the row keeps its
SHA-256 digest, an expiry and `revoked_at`. State-changing calls must also send the
session's CSRF token in `X-CSRF-Token` (double submit: the token is in the readable
`bxb_csrf` cookie and in the sign-in answer; a page of another site can send the cookie
but cannot read it). Sessions are looked up at every request, not cached: one indexed
query, and sign-out, removal and role changes take effect on the next request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.governance.actor import Actor, Role
from bxb.governance.tokens import digest, matches, new_token
from bxb.lago_objects.errors import ApiError
from bxb.models import Member, MemberSession
from bxb.models.base import utcnow

SESSION_COOKIE = "bxb_session"
CSRF_COOKIE = "bxb_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def request_now(request: Request) -> datetime:
    """Now, from `app.state.clock` when a test set one (lockout and expiry tests)."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else utcnow()


@dataclass(frozen=True)
class OpenedSession:
    row: MemberSession
    token: str
    csrf_token: str
    max_age: int  # seconds, for the cookies


async def open_session(
    session: AsyncSession, member: Member, *, now: datetime, ttl: timedelta
) -> OpenedSession:
    token, token_hash = new_token()
    csrf_token, csrf_hash = new_token()
    row = MemberSession(
        organization_id=member.organization_id,
        member_id=member.id,
        token_hash=token_hash,
        csrf_token_hash=csrf_hash,
        expires_at=now + ttl,
    )
    session.add(row)
    member.last_sign_in_at = now
    await session.flush()
    return OpenedSession(row, token, csrf_token, int(ttl.total_seconds()))


def set_session_cookies(
    request: Request, response: Response, opened: OpenedSession, *, secure: bool
) -> None:
    for name, value, http_only in (
        (SESSION_COOKIE, opened.token, True),
        (CSRF_COOKIE, opened.csrf_token, False),  # read by the web app's scripts
    ):
        response.set_cookie(
            name,
            value,
            max_age=opened.max_age,
            path="/",
            secure=secure,
            httponly=http_only,
            samesite="lax",
        )


def cookies_secure(request: Request, setting: bool | None, public_url: str) -> bool:
    """Secure cookies when configured so, else when bxb is reached (or published) by https."""
    if setting is not None:
        return setting
    return request.url.scheme == "https" or public_url.startswith("https://")


def clear_session_cookies(response: Response) -> None:
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", samesite="lax")


async def live_session(
    session: AsyncSession, token: str, now: datetime
) -> tuple[MemberSession, Member] | None:
    row = await session.execute(
        select(MemberSession, Member)
        .join(Member, Member.id == MemberSession.member_id)
        .where(
            MemberSession.token_hash == digest(token),
            MemberSession.revoked_at.is_(None),
            MemberSession.expires_at > now,
            Member.status == "active",
        )
    )
    found = row.first()
    return None if found is None else (found[0], found[1])


def actor_of(member: Member) -> Actor:
    return Actor(
        organization_id=member.organization_id,
        role=Role(member.role),
        kind="member",
        id=member.id,
        email=member.email,
        label=member.email,
    )


def invalid_csrf() -> ApiError:
    return ApiError(403, code="invalid_csrf_token")


async def member_actor(
    request: Request, sessions: async_sessionmaker[AsyncSession]
) -> Actor | None:
    """The signed-in member behind the request's session cookie, or None.

    For a state-changing method it also checks the CSRF token and answers 403 when it
    does not match.
    """
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    async with sessions() as session:
        found = await live_session(session, token, request_now(request))
    if found is None:
        return None
    row, member = found
    if request.method not in SAFE_METHODS and not matches(
        request.headers.get(CSRF_HEADER), row.csrf_token_hash
    ):
        raise invalid_csrf()
    return actor_of(member)
