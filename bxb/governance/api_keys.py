"""An organization's API keys: issue, list, change, rotate, revoke (the API and CLI share it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.core.organizations import IssuedKey, issue_api_key
from bxb.governance.actor import Role
from bxb.governance.key_grants import forget_api_keys
from bxb.models import ApiKey
from bxb.models.base import utcnow


class LastAdminKeyError(Exception):
    """Revoking (or demoting) this key would leave the organization no live admin key."""


@dataclass(frozen=True)
class KeyChanges:
    name: str | None = None
    role: Role | None = None
    expires_at: datetime | None = None
    clear_expiry: bool = False


def live(now: datetime) -> list[ColumnElement[bool]]:
    """Conditions of a key that still authenticates at `now`."""
    return [
        ApiKey.revoked_at.is_(None),
        (ApiKey.expires_at.is_(None)) | (ApiKey.expires_at > now),
    ]


async def _lock_keys(session: AsyncSession, organization_id: uuid.UUID) -> None:
    # Serializes key changes per organization, so "the last admin key" holds under races.
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtext("api_keys:" + str(organization_id))))
    )


async def _other_live_admins(session: AsyncSession, key: ApiKey) -> int:
    count: int | None = await session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(
            ApiKey.organization_id == key.organization_id,
            ApiKey.id != key.id,
            ApiKey.role == Role.ADMIN.value,
            *live(utcnow()),
        )
    )
    return int(count or 0)


async def find_key(
    session: AsyncSession, organization_id: uuid.UUID, key_id: uuid.UUID
) -> ApiKey | None:
    return await session.scalar(
        select(ApiKey).where(ApiKey.organization_id == organization_id, ApiKey.id == key_id)
    )


async def create_key(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    name: str,
    role: Role,
    expires_at: datetime | None,
) -> IssuedKey:
    return await issue_api_key(
        session, organization_id, name=name, role=role.value, expires_at=expires_at
    )


async def update_key(session: AsyncSession, key: ApiKey, changes: KeyChanges) -> ApiKey:
    await _lock_keys(session, key.organization_id)
    demoted = changes.role is not None and changes.role is not Role.ADMIN
    if key.role == Role.ADMIN.value and demoted and not await _other_live_admins(session, key):
        raise LastAdminKeyError
    if changes.name is not None:
        key.name = changes.name
    if changes.role is not None:
        key.role = changes.role.value
    if changes.expires_at is not None or changes.clear_expiry:
        key.expires_at = changes.expires_at
    await session.flush()
    forget_api_keys()
    return key


async def rotate_key(
    session: AsyncSession, key: ApiKey, *, old_expires_at: datetime | None = None
) -> IssuedKey:
    """A new key with the old one's name and role; the old one works until old_expires_at."""
    await _lock_keys(session, key.organization_id)
    now = utcnow()
    until = now if old_expires_at is None else old_expires_at
    if key.expires_at is None or key.expires_at > until:
        key.expires_at = until
    issued = await issue_api_key(
        session,
        key.organization_id,
        name=key.name,
        role=key.role,
        rotated_from_id=key.id,
    )
    forget_api_keys()
    return issued


async def revoke_key(session: AsyncSession, key: ApiKey) -> ApiKey:
    """Revoke a key at once; refused for the organization's last live admin key."""
    await _lock_keys(session, key.organization_id)
    if key.revoked_at is not None:
        return key
    if key.role == Role.ADMIN.value and not await _other_live_admins(session, key):
        raise LastAdminKeyError
    key.revoked_at = utcnow()
    await session.flush()
    forget_api_keys()
    return key
