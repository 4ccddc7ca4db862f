"""The portal's authentication: a dependency that admits one customer by its portal token.

Usage in a router (bxb/api/portal_*.py):

    from bxb.portal.auth import PortalCustomerDep, PortalSessionDep

    @router.get("/portal/profile")
    async def profile(portal: PortalCustomerDep, session: PortalSessionDep) -> ...:
        portal.customer, portal.organization  # the customer the token names, and its org

The token comes as `Authorization: Bearer <token>` or, for links a browser follows (a PDF
download), as the `token` query parameter of the portal URL; the header wins when both are
present. Anything else answers 401 in Lago's shape ({"status": 401, "error":
"Unauthorized"}): no token, a malformed, expired or forged one, one signed by a secret no
longer accepted, an organization API key, or a token whose customer has been deleted.
Portal tokens are in turn no API keys: /api/v1 routes outside /api/v1/portal refuse them
(they are looked up as keys and are not found).

`PortalSessionDep` is the request's database session; the dependency loads the customer
with it, so a route that changes the customer commits through the same session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.settings import Settings
from bxb.governance.actor import SCOPE_KEY, Actor, Role, current_actor
from bxb.models import Customer, Organization
from bxb.models.base import utcnow
from bxb.portal.secrets import verification_key
from bxb.portal.tokens import InvalidPortalTokenError, peek, verify


@dataclass(frozen=True)
class PortalCustomer:
    """Who a portal request acts for: one live customer and the organization it belongs to.

    Every portal query filters on both `customer.id` and `organization.id`."""

    customer: Customer
    organization: Organization


async def portal_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per portal request (the route commits what it writes)."""
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        yield session


PortalSessionDep = Annotated[AsyncSession, Depends(portal_session)]


def _unauthorized() -> HTTPException:
    # The app's handler answers Lago's 401 body: {"status": 401, "error": "Unauthorized"}.
    return HTTPException(status_code=401)


def portal_token(request: Request) -> str:
    """The token from `Authorization: Bearer`, else from the `token` query parameter."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    token = request.query_params.get("token", "").strip()
    if not token:
        raise _unauthorized()
    return token


async def current_portal_customer(request: Request, session: PortalSessionDep) -> PortalCustomer:
    """Admit the customer the portal token names, or answer 401."""
    settings: Settings = request.app.state.settings
    token = portal_token(request)
    try:
        named = peek(token)
        key = await verification_key(session, settings, named.kid, named.organization_id, utcnow())
        if key is None:
            raise _unauthorized()
        claims = verify(token, key)
    except InvalidPortalTokenError:
        raise _unauthorized() from None
    row = (
        await session.execute(
            select(Customer, Organization)
            .join(Organization, Organization.id == Customer.organization_id)
            .where(
                Customer.id == claims.customer_id,
                Customer.organization_id == claims.organization_id,
                Customer.deleted_at.is_(None),
            )
        )
    ).first()
    if row is None:
        raise _unauthorized()
    customer, organization = row
    # The audit trail's actor: this customer, through the portal (the role matrix does
    # not apply to portal routes: the token is the authorization).
    actor = Actor(
        organization.id, Role.SUPPORT, "portal", id=customer.id, label=customer.external_id
    )
    request.scope[SCOPE_KEY] = actor
    current_actor.set(actor)
    return PortalCustomer(customer=customer, organization=organization)


PortalCustomerDep = Annotated[PortalCustomer, Depends(current_portal_customer)]
