"""Which secret signs a portal token, and which secrets still verify one.

Configured (BXB_PORTAL_SECRET): every API process has the same setting; it signs, and it
and each of BXB_PORTAL_PREVIOUS_SECRETS verify. Rotation without downtime: move the
current secret to the previous list and set a new one, roll the processes, and remove the
previous one after one token lifetime (tokens live BXB_PORTAL_TOKEN_TTL_SECONDS).

Not configured (`bxb up` on one machine): a secret per organization, made on first use and
stored in `portal_secrets`, so every API process shares it without configuration.
`rotate_stored_secret` retires it; a retired secret verifies for one token lifetime more.
Tokens signed by a stored secret keep verifying after a secret is configured, until they
expire.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.core.settings import Settings
from bxb.models import PortalSecret
from bxb.portal.tokens import SigningKey, configured_key

STORED_PREFIX = "org-"


def token_ttl(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.portal_token_ttl_seconds)


def configured_keys(settings: Settings) -> list[SigningKey]:
    """The configured secrets, the signing one first."""
    if settings.portal_secret is None:
        return []
    previous = (settings.portal_previous_secrets or "").split(",")
    return [configured_key(s) for s in [settings.portal_secret, *previous] if s.strip()]


def _stored_key(row: PortalSecret) -> SigningKey:
    return SigningKey(f"{STORED_PREFIX}{row.id}", row.secret)


async def signing_key(
    session: AsyncSession, settings: Settings, organization_id: uuid.UUID
) -> SigningKey:
    """The key that signs new tokens for the organization (a stored one made on first use;
    the caller commits)."""
    configured = configured_keys(settings)
    if configured:
        return configured[0]
    current = select(PortalSecret).where(
        PortalSecret.organization_id == organization_id, PortalSecret.retired_at.is_(None)
    )
    row = await session.scalar(current)
    if row is None:
        # Two processes may make one at once: the partial unique index keeps one.
        await session.execute(
            insert(PortalSecret)
            .values(
                id=uuid.uuid4(),
                organization_id=organization_id,
                secret=secrets.token_urlsafe(48),
            )
            .on_conflict_do_nothing(
                index_elements=["organization_id"], index_where=PortalSecret.retired_at.is_(None)
            )
        )
        row = await session.scalar(current)
        assert row is not None
    return _stored_key(row)


async def verification_key(
    session: AsyncSession,
    settings: Settings,
    kid: str,
    organization_id: uuid.UUID,
    now: datetime,
) -> SigningKey | None:
    """The key named `kid` if it still verifies tokens of the organization, else None."""
    for key in configured_keys(settings):
        if key.kid == kid:
            return key
    if not kid.startswith(STORED_PREFIX):
        return None
    try:
        secret_id = uuid.UUID(kid.removeprefix(STORED_PREFIX))
    except ValueError:
        return None
    row = await session.scalar(
        select(PortalSecret).where(
            PortalSecret.id == secret_id,
            PortalSecret.organization_id == organization_id,
            or_(
                PortalSecret.retired_at.is_(None),
                PortalSecret.retired_at > now - token_ttl(settings),
            ),
        )
    )
    return None if row is None else _stored_key(row)


async def rotate_stored_secret(
    session: AsyncSession, organization_id: uuid.UUID, now: datetime
) -> None:
    """Retire the organization's stored secret (it verifies one token lifetime more); the
    next token is signed by a new one. The caller commits."""
    await session.execute(
        update(PortalSecret)
        .where(PortalSecret.organization_id == organization_id, PortalSecret.retired_at.is_(None))
        .values(retired_at=now)
    )
