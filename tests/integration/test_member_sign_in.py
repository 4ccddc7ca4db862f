"""Signing in and out, the session cookie, CSRF, lockout with backoff, and member_actor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.errors import ApiError
from bxb.core.settings import Settings
from bxb.governance.actor import Role
from bxb.governance.sessions import member_actor
from bxb.models import Member, MemberSession, SignInThrottle
from tests.support.auth import Tenant
from tests.support.members import (
    OTHER_STRONG_PASSWORD,
    STRONG_PASSWORD,
    MemberApp,
    member_app,
)


@pytest.fixture
async def m(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[MemberApp]:
    # After `sessions` (so closed before its truncation): the app's last API logs are
    # written before the tables are emptied, not into the next test.
    async for app in member_app(settings):
        # A route that trusts only member_actor, as the auth dependency will.
        async def whoami(request: Request) -> dict[str, Any]:
            actor = await member_actor(request, request.app.state.sessions)
            if actor is None:
                raise ApiError(401)
            async with request.app.state.sessions() as session:
                emails = (
                    await session.scalars(
                        select(Member.email).where(Member.organization_id == actor.organization_id)
                    )
                ).all()
            return {"actor": {**actor.__dict__, "role": actor.role.value}, "emails": emails}

        for method in ("GET", "POST", "DELETE"):
            app.app.add_api_route("/test/whoami", whoami, methods=[method])
        yield app


async def _sign_in(
    client: httpx.AsyncClient, email: str, password: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/sign_in", json={"email": email, "password": password, **extra}
    )


async def test_sign_in_sets_a_session_and_csrf_cookie_and_sign_out_ends_it(
    m: MemberApp, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await m.add_member(tenant_a, "ada@example.com", "billing_admin", browser=m.browser())
    response = await _sign_in(m.client, "ADA@example.com", STRONG_PASSWORD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["member"]["email"] == "ada@example.com"
    cookies = {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}
    session_cookie = cookies["bxb_session"]
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie
    assert "Path=/" in session_cookie
    assert "Secure" not in session_cookie  # plain http here
    assert "HttpOnly" not in cookies["bxb_csrf"]  # the web app reads it
    csrf = body["session"]["csrf_token"]
    assert m.client.cookies["bxb_csrf"] == csrf
    async with sessions() as session:
        row = await session.scalar(select(MemberSession))
        assert row is not None
        assert m.client.cookies["bxb_session"] not in (row.token_hash, row.csrf_token_hash)

    who = (await m.client.get("/test/whoami")).json()["actor"]
    assert who["kind"] == "member"
    assert who["role"] == "billing_admin"
    assert who["email"] == who["label"] == "ada@example.com"
    assert who["organization_id"] == str(tenant_a.organization_id)

    # State changes need the CSRF header.
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        refused = await m.client.post("/test/whoami", headers=headers)
        assert refused.status_code == 403
        assert refused.json() == {"status": 403, "error": "Forbidden", "code": "invalid_csrf_token"}
    assert (await m.client.post("/test/whoami", headers={"X-CSRF-Token": csrf})).status_code == 200
    assert (await m.client.post("/api/v1/auth/sign_out")).status_code == 403

    out = await m.client.post("/api/v1/auth/sign_out", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert (await m.client.get("/api/v1/auth/me")).status_code == 401
    async with sessions() as session:
        row = await session.scalar(select(MemberSession).order_by(MemberSession.created_at.desc()))
        assert row is not None
        assert row.revoked_at is not None


async def test_a_stolen_cookie_stops_working_after_sign_out_and_expiry(
    m: MemberApp, tenant_a: Tenant
) -> None:
    await m.add_member(tenant_a, "ada@example.com")
    token = m.client.cookies["bxb_session"]
    csrf = m.client.cookies["bxb_csrf"]
    async with m.browser() as thief:
        thief.cookies.set("bxb_session", token)
        assert (await thief.get("/api/v1/auth/me")).status_code == 200
        await m.client.post("/api/v1/auth/sign_out", headers={"X-CSRF-Token": csrf})
        assert (await thief.get("/api/v1/auth/me")).status_code == 401
        assert (await thief.get("/test/whoami")).status_code == 401

    await _sign_in(m.client, "ada@example.com", STRONG_PASSWORD)
    assert (await m.client.get("/api/v1/auth/me")).status_code == 200
    m.clock.advance(hours=12, seconds=1)
    assert (await m.client.get("/api/v1/auth/me")).status_code == 401


async def test_a_role_change_applies_to_live_sessions_at_once(
    m: MemberApp, tenant_a: Tenant
) -> None:
    ada = await m.add_member(tenant_a, "ada@example.com", "admin")
    assert (await m.client.get("/test/whoami")).json()["actor"]["role"] == "admin"
    await m.client.put(
        f"/api/v1/members/{ada['member']['lago_id']}",  # type: ignore[index]
        json={"member": {"role": "finance_viewer"}},
        headers=tenant_a.headers,
    )
    assert (await m.client.get("/test/whoami")).json()["actor"]["role"] == "finance_viewer"


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    m: MemberApp, tenant_a: Tenant
) -> None:
    await m.add_member(tenant_a, "ada@example.com", browser=m.browser())
    wrong = await _sign_in(m.client, "ada@example.com", OTHER_STRONG_PASSWORD)
    unknown = await _sign_in(m.client, "nobody@example.com", OTHER_STRONG_PASSWORD)
    assert wrong.status_code == unknown.status_code == 422
    assert (
        wrong.json()
        == unknown.json()
        == {
            "status": 422,
            "error": "Unprocessable Entity",
            "code": "validation_errors",
            "error_details": {"base": ["incorrect_login_or_password"]},
        }
    )
    assert "set-cookie" not in wrong.headers
    bad = await m.client.post("/api/v1/auth/sign_in", json={"email": "ada@example.com"})
    assert bad.json()["error_details"] == {"password": ["value_is_mandatory"]}


@pytest.mark.parametrize("email", ["ada@example.com", "nobody@example.com"])
async def test_lockout_backs_off_and_looks_the_same_for_unknown_emails(
    m: MemberApp, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession], email: str
) -> None:
    await m.add_member(tenant_a, "ada@example.com", browser=m.browser())
    for _ in range(4):
        assert (await _sign_in(m.client, email, "wrong-guess-123456")).status_code == 422
    fifth = await _sign_in(m.client, email, "wrong-guess-123456")
    assert fifth.status_code == 422  # the fifth failure is answered, then locks
    locked = await _sign_in(m.client, email, STRONG_PASSWORD)
    assert locked.status_code == 429
    assert locked.json() == {
        "status": 429,
        "error": "Too Many Requests",
        "code": "too_many_sign_in_attempts",
    }
    assert locked.headers["retry-after"] == "30"
    m.clock.advance(seconds=29)
    assert (await _sign_in(m.client, email, STRONG_PASSWORD)).headers["retry-after"] == "1"

    # Each failure after the lock doubles it: 30 s, 60 s, 120 s, ... up to 15 minutes.
    for expected in (60, 120, 240, 480, 900, 900):
        m.clock.advance(seconds=1000)
        assert (await _sign_in(m.client, email, "wrong-guess-123456")).status_code == 422
        refused = await _sign_in(m.client, email, STRONG_PASSWORD)
        assert refused.headers["retry-after"] == str(expected)
    async with sessions() as session:
        throttle = await session.get(SignInThrottle, email)
        assert throttle is not None
        assert throttle.failures == 11

    m.clock.advance(seconds=900)
    after = await _sign_in(m.client, email, STRONG_PASSWORD)
    if email == "nobody@example.com":
        assert after.status_code == 422
        return
    assert after.status_code == 200
    async with sessions() as session:
        throttle = await session.get(SignInThrottle, email)
        assert throttle is not None
        assert (throttle.failures, throttle.locked_until) == (0, None)


async def test_an_email_in_two_organizations_signs_in_to_the_one_named(
    m: MemberApp, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await m.add_member(tenant_a, "ada@example.com", "admin", browser=m.browser())
    await m.add_member(tenant_b, "ada@example.com", "support", browser=m.browser())
    ambiguous = await _sign_in(m.client, "ada@example.com", STRONG_PASSWORD)
    assert ambiguous.status_code == 422
    assert ambiguous.json()["error_details"] == {"organization_id": ["value_is_mandatory"]}
    assert "set-cookie" not in ambiguous.headers

    b = await _sign_in(
        m.client, "ada@example.com", STRONG_PASSWORD, organization_id=str(tenant_b.organization_id)
    )
    assert b.status_code == 200
    who = (await m.client.get("/test/whoami")).json()
    assert who["actor"]["organization_id"] == str(tenant_b.organization_id)
    assert who["actor"]["role"] == "support"
    me = (await m.client.get("/api/v1/auth/me")).json()
    assert me["organization"] == {
        "lago_id": str(tenant_b.organization_id),
        "name": "Org B",
        "timezone": "UTC",
        "default_currency": "USD",
    }


async def test_a_session_of_org_a_only_ever_reads_org_a(
    m: MemberApp, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await m.add_member(tenant_b, "bea@example.com", browser=m.browser())
    await m.add_member(tenant_a, "ada@example.com")  # m.client is signed in as Ada (org A)
    who = (await m.client.get("/test/whoami")).json()
    assert who["actor"]["organization_id"] == str(tenant_a.organization_id)
    assert who["emails"] == ["ada@example.com"]
    me = (await m.client.get("/api/v1/auth/me")).json()
    assert me["organization"]["lago_id"] == str(tenant_a.organization_id)


async def test_member_actor_directly(
    m: MemberApp, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    signed = await m.add_member(tenant_a, "ada@example.com", "support")
    token = m.client.cookies["bxb_session"]
    csrf = signed["session"]["csrf_token"]  # type: ignore[index]

    def request(method: str, cookie: str | None, csrf_header: str | None = None) -> Request:
        headers = []
        if cookie is not None:
            headers.append((b"cookie", f"bxb_session={cookie}".encode()))
        if csrf_header is not None:
            headers.append((b"x-csrf-token", csrf_header.encode()))
        scope = {"type": "http", "method": method, "headers": headers, "app": m.app, "path": "/"}
        return Request(scope)

    actor = await member_actor(request("GET", token), sessions)
    assert actor is not None
    assert (actor.kind, actor.role, actor.organization_id) == (
        "member",
        Role.SUPPORT,
        tenant_a.organization_id,
    )
    assert await member_actor(request("GET", None), sessions) is None
    assert await member_actor(request("GET", "forged"), sessions) is None
    assert await member_actor(request("DELETE", token, csrf), sessions) == actor
    with pytest.raises(ApiError) as refused:
        await member_actor(request("PATCH", token, "nope"), sessions)
    assert refused.value.status == 403
    assert refused.value.code == "invalid_csrf_token"


async def test_cookies_are_secure_over_https_and_when_configured(
    settings: Settings, tenant_a: Tenant
) -> None:
    cases: tuple[tuple[dict[str, Any], str, bool], ...] = (
        ({}, "https://bxb.test", True),
        ({"public_url": "https://billing.acme.test"}, "http://bxb.test", True),
        ({"session_cookie_secure": False}, "https://bxb.test", False),
    )
    for i, (config, base_url, secure) in enumerate(cases):
        email = f"ada{i}@example.com"
        async for app in member_app(settings.model_copy(update=config)):
            await app.add_member(tenant_a, email, browser=app.browser())
            browser = app.browser()
            browser.base_url = httpx.URL(base_url)
            response = await _sign_in(browser, email, STRONG_PASSWORD)
            assert response.status_code == 200
            for cookie in response.headers.get_list("set-cookie"):
                assert ("; Secure" in cookie) is secure, (config, cookie)


async def test_a_cross_site_form_cannot_sign_anyone_in(m: MemberApp, tenant_a: Tenant) -> None:
    """Login CSRF: a plain HTML form can only send text/plain or form bodies, which the
    JSON routes refuse, so no session cookie is set by a foreign page."""
    await m.add_member(tenant_a, "ada@example.com", browser=m.browser())
    response = await m.client.post(
        "/api/v1/auth/sign_in",
        content=f'{{"email": "ada@example.com", "password": "{STRONG_PASSWORD}"}}',
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 422
    assert "set-cookie" not in response.headers


async def test_concurrent_guesses_are_all_counted(
    m: MemberApp, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await m.add_member(tenant_a, "ada@example.com", browser=m.browser())
    answers = await asyncio.gather(
        *(_sign_in(m.browser(), "ada@example.com", f"wrong-guess-{i:06}") for i in range(8))
    )
    # Attempts on one email are serialized: five get checked, then the lock refuses the rest.
    assert sorted(a.status_code for a in answers) == [422] * 5 + [429] * 3
    async with sessions() as session:
        throttle = await session.get(SignInThrottle, "ada@example.com")
        assert throttle is not None
        assert throttle.failures == 5
