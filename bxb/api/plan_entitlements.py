"""/api/v1/plans/{code}/entitlements (Lago-compatible): the features a plan grants.

POST replaces the plan's entitlements, PATCH adds and updates; both answer the plan's
entitlements. Rules in bxb.entitlements.plans.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bxb.api.deps import OrgDep, SessionDep
from bxb.api.features import answering
from bxb.api.plans import find_plan
from bxb.api.schemas.features import EntitlementsBody
from bxb.entitlements.plans import (
    plan_grant,
    plan_grants,
    remove_plan_entitlement,
    remove_plan_privilege,
    update_plan_entitlements,
)
from bxb.lago_objects.entitlements import plan_entitlement_object
from bxb.models import Plan

router = APIRouter(prefix="/api/v1", tags=["entitlements"])


async def _all(session: SessionDep, plan: Plan) -> dict[str, Any]:
    return {"entitlements": [plan_entitlement_object(g) for g in await plan_grants(session, plan)]}


@router.get("/plans/{code}/entitlements")
async def list_plan_entitlements(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    return await _all(session, await find_plan(session, org, code))


async def _update(
    code: str, body: EntitlementsBody, org: OrgDep, session: SessionDep, *, partial: bool
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    with answering():
        await update_plan_entitlements(session, plan, body.entitlements, partial=partial)
        await session.commit()
    return await _all(session, plan)


@router.post("/plans/{code}/entitlements")
async def create_plan_entitlements(
    code: str, body: EntitlementsBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    return await _update(code, body, org, session, partial=False)


@router.patch("/plans/{code}/entitlements")
async def update_plan_entitlements_route(
    code: str, body: EntitlementsBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    return await _update(code, body, org, session, partial=True)


@router.get("/plans/{code}/entitlements/{feature_code}")
async def get_plan_entitlement(
    code: str, feature_code: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    with answering():
        grant = await plan_grant(session, plan, feature_code)
    return {"entitlement": plan_entitlement_object(grant)}


@router.delete("/plans/{code}/entitlements/{feature_code}")
async def delete_plan_entitlement(
    code: str, feature_code: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    """The answer is the entitlement as it was."""
    plan = await find_plan(session, org, code)
    with answering():
        grant = await remove_plan_entitlement(session, plan, feature_code)
        await session.commit()
    return {"entitlement": plan_entitlement_object(grant)}


@router.delete("/plans/{code}/entitlements/{feature_code}/privileges/{privilege_code}")
async def delete_plan_entitlement_privilege(
    code: str, feature_code: str, privilege_code: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    """The answer is the entitlement without the privilege (which stays on the feature)."""
    plan = await find_plan(session, org, code)
    with answering():
        grant = await remove_plan_privilege(session, plan, feature_code, privilege_code)
        await session.commit()
    return {"entitlement": plan_entitlement_object(grant)}
