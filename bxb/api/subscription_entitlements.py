"""/api/v1/subscriptions/{external_id}/entitlements (Lago-compatible): what a subscription
is entitled to, its plan's with its own overrides and removals.

Like Lago, the subscription is the one with `subscription_status` (default `active`;
`status` is accepted too). Every answer lists the subscription's entitlements under
`entitlements`, as Lago's server does; the two DELETEs also carry the feature's
entitlement under `entitlement` (before the feature's removal; after the privilege's),
the shape Lago's OpenAPI document gives them. Rules in bxb.entitlements.subscriptions.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bxb.api.deps import OrgDep, SessionDep
from bxb.api.features import answering
from bxb.api.schemas.features import EntitlementsBody
from bxb.billing.entitlements import EffectiveEntitlement
from bxb.entitlements.features import find_feature
from bxb.entitlements.grants import feature_def
from bxb.entitlements.subscriptions import (
    entitlements_of,
    find_entitlement,
    find_subscription,
    remove_feature,
    remove_privilege,
    update_subscription_entitlements,
)
from bxb.lago_objects.entitlements import subscription_entitlement_object
from bxb.models import Feature, Subscription

router = APIRouter(prefix="/api/v1", tags=["entitlements"])


async def _subscription(
    session: SessionDep, org: OrgDep, external_id: str, status: str | None
) -> Subscription:
    with answering():
        return await find_subscription(session, org.id, external_id, status)


def _objects(entitlements: list[EffectiveEntitlement]) -> list[dict[str, Any]]:
    return [subscription_entitlement_object(e) for e in entitlements]


def _one(entitlements: list[EffectiveEntitlement], feature: Feature) -> dict[str, Any]:
    found = find_entitlement(entitlements, feature.code)
    return subscription_entitlement_object(found or EffectiveEntitlement(feature_def(feature)))


@router.get("/subscriptions/{external_id}/entitlements")
async def list_subscription_entitlements(
    external_id: str,
    org: OrgDep,
    session: SessionDep,
    subscription_status: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    subscription = await _subscription(session, org, external_id, subscription_status or status)
    return {"entitlements": _objects(await entitlements_of(session, subscription))}


@router.patch("/subscriptions/{external_id}/entitlements")
async def update_subscription_entitlements_route(
    external_id: str,
    body: EntitlementsBody,
    org: OrgDep,
    session: SessionDep,
    subscription_status: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    subscription = await _subscription(session, org, external_id, subscription_status or status)
    with answering():
        await update_subscription_entitlements(session, subscription, body.entitlements)
        await session.commit()
    return {"entitlements": _objects(await entitlements_of(session, subscription))}


@router.delete("/subscriptions/{external_id}/entitlements/{feature_code}")
async def delete_subscription_entitlement(
    external_id: str,
    feature_code: str,
    org: OrgDep,
    session: SessionDep,
    subscription_status: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    subscription = await _subscription(session, org, external_id, subscription_status or status)
    with answering():
        feature = await find_feature(session, org.id, feature_code)
        removed = _one(await entitlements_of(session, subscription), feature)
        await remove_feature(session, subscription, feature)
        await session.commit()
    entitlements = await entitlements_of(session, subscription)
    return {"entitlement": removed, "entitlements": _objects(entitlements)}


@router.delete(
    "/subscriptions/{external_id}/entitlements/{feature_code}/privileges/{privilege_code}"
)
async def delete_subscription_entitlement_privilege(
    external_id: str,
    feature_code: str,
    privilege_code: str,
    org: OrgDep,
    session: SessionDep,
    subscription_status: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    subscription = await _subscription(session, org, external_id, subscription_status or status)
    with answering():
        feature = await find_feature(session, org.id, feature_code)
        await remove_privilege(session, subscription, feature, privilege_code)
        await session.commit()
    entitlements = await entitlements_of(session, subscription)
    return {"entitlement": _one(entitlements, feature), "entitlements": _objects(entitlements)}
