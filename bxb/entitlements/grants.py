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
    found = await _grants(session, owner, [owner_id], feature_codes)
    return found.get(owner_id, [])


async def plans_grants(
    session: AsyncSession, plan_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Grant]]:
    """The grants of each plan (a plan with none is absent), in two queries."""
    return await _grants(session, Entitlement.plan_id, plan_ids, ())


async def _grants(
    session: AsyncSession,
    owner: Any,
    owner_ids: Sequence[uuid.UUID],
    feature_codes: Sequence[str],
) -> dict[uuid.UUID, list[Grant]]:
    query = (
        select(owner, Entitlement, Feature)
        .join(Feature, Feature.id == Entitlement.feature_id)
        .where(owner.in_(owner_ids), Feature.deleted_at.is_(None))
        .order_by(Entitlement.created_at, Entitlement.id)
        .execution_options(populate_existing=True)
    )
    if feature_codes:
        query = query.where(Feature.code.in_(feature_codes))
    rows = (await session.execute(query)).all()
    if not rows:
        return {}
    values = (
        await session.execute(
            select(EntitlementValue, Privilege)
            .join(Privilege, Privilege.id == EntitlementValue.privilege_id)
            .where(
                EntitlementValue.entitlement_id.in_([e.id for _, e, _ in rows]),
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
    result: dict[uuid.UUID, list[Grant]] = {}
    for owner_id, entitlement, feature in rows:
        values_of_it = by_entitlement.get(entitlement.id, [])
        grant = Grant(feature_def(feature), values_of_it, entitlement.created_at)
        result.setdefault(owner_id, []).append(grant)
    return result
