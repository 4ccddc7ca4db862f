"""Reading entitlements: the grants of a plan or of a subscription segment, as the pure
core's `Grant`s (live features and privileges only)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.entitlements import FeatureDef, Grant, GrantedValue, PrivilegeDef
from bxb.models import Entitlement, EntitlementValue, Feature, Privilege


def feature_def(feature: Feature) -> FeatureDef:
    return FeatureDef(code=feature.code, name=feature.name, description=feature.description)


def privilege_def(privilege: Privilege) -> PrivilegeDef:
    return PrivilegeDef(
        code=privilege.code,
        name=privilege.name,
        value_type=privilege.value_type,
        config=dict(privilege.config or {}),
    )


async def grants(
    session: AsyncSession, owner: Any, owner_id: uuid.UUID, feature_codes: Sequence[str] = ()
) -> list[Grant]:
    """The grants whose `owner` column (Entitlement.plan_id or .subscription_id) is
    owner_id, in the order they were made; only `feature_codes` when given."""
    query = (
        select(Entitlement, Feature)
        .join(Feature, Feature.id == Entitlement.feature_id)
        .where(owner == owner_id, Feature.deleted_at.is_(None))
        .order_by(Entitlement.created_at, Entitlement.id)
        .execution_options(populate_existing=True)
    )
    if feature_codes:
        query = query.where(Feature.code.in_(feature_codes))
    rows = (await session.execute(query)).all()
    if not rows:
        return []
    values = (
        await session.execute(
            select(EntitlementValue, Privilege)
            .join(Privilege, Privilege.id == EntitlementValue.privilege_id)
            .where(
                EntitlementValue.entitlement_id.in_([e.id for e, _ in rows]),
                Privilege.deleted_at.is_(None),
            )
            .order_by(EntitlementValue.created_at, EntitlementValue.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    by_entitlement: dict[uuid.UUID, list[GrantedValue]] = {}
    for value, privilege in values:
        granted = GrantedValue(privilege_def(privilege), value.value, value.created_at)
        by_entitlement.setdefault(value.entitlement_id, []).append(granted)
    return [
        Grant(feature_def(feature), by_entitlement.get(entitlement.id, []), entitlement.created_at)
        for entitlement, feature in rows
    ]
