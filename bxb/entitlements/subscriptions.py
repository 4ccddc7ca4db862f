"""A subscription's entitlements (Lago's SubscriptionEntitlement.for_subscription,
SubscriptionEntitlementsUpdateService, SubscriptionFeatureRemoveService and
SubscriptionFeaturePrivilegeRemoveService).

A subscription here is one row of the subscription mirror: one plan segment, as Lago has
one subscription per plan. Its entitlements are its plan's (the parent plan when the
segment runs an overridden copy), less what it removed, with its overrides over them:

- PATCH: for a feature the plan does not grant, the subscription gets its own; for one it
  does, values equal to the plan's drop their override, others become overrides, and a
  payload equal to the plan's values (same privileges, same values) drops every override
  and removal of the feature. Sending a feature or privilege back lifts its removal.
- DELETE of a feature drops the subscription's own values of it and, when the plan grants
  it, records a removal; DELETE of a privilege does the same for one privilege.

The segment row is what carries overrides, so they follow the plan segment: an upgrade
starts a new row (with the new plan's entitlements and no overrides); a downgrade's
pending row may get its own overrides before it takes effect.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.entitlements import (
    EffectiveEntitlement,
    same_value,
    subscription_entitlements,
)
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
from bxb.models import (
    Entitlement,
    EntitlementRemoval,
    EntitlementValue,
    Feature,
    Plan,
    Privilege,
    Subscription,
)

STATUSES = ("pending", "active", "terminated", "canceled")


async def find_subscription(
    session: AsyncSession, organization_id: uuid.UUID, external_id: str, status: str | None
) -> Subscription:
    """The segment with that status (active by default), the latest first (Lago's lookup)."""
    row = await session.scalar(
        select(Subscription)
        .where(
            Subscription.organization_id == organization_id,
            Subscription.external_id == external_id,
            Subscription.status == (status or "active"),
        )
        .order_by(Subscription.terminated_at.desc().nulls_first(), Subscription.started_at.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFoundError("subscription")
    return row


async def plan_id_of(session: AsyncSession, subscription: Subscription) -> uuid.UUID:
    """The plan whose entitlements the segment has: its plan's parent for an overridden copy."""
    parent = await session.scalar(select(Plan.parent_id).where(Plan.id == subscription.plan_id))
    return parent or subscription.plan_id


async def entitlements_of(
    session: AsyncSession, subscription: Subscription
) -> list[EffectiveEntitlement]:
    plan = await grants(session, Entitlement.plan_id, await plan_id_of(session, subscription))
    own = await grants(session, Entitlement.subscription_id, subscription.id)
    removals = (
        await session.execute(
            select(EntitlementRemoval.feature_id, EntitlementRemoval.privilege_id).where(
                EntitlementRemoval.subscription_id == subscription.id
            )
        )
    ).all()
    feature_ids = {f for f, _ in removals if f is not None}
    privilege_ids = {p for _, p in removals if p is not None}
    removed_features: set[str] = set()
    removed_privileges: set[tuple[str, str]] = set()
    if feature_ids:
        codes = await session.scalars(select(Feature.code).where(Feature.id.in_(feature_ids)))
        removed_features = set(codes)
    if privilege_ids:
        pairs = await session.execute(
            select(Feature.code, Privilege.code)
            .join(Feature, Feature.id == Privilege.feature_id)
            .where(Privilege.id.in_(privilege_ids))
        )
        removed_privileges = {(f, p) for f, p in pairs.all()}
    return subscription_entitlements(
        plan, own, frozenset(removed_features), frozenset(removed_privileges)
    )


async def _lift_removals(
    session: AsyncSession,
    subscription: Subscription,
    *,
    feature: Feature | None = None,
    privileges: list[Privilege] | None = None,
) -> None:
    if feature is not None:
        await session.execute(
            delete(EntitlementRemoval).where(
                EntitlementRemoval.subscription_id == subscription.id,
                EntitlementRemoval.feature_id == feature.id,
            )
        )
    if privileges:
        await session.execute(
            delete(EntitlementRemoval).where(
                EntitlementRemoval.subscription_id == subscription.id,
                EntitlementRemoval.privilege_id.in_([p.id for p in privileges]),
            )
        )


async def _remove(
    session: AsyncSession,
    subscription: Subscription,
    *,
    feature_id: uuid.UUID | None = None,
    privilege_id: uuid.UUID | None = None,
) -> None:
    """Record a removal once (unique per subscription and feature or privilege)."""
    await session.execute(
        insert(EntitlementRemoval)
        .values(
            id=uuid.uuid4(),
            organization_id=subscription.organization_id,
            subscription_id=subscription.id,
            feature_id=feature_id,
            privilege_id=privilege_id,
        )
        .on_conflict_do_nothing()
    )


async def update_subscription_entitlements(
    session: AsyncSession,
    subscription: Subscription,
    wanted: Mapping[str, Mapping[str, Any] | None],
) -> None:
    features = await features_by_code(session, subscription.organization_id, list(wanted))
    if len(features) != len(wanted):
        raise NotFoundError("feature")
    plan_id = await plan_id_of(session, subscription)
    for feature_code, privilege_values in wanted.items():
        feature = features[feature_code]
        await _update_one(session, subscription, plan_id, feature, dict(privilege_values or {}))
    await session.flush()


async def _update_one(
    session: AsyncSession,
    subscription: Subscription,
    plan_id: uuid.UUID,
    feature: Feature,
    wanted: dict[str, Any],
) -> None:
    privileges = await privileges_of(session, feature.id)
    planned = await entitlement_for(session, Entitlement.plan_id, plan_id, feature.id)
    own = await entitlement_for(session, Entitlement.subscription_id, subscription.id, feature.id)
    plan_values = await values_of(session, planned.id) if planned else {}
    by_id = {p.id: p for p in privileges}
    plan_by_code = {by_id[i].code: v for i, v in plan_values.items() if i in by_id}
    if planned is None and own is None:
        await _lift_removals(session, subscription, feature=feature)
        own = await _own_entitlement(session, subscription, feature)
        for code, value in wanted.items():
            privilege = privilege_named(privileges, code)
            session.add(new_value(own, privilege, checked(privilege, value)))
        return
    if planned is not None and _same_as_plan(wanted, plan_by_code, by_id):
        if own is not None:
            await session.delete(own)
        await _lift_removals(session, subscription, feature=feature, privileges=privileges)
        return
    await _lift_removals(session, subscription, feature=feature)
    if own is None:
        own = await _own_entitlement(session, subscription, feature)
    own_values = await values_of(session, own.id)
    for code, value in wanted.items():
        privilege = privilege_named(privileges, code)
        plan_value = plan_values.get(privilege.id)
        mine = own_values.get(privilege.id)
        if plan_value is not None and same_value(privilege.value_type, value, plan_value.value):
            if mine is not None:
                await session.delete(mine)
            await _lift_removals(session, subscription, privileges=[privilege])
        elif mine is None:
            await _lift_removals(session, subscription, privileges=[privilege])
            session.add(new_value(own, privilege, checked(privilege, value)))
        elif not same_value(privilege.value_type, value, mine.value):
            mine.value = checked(privilege, value)


def _same_as_plan(
    wanted: Mapping[str, Any],
    plan_by_code: Mapping[str, EntitlementValue],
    privileges: Mapping[uuid.UUID, Privilege],
) -> bool:
    if sorted(wanted) != sorted(plan_by_code):
        return False
    return all(
        same_value(privileges[v.privilege_id].value_type, v.value, wanted[code])
        for code, v in plan_by_code.items()
    )


async def _own_entitlement(
    session: AsyncSession, subscription: Subscription, feature: Feature
) -> Entitlement:
    own = Entitlement(
        id=uuid.uuid4(),
        organization_id=subscription.organization_id,
        feature_id=feature.id,
        subscription_id=subscription.id,
    )
    session.add(own)
    await session.flush()
    return own


async def remove_feature(
    session: AsyncSession, subscription: Subscription, feature: Feature
) -> None:
    await session.execute(
        delete(Entitlement).where(
            Entitlement.subscription_id == subscription.id, Entitlement.feature_id == feature.id
        )
    )
    await _lift_removals(session, subscription, privileges=await privileges_of(session, feature.id))
    plan_id = await plan_id_of(session, subscription)
    if await entitlement_for(session, Entitlement.plan_id, plan_id, feature.id) is not None:
        await _remove(session, subscription, feature_id=feature.id)
    await session.flush()


async def remove_privilege(
    session: AsyncSession, subscription: Subscription, feature: Feature, privilege_code: str
) -> None:
    privilege = privilege_named(await privileges_of(session, feature.id), privilege_code)
    own = await entitlement_for(session, Entitlement.subscription_id, subscription.id, feature.id)
    if own is not None:
        await session.execute(
            delete(EntitlementValue).where(
                EntitlementValue.entitlement_id == own.id,
                EntitlementValue.privilege_id == privilege.id,
            )
        )
    plan_id = await plan_id_of(session, subscription)
    if await entitlement_for(session, Entitlement.plan_id, plan_id, feature.id) is not None:
        await _remove(session, subscription, privilege_id=privilege.id)
    await session.flush()


def find_entitlement(
    entitlements: list[EffectiveEntitlement], feature_code: str
) -> EffectiveEntitlement | None:
    return next((e for e in entitlements if e.feature.code == feature_code), None)
