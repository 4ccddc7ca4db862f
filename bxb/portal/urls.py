"""The portal URL a customer is sent to: the public URL's /portal page with a fresh token."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from bxb.core.settings import Settings
from bxb.models import Customer
from bxb.models.base import utcnow
from bxb.portal.secrets import signing_key, token_ttl
from bxb.portal.tokens import sign


async def issue_portal_token(session: AsyncSession, settings: Settings, customer: Customer) -> str:
    """A token for the customer, valid for BXB_PORTAL_TOKEN_TTL_SECONDS (the caller commits:
    the first token of an organization may store its secret)."""
    key = await signing_key(session, settings, customer.organization_id)
    return sign(
        key,
        customer_id=customer.id,
        organization_id=customer.organization_id,
        now=utcnow(),
        ttl=token_ttl(settings),
    )


def portal_url(settings: Settings, token: str) -> str:
    return f"{settings.resolved_public_url}/portal?{urlencode({'token': token})}"
