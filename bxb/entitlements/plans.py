"""A plan's entitlements (Lago's PlanEntitlementsUpdateService, PlanEntitlementDestroyService
and PlanEntitlementPrivilegeDestroyService).

- POST replaces: features not in the payload leave the plan; a feature in it keeps only
  the privileges in it (when it names any). PATCH adds and updates, removing nothing.
- Each feature must exist (404 `feature_not_found`), each privilege must be the feature's
  (404 `privilege_not_found`), each value must fit its privilege's type (422, see
  bxb.billing.entitlements). The whole request is one transaction: the first error
  leaves the plan as it was.
- Changes apply at once to every subscription of the plan (and of its overridden copies):
  a subscription reads its plan's entitlements when asked.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.entitlements import Grant
from bxb.entitlements import NotFoundError
from bxb.entitlements.features import privileges_of
from bxb.entitlements.grants import grants
from bxb.entitlements.values import (
    checked,
    entitlement_for,
    features_by_code,
    new_value,
    privilege_named,
    values_of,
)
from bxb.models import Entitlement, EntitlementValue, Feature, Plan

PrivilegeValues = Mapping[str, Any] | None


async def plan_grants(session: AsyncSession, plan: Plan) -> list[Grant]:
    return await grants(session, Entitlement.plan_id, plan.id)


async def plan_grant(session: AsyncSession, plan: Plan, feature_code: str) -> Grant:
    found = await grants(session, Entitlement.plan_id, plan.id, [feature_code])
    if not found:
        raise NotFoundError("entitlement")
    return found[0]


async def update_plan_entitlements(
    session: AsyncSession, plan: Plan, wanted: Mapping[str, PrivilegeValues], *, partial: bool
) -> None:
    if not partial:
        kept = select(Feature.id).where(
            Feature.organization_id == plan.organization_id, Feature.code.in_(list(wanted))
        )
        await session.execute(
            delete(Entitlement).where(
                Entitlement.plan_id == plan.id, Entitlement.feature_id.not_in(kept)
            )
        )
    features = await features_by_code(session, plan.organization_id, list(wanted))
    for feature_code, privilege_values in wanted.items():
        feature = features.get(feature_code)
        if feature is None:
            raise NotFoundError("feature")
        entitlement = await entitlement_for(session, Entitlement.plan_id, plan.id, feature.id)
        if entitlement is None:
            entitlement = Entitlement(
                id=uuid.uuid4(),
                organization_id=plan.organization_id,
                feature_id=feature.id,
                plan_id=plan.id,
            )
            session.add(entitlement)
            await session.flush()
        if not privilege_values:
            continue
        privileges = await privileges_of(session, feature.id)
        current = await values_of(session, entitlement.id)
        if not partial:
            keep = {p.id for p in privileges if p.code in privilege_values}
            for privilege_id, value in list(current.items()):
                if privilege_id not in keep:
                    await session.delete(value)
                    del current[privilege_id]
        for privilege_code, value in privilege_values.items():
            privilege = privilege_named(privileges, privilege_code)
            text = checked(privilege, value)
            existing = current.get(privilege.id)
            if existing is None:
                session.add(new_value(entitlement, privilege, text))
            else:
                existing.value = text
    await session.flush()


async def remove_plan_entitlement(session: AsyncSession, plan: Plan, feature_code: str) -> Grant:
    grant = await plan_grant(session, plan, feature_code)
    feature_ids = select(Feature.id).where(
        Feature.organization_id == plan.organization_id,
        Feature.code == feature_code,
        Feature.deleted_at.is_(None),
    )
    await session.execute(
        delete(Entitlement).where(
            Entitlement.plan_id == plan.id, Entitlement.feature_id.in_(feature_ids)
        )
    )
    await session.flush()
    return grant


async def remove_plan_privilege(
    session: AsyncSession, plan: Plan, feature_code: str, privilege_code: str
) -> Grant:
    grant = await plan_grant(session, plan, feature_code)
    if not any(v.privilege.code == privilege_code for v in grant.values):
        raise NotFoundError("privilege")
    features = await features_by_code(session, plan.organization_id, [feature_code])
    feature = features[feature_code]
    entitlement = await entitlement_for(session, Entitlement.plan_id, plan.id, feature.id)
    assert entitlement is not None
    privilege = privilege_named(await privileges_of(session, feature.id), privilege_code)
    await session.execute(
        delete(EntitlementValue).where(
            EntitlementValue.entitlement_id == entitlement.id,
            EntitlementValue.privilege_id == privilege.id,
        )
    )
    await session.flush()
    return await plan_grant(session, plan, feature_code)
