"""Organization and key services: bootstrap, key rules, pagination over real rows."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.pagination import PageParams, paginate
from bxb.core.db import transaction
from bxb.core.organizations import (
    InvalidApiKeyError,
    authenticate,
    bootstrap_organization,
    create_organization,
    generate_api_key,
    hash_api_key,
)
from bxb.core.settings import Settings
from bxb.core.stack import prepare_database
from bxb.models import Organization


def test_generated_keys_are_unique_and_prefixed() -> None:
    keys = {generate_api_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(k.startswith("bxb_") and len(k) > 40 for k in keys)
    assert hash_api_key("abc") == hash_api_key("abc") != hash_api_key("abd")


async def test_bootstrap_creates_exactly_one_default_org(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    key = "demo_key_for_scripts_123"
    async with transaction(sessions) as session:
        issued = await bootstrap_organization(session, key)
    assert issued is not None
    async with transaction(sessions) as session:
        assert await bootstrap_organization(session, "another_key_for_demo_9") is None
    async with sessions() as session:
        org = await authenticate(session, key)
        assert org is not None
        assert org.name == "Default"
        assert await authenticate(session, "another_key_for_demo_9") is None


async def test_prepare_database_bootstraps_from_settings(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    with_key = settings.model_copy(update={"bootstrap_api_key": "bootstrap_from_env_key"})
    assert await prepare_database(with_key) == "bootstrap_fr"
    assert await prepare_database(with_key) is None  # not an empty database any more
    assert await prepare_database(settings) is None


async def test_short_bootstrap_key_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(InvalidApiKeyError):
        async with transaction(sessions) as session:
            await create_organization(session, "Tiny", api_key="short")


async def test_paginate_counts_and_slices(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessions) as session:
        for i in range(5):
            await create_organization(session, f"Org {i}")
    async with sessions() as session:
        query = select(Organization).order_by(Organization.name)
        rows, meta = await paginate(session, query, PageParams(page=2, per_page=2))
    assert [org.name for org in rows] == ["Org 2", "Org 3"]
    assert (meta.total_count, meta.total_pages, meta.next_page, meta.prev_page) == (5, 3, 3, 1)
