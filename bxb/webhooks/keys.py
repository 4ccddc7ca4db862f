"""The organization's webhook signing secret, made on first use."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.models import Organization


async def ensure_hmac_key(session: AsyncSession, organization_id: uuid.UUID) -> str:
    """The organization's hmac_key, generated (32 random bytes, URL-safe) when it has none.

    Concurrent first uses race on `hmac_key IS NULL`: one update wins and every caller then
    reads the winner's key, so a key once used to sign is never replaced. The caller commits.
    """
    key = await _current_key(session, organization_id)
    if key is None:
        await session.execute(
            update(Organization)
            .where(Organization.id == organization_id, Organization.hmac_key.is_(None))
            .values(hmac_key=secrets.token_urlsafe(32))
            .execution_options(synchronize_session=False)
        )
        key = await _current_key(session, organization_id)
    if key is None:
        raise LookupError(f"organization {organization_id} does not exist")
    return key


async def _current_key(session: AsyncSession, organization_id: uuid.UUID) -> str | None:
    return await session.scalar(
        select(Organization.hmac_key)
        .where(Organization.id == organization_id)
        .execution_options(populate_existing=True)
    )
