"""Organizations and their API keys: creation, bootstrap, authentication, revocation."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.ledger.billing_entities import default_entity_for
from bxb.models import ApiKey, Organization
from bxb.models.base import utcnow

KEY_PREFIX = "bxb_"
DISPLAY_PREFIX_LENGTH = 12
MIN_KEY_LENGTH = 16
# The organization's first key (and, after the 0011a upgrade, every key that existed).
DEFAULT_KEY_NAME = "Default key"


class InvalidApiKeyError(ValueError):
    """A caller-chosen key (bootstrap) is too short to be a secret."""


@dataclass(frozen=True)
class IssuedKey:
    """A new key: the plaintext is shown once and never stored."""

    organization_id: uuid.UUID
    prefix: str
    plaintext: str
    row: ApiKey


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[:DISPLAY_PREFIX_LENGTH]


def _document_number_prefix(name: str, org_id: uuid.UUID) -> str:
    letters = "".join(ch for ch in name.upper() if ch.isalnum())[:3] or "ORG"
    return f"{letters}-{org_id.hex[-4:].upper()}"


async def create_organization(
    session: AsyncSession, name: str, *, api_key: str | None = None
) -> tuple[Organization, IssuedKey]:
    org_id = uuid.uuid4()
    org = Organization(
        id=org_id,
        name=name,
        document_number_prefix=_document_number_prefix(name, org_id),
        email_settings=[],
    )
    session.add(org)
    await session.flush()
    # Every organization has a default billing entity, made from its settings.
    session.add(default_entity_for(org))
    await session.flush()
    return org, await issue_api_key(session, org.id, api_key=api_key)


async def issue_api_key(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    api_key: str | None = None,
    name: str = DEFAULT_KEY_NAME,
    role: str = "admin",
    expires_at: datetime | None = None,
    rotated_from_id: uuid.UUID | None = None,
) -> IssuedKey:
    plaintext = api_key if api_key is not None else generate_api_key()
    if len(plaintext) < MIN_KEY_LENGTH:
        raise InvalidApiKeyError(f"an API key needs at least {MIN_KEY_LENGTH} characters")
    row = ApiKey(
        organization_id=organization_id,
        name=name,
        role=role,
        prefix=display_prefix(plaintext),
        key_hash=hash_api_key(plaintext),
        expires_at=expires_at,
        rotated_from_id=rotated_from_id,
    )
    session.add(row)
    await session.flush()
    return IssuedKey(organization_id, row.prefix, plaintext, row)


async def authenticate(session: AsyncSession, api_key: str) -> Organization | None:
    """The organization a live key belongs to, or None for unknown, revoked, expired keys."""
    row = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_api_key(api_key), ApiKey.revoked_at.is_(None))
    )
    if row is None or (row.expires_at is not None and row.expires_at <= utcnow()):
        return None
    return row.organization


async def revoke_api_key(session: AsyncSession, prefix: str) -> int:
    """Revoke every live key starting with prefix; returns how many were revoked."""
    if len(prefix) < len(KEY_PREFIX) + 4:
        raise InvalidApiKeyError("give at least the first 8 characters of the key")
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.prefix == display_prefix(prefix), ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(ApiKey.id)
    )
    return len(result.all())


async def list_organizations(session: AsyncSession) -> list[tuple[Organization, list[ApiKey]]]:
    orgs = (await session.scalars(select(Organization).order_by(Organization.created_at))).all()
    keys = (await session.scalars(select(ApiKey).order_by(ApiKey.created_at))).all()
    return [(org, [k for k in keys if k.organization_id == org.id]) for org in orgs]


async def bootstrap_organization(session: AsyncSession, api_key: str) -> IssuedKey | None:
    """On an empty database, create a default organization whose key is exactly api_key."""
    # Serialize concurrent bootstraps (API and worker starting together).
    await session.execute(select(func.pg_advisory_xact_lock(0x62786221)))
    if await session.scalar(select(func.count()).select_from(Organization)):
        return None
    _, issued = await create_organization(session, "Default", api_key=api_key)
    return issued
