"""The upgrade to API keys with roles keeps single-key organizations working (0011a)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bxb.api.app import create_app
from bxb.core.db import create_engine, create_sessionmaker
from bxb.core.migrate import upgrade
from bxb.core.organizations import generate_api_key, hash_api_key
from bxb.core.settings import Settings
from bxb.models import Organization
from tests.conftest import app_client


@pytest.fixture
async def fresh_database_url(engine: AsyncEngine) -> AsyncIterator[str]:
    """An empty database of its own in the session's PostgreSQL, dropped afterwards."""
    name = f"upgrade_{uuid.uuid4().hex[:8]}"
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(engine.url.render_as_string(hide_password=False)).set(database=name)
    yield url.render_as_string(hide_password=False)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


async def test_the_existing_key_becomes_the_admin_default_key(
    fresh_database_url: str, settings: Settings
) -> None:
    await upgrade(fresh_database_url, "0011c")  # the revision before 0011a
    key = generate_api_key()
    org_id = uuid.uuid4()
    old = create_engine(fresh_database_url, pool_size=1)
    try:
        # The organizations table is the same before and after 0011a; api_keys is not. A
        # Core insert names only the columns given or defaulted, none added since 0011c.
        async with create_sessionmaker(old)() as session:
            await session.execute(
                insert(Organization).values(
                    id=org_id, name="Old", document_number_prefix="OLD-0001", email_settings=[]
                )
            )
            await session.commit()
        async with old.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO api_keys (id, organization_id, prefix, key_hash)"
                    " VALUES (:id, :org, :prefix, :hash)"
                ),
                {"id": uuid.uuid4(), "org": org_id, "prefix": key[:12], "hash": hash_api_key(key)},
            )
    finally:
        await old.dispose()
    await upgrade(fresh_database_url)
    app = create_app(settings.model_copy(update={"database_url": fresh_database_url}))
    headers = {"Authorization": f"Bearer {key}"}
    async for client in app_client(app):
        listed = await client.get("/api/v1/api_keys", headers=headers)
        assert listed.status_code == 200, listed.text
        [shown] = listed.json()["api_keys"]
        assert (shown["name"], shown["role"], shown["expires_at"]) == ("Default key", "admin", None)
        assert (await client.get("/api/v1/organizations", headers=headers)).status_code == 200
