"""Helpers for authenticated calls in tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@dataclass(frozen=True)
class Tenant:
    """An organization created for a test, with its plaintext API key."""

    organization_id: uuid.UUID
    name: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def key_with_role(
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    role: str,
    *,
    expires_at: datetime | None = None,
) -> Tenant:
    """Another key of tenant's organization, with `role`."""
    from bxb.core.organizations import issue_api_key

    async with sessions() as session:
        issued = await issue_api_key(
            session, tenant.organization_id, name=f"{role} key", role=role, expires_at=expires_at
        )
        await session.commit()
    return Tenant(tenant.organization_id, tenant.name, issued.plaintext)
