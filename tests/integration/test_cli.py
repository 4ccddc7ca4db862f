"""`bxb org ...` and `bxb migrate` against the test database."""

from __future__ import annotations

import re

import httpx
import pytest

from bxb.core.cli import main
from bxb.core.settings import Settings
from tests.support.auth import Tenant


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("BXB_DATA_DIR", str(settings.data_dir))


async def _run(*argv: str) -> int:
    # main() runs its own event loop; keep it off the test's loop.
    import asyncio

    return await asyncio.to_thread(main, list(argv))


@pytest.mark.usefixtures("cli_env")
async def test_org_create_prints_a_working_key_once_then_revoke(
    capsys: pytest.CaptureFixture[str], client: httpx.AsyncClient
) -> None:
    assert await _run("org", "create", "Globex") == 0
    out = capsys.readouterr().out
    key = re.search(r"API key \(shown once, store it now\): (\S+)", out)
    assert key is not None
    headers = {"Authorization": f"Bearer {key.group(1)}"}
    response = await client.get("/api/v1/organizations", headers=headers)
    assert response.json()["organization"]["name"] == "Globex"

    assert await _run("org", "list") == 0
    listing = capsys.readouterr().out
    assert "Globex" in listing
    assert key.group(1)[:12] + "…" in listing
    assert key.group(1) not in listing  # the key itself is never shown again

    assert await _run("org", "revoke-key", key.group(1)[:12]) == 0
    assert "revoked 1 key(s)" in capsys.readouterr().out
    assert (await client.get("/api/v1/organizations", headers=headers)).status_code == 401


@pytest.mark.usefixtures("cli_env")
async def test_revoking_an_unknown_or_too_short_prefix_fails(
    capsys: pytest.CaptureFixture[str], client: httpx.AsyncClient
) -> None:
    with pytest.raises(SystemExit) as exited:
        await _run("org", "revoke-key", "bxb_zzzzzzzz")
    assert exited.value.code == 1
    assert await _run("org", "revoke-key", "bxb") == 2
    assert "at least the first 8 characters" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_env")
async def test_migrate_is_idempotent(capsys: pytest.CaptureFixture[str], client: object) -> None:
    assert await _run("migrate") == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.usefixtures("cli_env")
async def test_api_key_create_list_rotate_revoke(
    capsys: pytest.CaptureFixture[str], client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    org = str(tenant_a.organization_id)
    assert await _run("api-key", "create", org, "Support desk", "--role", "support") == 0
    out = capsys.readouterr().out
    found = re.search(r"key (\S+) Support desk \(support\)\n.*store it now\): (\S+)", out)
    assert found is not None
    key_id, value = found.groups()
    headers = {"Authorization": f"Bearer {value}"}
    assert (await client.get("/api/v1/customers", headers=headers)).status_code == 200
    assert (await client.get("/api/v1/api_keys", headers=headers)).status_code == 403

    assert await _run("api-key", "list", org) == 0
    listing = capsys.readouterr().out
    assert "Support desk" in listing
    assert "Default key" in listing
    assert value not in listing

    assert await _run("api-key", "rotate", org, key_id) == 0
    rotated = re.search(r"store it now\): (\S+)", capsys.readouterr().out)
    assert rotated is not None
    assert (await client.get("/api/v1/customers", headers=headers)).status_code == 401
    new_headers = {"Authorization": f"Bearer {rotated.group(1)}"}
    assert (await client.get("/api/v1/customers", headers=new_headers)).status_code == 200

    new_id = re.search(r"key (\S+) replaces", rotated.string)
    assert new_id is not None
    assert await _run("api-key", "revoke", org, new_id.group(1)) == 0
    assert (await client.get("/api/v1/customers", headers=new_headers)).status_code == 401


@pytest.mark.usefixtures("cli_env")
async def test_api_key_cli_refuses_bad_input(
    capsys: pytest.CaptureFixture[str], client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    org = str(tenant_a.organization_id)
    for argv in (
        ("api-key", "create", org, "x", "--expires-at", "2001-01-01T00:00:00Z"),
        ("api-key", "create", "00000000-0000-0000-0000-000000000000", "x"),
    ):
        with pytest.raises(SystemExit) as exited:
            await _run(*argv)
        assert exited.value.code == 2
    with pytest.raises(SystemExit):
        await _run("api-key", "create", org, "x", "--role", "owner")
    # The only admin key stays.
    assert await _run("api-key", "list", org) == 0
    default_id = capsys.readouterr().out.split()[0]
    with pytest.raises(SystemExit) as exited:
        await _run("api-key", "revoke", org, default_id)
    assert exited.value.code == 2
    assert (await client.get("/api/v1/api_keys", headers=tenant_a.headers)).status_code == 200
