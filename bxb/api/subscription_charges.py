"""/api/v1/subscriptions/{external_id}/charges and /fixed_charges (Lago-compatible reads).

A subscription's effective charges are those of the plan it is on: the plan itself, or
the child plan its ``plan_overrides`` made (whose charges name their parent in
``lago_parent_id``). As in Lago, ``subscription_status`` picks which of the external id's
subscriptions is meant (default: the active one, else pending).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.charge_lookup import filter_page, find_charge, find_filter, page_of, render_charges
from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import not_found
from bxb.api.fixed_charge_taxes import fixed_charge_taxes
from bxb.api.pagination import PageDep
from bxb.lago_objects.charge_filters import charge_filter_object
from bxb.lago_objects.fixed_charges import fixed_charge_object
from bxb.models import Organization, Plan, Subscription

router = APIRouter(prefix="/api/v1", tags=["subscriptions"])


async def subscription_plan(
    session: AsyncSession, org: Organization, external_id: str, status: str | None
) -> Plan:
    rows = list(
        await session.scalars(
            select(Subscription)
            .where(Subscription.organization_id == org.id, Subscription.external_id == external_id)
            .order_by(Subscription.created_at.desc())
        )
    )
    wanted = [status] if status else ["active", "pending"]
    chosen = next((row for s in wanted for row in rows if row.status == s), None)
    if chosen is None:
        raise not_found("subscription")
    plan = await session.get(Plan, chosen.plan_id)
    if plan is None:  # pragma: no cover - plans are soft-deleted, never removed
        raise not_found("plan")
    return plan


@router.get("/subscriptions/{external_id}/charges")
async def list_subscription_charges(
    external_id: str,
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    subscription_status: str | None = None,
) -> dict[str, Any]:
    plan = await subscription_plan(session, org, external_id, subscription_status)
    chosen, meta = page_of(list(reversed(plan.charges)), page)  # newest first (Lago)
    return {"charges": await render_charges(session, chosen), "meta": meta}


@router.get("/subscriptions/{external_id}/charges/{charge_code}")
async def get_subscription_charge(
    external_id: str,
    charge_code: str,
    org: OrgDep,
    session: SessionDep,
    subscription_status: str | None = None,
) -> dict[str, Any]:
    plan = await subscription_plan(session, org, external_id, subscription_status)
    charge = find_charge(plan, charge_code)
    return {"charge": (await render_charges(session, [charge]))[0]}


@router.get("/subscriptions/{external_id}/charges/{charge_code}/filters")
async def list_subscription_charge_filters(
    external_id: str,
    charge_code: str,
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    subscription_status: str | None = None,
) -> dict[str, Any]:
    plan = await subscription_plan(session, org, external_id, subscription_status)
    return filter_page(find_charge(plan, charge_code), page)


@router.get("/subscriptions/{external_id}/charges/{charge_code}/filters/{filter_id}")
async def get_subscription_charge_filter(
    external_id: str,
    charge_code: str,
    filter_id: str,
    org: OrgDep,
    session: SessionDep,
    subscription_status: str | None = None,
) -> dict[str, Any]:
    plan = await subscription_plan(session, org, external_id, subscription_status)
    charge = find_charge(plan, charge_code)
    return {"filter": charge_filter_object(charge, find_filter(charge, filter_id))}


@router.get("/subscriptions/{external_id}/fixed_charges")
async def list_subscription_fixed_charges(
    external_id: str,
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    subscription_status: str | None = None,
) -> dict[str, Any]:
    plan = await subscription_plan(session, org, external_id, subscription_status)
    chosen, meta = page_of(list(reversed(plan.fixed_charges)), page)  # newest first (Lago)
    taxes = await fixed_charge_taxes(session, org, chosen)
    return {
        "fixed_charges": [fixed_charge_object(f, taxes[f.id]) for f in chosen],
        "meta": meta,
    }


@router.get("/subscriptions/{external_id}/fixed_charges/{fixed_charge_code}")
async def get_subscription_fixed_charge(
    external_id: str,
    fixed_charge_code: str,
    org: OrgDep,
    session: SessionDep,
    subscription_status: str | None = None,
) -> dict[str, Any]:
    plan = await subscription_plan(session, org, external_id, subscription_status)
    for fixed in plan.fixed_charges:
        if fixed.code == fixed_charge_code:
            taxes = await fixed_charge_taxes(session, org, [fixed])
            return {"fixed_charge": fixed_charge_object(fixed, taxes[fixed.id])}
    raise not_found("fixed_charge")
