"""`bxb member add|list|remove` against the test database."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.cli import main
from bxb.core.settings import Settings
from bxb.models import Member
from tests.support.auth import Tenant
from tests.support.members import STRONG_PASSWORD, MemberApp, member_app


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("BXB_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("BXB_PUBLIC_URL", "https://billing.acme.test")


@pytest.fixture
async def m(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[MemberApp]:
    # After `sessions` (so closed before its truncation): the app's last API logs are
    # written before the tables are emptied, not into the next test.
    async for app in member_app(settings):
        yield app


async def _run(*argv: str) -> int:
    try:
        return await asyncio.to_thread(main, list(argv))
    except SystemExit as exited:
        return int(exited.code or 0)


@pytest.mark.usefixtures("cli_env")
async def test_add_prints_an_invitation_link_that_works(
    capsys: pytest.CaptureFixture[str], m: MemberApp, tenant_a: Tenant
) -> None:
    org = str(tenant_a.organization_id)
    assert await _run("member", "add", "ada@example.com", "--org", org, "--role", "support") == 0
    out = capsys.readouterr().out
    link = re.search(r"one-time link \(shown once\): (\S+)", out)
    assert link is not None
    assert link.group(1).startswith("https://billing.acme.test/invitations/")
    token = link.group(1).rsplit("/", 1)[1]
    accepted = await m.client.post(
        f"/api/v1/invitations/{token}/accept", json={"member": {"password": STRONG_PASSWORD}}
    )
    assert accepted.json()["member"]["role"] == "support"

    assert await _run("member", "list", "--org", org) == 0
    listing = capsys.readouterr().out
    assert "ada@example.com  support  active" in listing


@pytest.mark.usefixtures("cli_env")
async def test_add_with_a_password_from_stdin_then_remove(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    m: MemberApp,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    org = str(tenant_a.organization_id)
    monkeypatch.setattr("sys.stdin", io.StringIO("password12345\n"))
    assert await _run("member", "add", "bob@example.com", "--org", org, "--set-password") == 1
    assert "password: password_too_weak" in capsys.readouterr().err

    monkeypatch.setattr("sys.stdin", io.StringIO(STRONG_PASSWORD + "\n"))
    assert (
        await _run(
            "member", "add", "bob@example.com", "--org", org, "--set-password", "--name", "Bob"
        )
        == 0
    )
    assert "added as admin" in capsys.readouterr().out
    signed = await m.client.post(
        "/api/v1/auth/sign_in", json={"email": "bob@example.com", "password": STRONG_PASSWORD}
    )
    assert signed.status_code == 200
    assert (await m.client.get("/api/v1/auth/me")).status_code == 200

    monkeypatch.setattr("sys.stdin", io.StringIO(STRONG_PASSWORD + "\n"))
    assert await _run("member", "add", "BOB@example.com", "--org", org, "--set-password") == 1
    assert "email: value_already_exist" in capsys.readouterr().err

    assert await _run("member", "remove", "Bob@Example.com", "--org", org) == 0
    assert "removed bob@example.com" in capsys.readouterr().out
    assert (await m.client.get("/api/v1/auth/me")).status_code == 401  # sessions ended
    assert await _run("member", "remove", "bob@example.com", "--org", org) == 1
    assert await _run("member", "list", "--org", org) == 0
    assert "bob@example.com" not in capsys.readouterr().out
    assert await _run("member", "list", "--org", org, "--all") == 0
    assert "bob@example.com  admin  revoked  Bob" in capsys.readouterr().out
    async with sessions() as session:
        assert (await session.scalars(select(Member.status))).all() == ["revoked"]


@pytest.mark.usefixtures("cli_env")
async def test_commands_stay_inside_the_named_organization(
    capsys: pytest.CaptureFixture[str], m: MemberApp, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await m.add_member(tenant_a, "ada@example.com")
    b = str(tenant_b.organization_id)
    assert await _run("member", "list", "--org", b) == 0
    assert "ada@example.com" not in capsys.readouterr().out
    assert await _run("member", "remove", "ada@example.com", "--org", b) == 1
    assert "no member ada@example.com" in capsys.readouterr().err
    assert (await m.client.get("/api/v1/auth/me")).status_code == 200
    unknown = "00000000-0000-0000-0000-000000000000"
    assert await _run("member", "list", "--org", unknown) == 1
    assert await _run("member", "add", "x@example.com", "--org", b, "--role", "owner") == 2
