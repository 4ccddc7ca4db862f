"""/api/v1/members and /api/v1/invites with the organization's key; invitations end to end."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.settings import Settings
from bxb.models import Member, MemberInvitation, MemberSession
from tests.support.auth import Tenant
from tests.support.members import STRONG_PASSWORD, MemberApp, mail_to, member_app


@pytest.fixture
async def m(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[MemberApp]:
    # After `sessions` (so closed before its truncation): the app's last API logs are
    # written before the tables are emptied, not into the next test.
    async for app in member_app(settings):
        yield app


async def _count(sessions: async_sessionmaker[AsyncSession], model: type[object]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_invitation_mails_a_one_time_link_that_makes_a_signed_in_member(
    m: MemberApp, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    response = await m.client.post(
        "/api/v1/invites",
        json={"invite": {"email": "Ada@Example.com", "role": "billing_admin"}},
        headers=tenant_a.headers,
    )
    assert response.status_code == 200, response.text
    invite = response.json()["invite"]
    assert invite["status"] == "pending"
    assert invite["role"] == "billing_admin"
    [mail] = mail_to(m.mails.sent, "Ada@Example.com")
    assert invite["invite_url"] in mail.text
    assert "Org A" in mail.subject
    token = m.last_link_token("invitations")
    assert invite["invite_url"].endswith(f"/invitations/{token}")
    async with sessions() as session:  # only a digest of the token is stored
        row = await session.scalar(select(MemberInvitation))
        assert row is not None
        assert token not in row.token_hash

    accepted = await m.client.post(
        f"/api/v1/invitations/{token}/accept",
        json={"member": {"name": "Ada", "password": STRONG_PASSWORD}},
    )
    assert accepted.status_code == 200, accepted.text
    member = accepted.json()["member"]
    assert (member["email"], member["role"], member["status"]) == (
        "Ada@Example.com",
        "billing_admin",
        "active",
    )
    cookie = accepted.headers.get_list("set-cookie")
    assert any(c.startswith("bxb_session=") and "HttpOnly" in c for c in cookie)
    me = (await m.client.get("/api/v1/auth/me")).json()
    assert me["member"]["lago_id"] == member["lago_id"]
    assert (me["organization"]["timezone"], me["organization"]["default_currency"]) == (
        "UTC",
        "USD",
    )
    # The web app shows only what the role may do: a billing admin creates customers and
    # voids invoices, but does not manage API keys or members.
    allowed = set(me["allowed_operations"])
    assert {"createCustomer", "voidInvoice", "findAllCustomers"} <= allowed
    assert not {"createApiKey", "createInvite"} & allowed
    # Where the UI is depends on the Temporal server (tests/unit/test_temporal_ui_link.py).
    assert "temporal_ui" in me
    async with sessions() as session:
        stored = await session.scalar(select(Member))
        assert stored is not None
        assert stored.password_hash.startswith("$argon2id$")

    # The link works once: nothing changes the second time.
    again = await m.client.post(
        f"/api/v1/invitations/{token}/accept",
        json={"member": {"name": "Eve", "password": STRONG_PASSWORD}},
    )
    assert again.status_code == 422
    assert again.json()["error_details"] == {"token": ["invite_already_accepted"]}
    assert await _count(sessions, Member) == 1


async def test_expired_unknown_and_revoked_invitations_change_nothing(
    m: MemberApp, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = await m.invite(tenant_a, "late@example.com")
    m.clock.advance(days=7, seconds=1)
    body = {"member": {"password": STRONG_PASSWORD}}
    expired = await m.client.post(f"/api/v1/invitations/{token}/accept", json=body)
    assert expired.status_code == 422
    assert expired.json() == {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": {"token": ["invite_expired"]},
    }
    unknown = await m.client.post("/api/v1/invitations/nope/accept", json=body)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "invite_not_found"

    # Inviting again replaces the earlier link; revoking the new one leaves none.
    first = await m.invite(tenant_a, "twice@example.com")
    second = await m.invite(tenant_a, "twice@example.com")
    listed = (await m.client.get("/api/v1/invites", headers=tenant_a.headers)).json()
    pending = [i for i in listed["invites"] if i["email"] == "twice@example.com"]
    assert len(pending) == 1
    assert listed["meta"]["total_count"] == 2  # the expired one is still listed, as expired
    assert {i["status"] for i in listed["invites"]} == {"pending", "expired"}
    revoked = await m.client.delete(
        f"/api/v1/invites/{pending[0]['lago_id']}", headers=tenant_a.headers
    )
    assert revoked.json()["invite"]["status"] == "revoked"
    for token in (first, second):
        refused = await m.client.post(f"/api/v1/invitations/{token}/accept", json=body)
        assert refused.status_code == 404
    assert await _count(sessions, Member) == 0
    assert await _count(sessions, MemberSession) == 0


async def test_weak_passwords_are_refused_with_the_reason(
    m: MemberApp, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = await m.invite(tenant_a, "weak@example.com")
    for password, code in (
        ("short", "password_too_short"),
        ("password12345", "password_too_weak"),
        ("weak@example.com2026", "password_too_weak"),  # built from the email
        ("x" * 129, "password_too_long"),
    ):
        response = await m.client.post(
            f"/api/v1/invitations/{token}/accept", json={"member": {"password": password}}
        )
        assert response.status_code == 422, password
        assert response.json()["error_details"] == {"password": [code]}
    assert await _count(sessions, Member) == 0
    # The invitation still works.
    ok = await m.client.post(
        f"/api/v1/invitations/{token}/accept", json={"member": {"password": STRONG_PASSWORD}}
    )
    assert ok.status_code == 200


async def test_bad_invitations_are_422(m: MemberApp, tenant_a: Tenant) -> None:
    await m.add_member(tenant_a, "taken@example.com")
    for body, details in (
        ({"invite": {"email": "x@example.com", "role": "owner"}}, {"role": ["value_is_invalid"]}),
        (
            {"invite": {"email": "not-an-email", "role": "admin"}},
            {"email": ["invalid_email_format"]},
        ),
        (
            {"invite": {"email": "TAKEN@example.com", "role": "admin"}},
            {"email": ["value_already_exist"]},
        ),
    ):
        response = await m.client.post("/api/v1/invites", json=body, headers=tenant_a.headers)
        assert response.status_code == 422, body
        assert response.json()["error_details"] == details


async def test_list_show_change_role_and_remove(
    m: MemberApp, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ada = await m.add_member(tenant_a, "ada@example.com", "admin")
    bob_browser = m.browser()
    async with bob_browser:
        bob = await m.add_member(tenant_a, "bob@example.com", "support", browser=bob_browser)
        bob_id = bob["member"]["lago_id"]  # type: ignore[index]
        listed = (await m.client.get("/api/v1/members?per_page=1", headers=tenant_a.headers)).json()
        assert listed["meta"]["total_count"] == 2
        assert listed["members"][0]["email"] == "ada@example.com"
        assert listed["meta"]["next_page"] == 2

        changed = await m.client.put(
            f"/api/v1/members/{bob_id}",
            json={"member": {"role": "finance_viewer"}},
            headers=tenant_a.headers,
        )
        assert changed.json()["member"]["role"] == "finance_viewer"
        shown = await m.client.get(f"/api/v1/members/{bob_id}", headers=tenant_a.headers)
        assert shown.json()["member"]["role"] == "finance_viewer"
        bad = await m.client.put(
            f"/api/v1/members/{bob_id}", json={"member": {"role": "root"}}, headers=tenant_a.headers
        )
        assert bad.status_code == 422

        assert (await bob_browser.get("/api/v1/auth/me")).status_code == 200
        removed = await m.client.delete(f"/api/v1/members/{bob_id}", headers=tenant_a.headers)
        assert removed.json()["member"]["status"] == "revoked"
        # Removal ends the member's sessions at once.
        assert (await bob_browser.get("/api/v1/auth/me")).status_code == 401
        again = await m.client.delete(f"/api/v1/members/{bob_id}", headers=tenant_a.headers)
        assert again.status_code == 404
        revoked_role = await m.client.put(
            f"/api/v1/members/{bob_id}",
            json={"member": {"role": "admin"}},
            headers=tenant_a.headers,
        )
        assert revoked_role.json()["error_details"] == {"base": ["member_revoked"]}
        malformed = await m.client.get("/api/v1/members/not-a-uuid", headers=tenant_a.headers)
        assert malformed.json() == {"status": 404, "error": "Not Found", "code": "member_not_found"}
    active = (await m.client.get("/api/v1/members", headers=tenant_a.headers)).json()
    assert [x["lago_id"] for x in active["members"]] == [ada["member"]["lago_id"]]  # type: ignore[index]
    revoked = (
        await m.client.get("/api/v1/members?status=revoked", headers=tenant_a.headers)
    ).json()
    assert [x["lago_id"] for x in revoked["members"]] == [bob_id]
    # A removed member's email can be invited again.
    await m.add_member(tenant_a, "bob@example.com", "support", password=STRONG_PASSWORD)
    async with sessions() as session:
        rows = (await session.scalars(select(Member.status).order_by(Member.created_at))).all()
    assert list(rows) == ["active", "revoked", "active"]


async def test_organizations_never_see_each_others_members(
    m: MemberApp, tenant_a: Tenant, tenant_b: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ada = await m.add_member(tenant_a, "ada@example.com", "support")
    ada_id = ada["member"]["lago_id"]  # type: ignore[index]
    await m.invite(tenant_a, "pending@example.com")
    invites_a = (await m.client.get("/api/v1/invites", headers=tenant_a.headers)).json()
    invite_id = invites_a["invites"][0]["lago_id"]

    b = tenant_b.headers
    assert (await m.client.get("/api/v1/members", headers=b)).json()["members"] == []
    assert (await m.client.get("/api/v1/invites", headers=b)).json()["invites"] == []
    for method, path, body in (
        ("GET", f"/api/v1/members/{ada_id}", None),
        ("PUT", f"/api/v1/members/{ada_id}", {"member": {"role": "admin"}}),
        ("DELETE", f"/api/v1/members/{ada_id}", None),
        ("DELETE", f"/api/v1/invites/{invite_id}", None),
    ):
        response = await m.client.request(method, path, json=body, headers=b)
        assert response.status_code == 404, (method, path)
    async with sessions() as session:
        member = await session.scalar(select(Member))
        assert member is not None
        assert (member.role, member.status) == ("support", "active")
        invitation = await session.scalar(
            select(MemberInvitation).where(MemberInvitation.accepted_at.is_(None))
        )
        assert invitation is not None
        assert invitation.revoked_at is None
    # The same email can be a member of both organizations.
    await m.add_member(tenant_b, "ada@example.com", "admin")
    assert (await m.client.get("/api/v1/members", headers=b)).json()["meta"]["total_count"] == 1


async def test_members_routes_need_a_credential(m: MemberApp) -> None:
    for method, path in (("GET", "/api/v1/members"), ("POST", "/api/v1/invites")):
        response = await m.client.request(method, path, json={})
        assert response.status_code == 401


async def test_a_signed_in_member_acts_only_on_their_own_organization(
    m: MemberApp, tenant_a: Tenant, tenant_b: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Through member sessions, resolved by the auth dependency like API keys."""
    bea = await m.add_member(tenant_b, "bea@example.com", "support", browser=m.browser())
    bea_id = bea["member"]["lago_id"]  # type: ignore[index]
    await m.add_member(tenant_a, "ada@example.com", "admin")  # m.client: Ada's session
    csrf = {"X-CSRF-Token": m.client.cookies["bxb_csrf"]}

    listed = (await m.client.get("/api/v1/members")).json()
    assert [x["email"] for x in listed["members"]] == ["ada@example.com"]
    for method, path, body in (
        ("GET", f"/api/v1/members/{bea_id}", None),
        ("PUT", f"/api/v1/members/{bea_id}", {"member": {"role": "admin"}}),
        ("DELETE", f"/api/v1/members/{bea_id}", None),
    ):
        response = await m.client.request(method, path, json=body, headers=csrf)
        assert response.status_code == 404, (method, path)
    # A state change without the CSRF header is refused before anything happens.
    no_csrf = await m.client.post(
        "/api/v1/invites", json={"invite": {"email": "eve@example.com", "role": "admin"}}
    )
    assert no_csrf.status_code == 403
    assert no_csrf.json()["code"] == "invalid_csrf_token"
    invited = await m.client.post(
        "/api/v1/invites",
        json={"invite": {"email": "eve@example.com", "role": "admin"}},
        headers=csrf,
    )
    assert invited.json()["invite"]["lago_organization_id"] == str(tenant_a.organization_id)
    async with sessions() as session:
        bea_row = await session.get(Member, uuid.UUID(bea_id))
        assert bea_row is not None
        assert (bea_row.role, bea_row.status) == ("support", "active")
        invitations = (await session.scalars(select(MemberInvitation.email))).all()
    assert sorted(invitations) == ["ada@example.com", "bea@example.com", "eve@example.com"]
