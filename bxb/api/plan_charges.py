"""/api/v1/plans/{code}/charges (Lago-compatible): a plan's charges one at a time.

Charges are found by code; one made without a code (bxb's plan routes allow it) by its
lago_id. ``cascade_updates`` carries a creation, a price change or a deletion into the
plan's children (the copies made by subscriptions' ``plan_overrides``), as Lago does: a
child whose price was overridden (its model or properties differ from the parent's before
the change) keeps it. Running subscriptions bill from the snapshot they pinned (see
docs/decisions.md, "Plan overrides and fixed charges (issue 10)").
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.charge_lookup import find_charge, page_of, render_charges
from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep
from bxb.api.errors import validation_error
from bxb.api.pagination import PageDep
from bxb.api.plan_children import child_charges, child_plans, copy_charge
from bxb.api.plans import _metrics, _save_charge, _taxes_by_code, find_plan
from bxb.api.schemas.charges import ChargeDraft, charge_errors, draft_charge
from bxb.api.schemas.plan_charges import ChargeBody, ChargeDeleteBody
from bxb.api.taxes import replace_applied_taxes
from bxb.core.plan_refresh import plan_family, refresh_subscriptions
from bxb.core.settings import Settings
from bxb.core.temporal import TemporalConnector
from bxb.models import AppliedTax, Charge, Organization, Plan
from bxb.models.base import utcnow

router = APIRouter(prefix="/api/v1", tags=["plans"])


async def cascade_to_subscriptions(
    session: AsyncSession,
    temporal: TemporalConnector,
    settings: Settings,
    org: Organization,
    family: list[uuid.UUID],
) -> None:
    """After a committed change with cascade_updates: the running subscriptions on the plan
    and its children take its new snapshot at their next period."""
    wait = settings.workflow_update_timeout
    await refresh_subscriptions(session, temporal, org.id, family, wait=wait)


def _free_code(plan: Plan, wanted: str, own: Charge | None) -> bool:
    return all(c.code != wanted for c in plan.charges if c is not own)


def _generated_code(plan: Plan, base: str) -> str:
    code, n = base, 1
    while not _free_code(plan, code, None):
        n += 1
        code = f"{base}_{n}"
    return code


async def _apply_taxes(
    session: AsyncSession, org: Organization, charge: Charge, draft: ChargeDraft
) -> None:
    if draft.tax_codes is not None:
        taxes = await _taxes_by_code(session, org, [draft.tax_codes])
        chosen = [taxes[code] for code in dict.fromkeys(draft.tax_codes)]
        await replace_applied_taxes(session, org.id, AppliedTax.charge_id, charge.id, chosen)


async def _respond(session: AsyncSession, charge_id: uuid.UUID) -> dict[str, Any]:
    session.expunge_all()  # drop stale collections (soft-deleted filters)
    charge = await session.get(Charge, charge_id)
    assert charge is not None
    return {"charge": (await render_charges(session, [charge]))[0]}


@router.get("/plans/{code}/charges")
async def list_charges(
    code: str, org: OrgDep, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    chosen, meta = page_of(list(reversed(plan.charges)), page)  # newest first (Lago)
    return {"charges": await render_charges(session, chosen), "meta": meta}


@router.get("/plans/{code}/charges/{charge_code}")
async def get_charge(
    code: str, charge_code: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    return {"charge": (await render_charges(session, [find_charge(plan, charge_code)]))[0]}


@router.post("/plans/{code}/charges")
async def create_charge(
    code: str,
    body: ChargeBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    data = body.charge
    if data.billable_metric_id is None:
        raise validation_error({"billable_metric_id": ["value_is_mandatory"]})
    metric = next(iter((await _metrics(session, org, [data])).values()))
    await _taxes_by_code(session, org, [data.tax_codes])  # 404 for an unknown tax first
    with session.no_autoflush:
        draft = draft_charge(data, None, metric)
        errors = charge_errors(draft)
        wanted = draft.fields["code"]
        if wanted is None:
            draft.fields["code"] = _generated_code(plan, metric.code)
        elif not _free_code(plan, wanted, None):
            errors.setdefault("code", []).append("value_already_exist")
    if errors:
        raise validation_error(errors)
    charge = _save_charge(session, org, plan, draft, utcnow())
    await session.flush()
    await _apply_taxes(session, org, charge, draft)
    family: list[uuid.UUID] = []
    if data.cascade_updates:
        await session.refresh(charge, ["filters"])
        for child_plan in await child_plans(session, plan):
            copy_charge(session, charge, child_plan)
        family = await plan_family(session, plan)
    await session.commit()
    if family:
        await cascade_to_subscriptions(session, temporal, settings, org, family)
    return await _respond(session, charge.id)


@router.put("/plans/{code}/charges/{charge_code}")
async def update_charge(
    code: str,
    charge_code: str,
    body: ChargeBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    charge = find_charge(plan, charge_code)
    data = body.charge
    metrics = await _metrics(session, org, [data])
    metric = next(iter(metrics.values())) if metrics else charge.billable_metric
    await _taxes_by_code(session, org, [data.tax_codes])
    old_model, old_properties = charge.charge_model, copy.deepcopy(charge.properties)
    with session.no_autoflush:
        draft = draft_charge(data, charge, metric)
        errors = charge_errors(draft)
        wanted = draft.fields["code"]
        if wanted is not None and not _free_code(plan, wanted, charge):
            errors.setdefault("code", []).append("value_already_exist")
    if errors:
        raise validation_error(errors)
    _save_charge(session, org, plan, draft, utcnow())
    await session.flush()
    await _apply_taxes(session, org, charge, draft)
    family: list[uuid.UUID] = []
    if data.cascade_updates:
        for child in await child_charges(session, charge):
            # Lago: in cascade only the price moves, into children that had the parent's.
            if (child.charge_model, child.properties) == (old_model, old_properties):
                child.charge_model = charge.charge_model
                child.properties = copy.deepcopy(charge.properties)
        family = await plan_family(session, plan)
    await session.commit()
    if family:
        await cascade_to_subscriptions(session, temporal, settings, org, family)
    return await _respond(session, charge.id)


@router.delete("/plans/{code}/charges/{charge_code}")
async def delete_charge(
    code: str,
    charge_code: str,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    body: ChargeDeleteBody | None = None,
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    charge = find_charge(plan, charge_code)
    rendered = (await render_charges(session, [charge]))[0]
    now = utcnow()
    charge.deleted_at = now
    family: list[uuid.UUID] = []
    if body is not None and body.charge.cascade_updates:
        for child in await child_charges(session, charge):
            child.deleted_at = now
        family = await plan_family(session, plan)
    await session.commit()
    if family:
        await cascade_to_subscriptions(session, temporal, settings, org, family)
    return {"charge": rendered}
