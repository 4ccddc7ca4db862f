"""Writing privilege values onto an entitlement (shared by plans and subscriptions)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.entitlements import InvalidPrivilegeValueError, stored_value
from bxb.entitlements import InvalidError, NotFoundError, invalid
from bxb.entitlements.grants import privilege_def
from bxb.models import Entitlement, EntitlementValue, Feature, Privilege


def checked(privilege: Privilege, value: object) -> str:
    """The text to store for value, or Lago's 422."""
    if value is None:
        raise invalid("privilege.value", "value_is_mandatory")
    try:
        return stored_value(privilege_def(privilege), value)
    except InvalidPrivilegeValueError as exc:
        raise InvalidError({exc.field: [exc.code]}) from None


def privilege_named(privileges: list[Privilege], code: str) -> Privilege:
    for privilege in privileges:
        if privilege.code == code:
            return privilege
    raise NotFoundError("privilege")


async def features_by_code(
    session: AsyncSession, organization_id: uuid.UUID, codes: list[str]
) -> dict[str, Feature]:
    rows = await session.scalars(
        select(Feature).where(
            Feature.organization_id == organization_id,
            Feature.deleted_at.is_(None),
            Feature.code.in_(codes),
        )
    )
    return {feature.code: feature for feature in rows}


async def entitlement_for(
    session: AsyncSession, owner: Any, owner_id: uuid.UUID, feature_id: uuid.UUID
) -> Entitlement | None:
    found: Entitlement | None = await session.scalar(
        select(Entitlement).where(owner == owner_id, Entitlement.feature_id == feature_id)
    )
    return found


async def values_of(
    session: AsyncSession, entitlement_id: uuid.UUID
) -> dict[uuid.UUID, EntitlementValue]:
    """The entitlement's values by privilege id."""
    rows = await session.scalars(
        select(EntitlementValue).where(EntitlementValue.entitlement_id == entitlement_id)
    )
    return {value.privilege_id: value for value in rows}


def new_value(entitlement: Entitlement, privilege: Privilege, text: str) -> EntitlementValue:
    return EntitlementValue(
        organization_id=entitlement.organization_id,
        entitlement_id=entitlement.id,
        privilege_id=privilege.id,
        value=text,
    )
