"""Password resets by a one-time mailed link: no enumeration, used once, sessions end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.settings import Settings
from bxb.models import Member, PasswordReset
from tests.support.auth import Tenant
from tests.support.members import (
    OTHER_STRONG_PASSWORD,
    STRONG_PASSWORD,
    MemberApp,
    mail_to,
    member_app,
)


@pytest.fixture
async def m(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[MemberApp]:
    # After `sessions` (so closed before its truncation): the app's last API logs are
    # written before the tables are emptied, not into the next test.
    async for app in member_app(settings):
        yield app


async def _password_hash(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions() as session:
        member = await session.scalar(select(Member))
        assert member is not None
        password_hash: str = member.password_hash
        return password_hash


async def test_reset_link_sets_a_new_password_once_and_signs_out_everywhere(
    m: MemberApp, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    other = m.browser()
    await m.add_member(tenant_a, "ada@example.com", browser=other)
    assert (await other.get("/api/v1/auth/me")).status_code == 200

    asked = await m.client.post("/api/v1/auth/password_resets", json={"email": "ADA@example.com"})
    assert asked.status_code == 202
    assert asked.json() == {}
    [mail] = [x for x in mail_to(m.mails.sent, "ada@example.com") if "Reset" in x.subject]
    assert "valid for 1 hour(s)" in mail.text
    token = m.last_link_token("password_resets")
    async with sessions() as session:
        reset = await session.scalar(select(PasswordReset))
        assert reset is not None
        assert reset.token_hash != token

    weak = await m.client.post(
        f"/api/v1/auth/password_resets/{token}", json={"password": "ada@example.com"}
    )
    assert weak.status_code == 422
    assert weak.json()["error_details"] == {"password": ["password_too_weak"]}
    before = await _password_hash(sessions)

    done = await m.client.post(
        f"/api/v1/auth/password_resets/{token}", json={"password": OTHER_STRONG_PASSWORD}
    )
    assert done.status_code == 200, done.text
    assert done.json()["member"]["email"] == "ada@example.com"
    assert await _password_hash(sessions) != before
    # Every session of the member ended.
    assert (await other.get("/api/v1/auth/me")).status_code == 401
    # The old password no longer works, the new one does.
    old = await m.client.post(
        "/api/v1/auth/sign_in", json={"email": "ada@example.com", "password": STRONG_PASSWORD}
    )
    assert old.status_code == 422
    new = await m.client.post(
        "/api/v1/auth/sign_in", json={"email": "ada@example.com", "password": OTHER_STRONG_PASSWORD}
    )
    assert new.status_code == 200

    # Used once: the same link again changes nothing.
    hash_now = await _password_hash(sessions)
    again = await m.client.post(
        f"/api/v1/auth/password_resets/{token}", json={"password": "brand-New-88-horizon"}
    )
    assert again.status_code == 422
    assert again.json()["error_details"] == {"token": ["password_reset_already_used"]}
    assert await _password_hash(sessions) == hash_now


async def test_unknown_emails_get_the_same_202_and_no_mail(
    m: MemberApp, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await m.add_member(tenant_a, "ada@example.com", browser=m.browser())
    sent_before = len(m.mails.sent)
    unknown = await m.client.post(
        "/api/v1/auth/password_resets", json={"email": "nobody@example.com"}
    )
    known = await m.client.post("/api/v1/auth/password_resets", json={"email": "ada@example.com"})
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json()) == (202, {})
    assert [x.to for x in m.mails.sent[sent_before:]] == ["ada@example.com"]
    async with sessions() as session:
        assert len((await session.scalars(select(PasswordReset))).all()) == 1
    bad = await m.client.post("/api/v1/auth/password_resets", json={"email": "nope"})
    assert bad.status_code == 422


async def test_expired_and_unknown_reset_tokens_change_nothing(
    m: MemberApp, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await m.add_member(tenant_a, "ada@example.com", browser=m.browser())
    await m.client.post("/api/v1/auth/password_resets", json={"email": "ada@example.com"})
    token = m.last_link_token("password_resets")
    before = await _password_hash(sessions)
    m.clock.advance(hours=1, seconds=1)
    body = {"password": OTHER_STRONG_PASSWORD}
    expired = await m.client.post(f"/api/v1/auth/password_resets/{token}", json=body)
    assert expired.status_code == 422
    assert expired.json()["error_details"] == {"token": ["password_reset_expired"]}
    unknown = await m.client.post("/api/v1/auth/password_resets/nope", json=body)
    assert unknown.status_code == 404
    assert unknown.json() == {
        "status": 404,
        "error": "Not Found",
        "code": "password_reset_not_found",
    }
    assert await _password_hash(sessions) == before


async def test_a_reset_in_one_organization_touches_only_that_member(
    m: MemberApp, tenant_a: Tenant, tenant_b: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await m.add_member(tenant_a, "ada@example.com", browser=m.browser())
    await m.add_member(tenant_b, "ada@example.com", browser=m.browser())
    await m.client.post(
        "/api/v1/auth/password_resets",
        json={"email": "ada@example.com", "organization_id": str(tenant_b.organization_id)},
    )
    token = m.last_link_token("password_resets")
    assert "Org B" in m.mails.sent[-1].subject
    done = await m.client.post(
        f"/api/v1/auth/password_resets/{token}", json={"password": OTHER_STRONG_PASSWORD}
    )
    assert done.json()["member"]["lago_organization_id"] == str(tenant_b.organization_id)
    signed_a = await m.client.post(
        "/api/v1/auth/sign_in",
        json={
            "email": "ada@example.com",
            "password": STRONG_PASSWORD,
            "organization_id": str(tenant_a.organization_id),
        },
    )
    assert signed_a.status_code == 200  # org A's password is unchanged
