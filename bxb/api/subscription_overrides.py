"""PUT /api/v1/subscriptions/{external_id}/charges/{code} and .../fixed_charges/{code}:
a running subscription's own prices (Lago's subscription charge overrides).

As Lago (Subscriptions::UpdateOrOverrideChargeService): a subscription still on the
catalog plan gets a child plan (plan_overrides with this one change); one already on its
own child plan has that plan's charge changed in place. The workflow then takes the new
snapshot at once (update refresh_plan with `replaces`): what it bills from now on uses
it, what it billed in advance for the current period stays.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.charge_lookup import find_charge, render_charges
from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.api.fixed_charge_taxes import fixed_charge_taxes
from bxb.api.plan_overrides import (
    ChargeOverrideIn,
    FixedChargeOverrideIn,
    PlanOverridesIn,
    create_override_plan,
)
from bxb.api.plans import _save_charge, _taxes_by_code
from bxb.api.schemas.charges import charge_errors, draft_charge, model_properties
from bxb.api.schemas.plans import ChargeIn
from bxb.api.taxes import replace_applied_taxes
from bxb.billing.charge_properties import ChargePropertiesError
from bxb.billing.charges import charge_from_properties
from bxb.core.subscriptions import (
    LIVE_STATUSES,
    WorkflowRequestError,
    pinned_snapshot,
    send_update,
)
from bxb.lago_objects.fixed_charges import fixed_charge_object
from bxb.models import AppliedTax, Charge, FixedCharge, Organization, Plan, Subscription
from bxb.models.base import utcnow
from bxb.workflows.state import RefreshPlanRequest

router = APIRouter(prefix="/api/v1", tags=["subscriptions"])


class ChargeOverrideFields(ChargeOverrideIn):
    id: str = Field(default="", max_length=36)  # named by the path (ignored here)


class ChargeOverrideBody(BaseModel):
    charge: ChargeOverrideFields


class FixedChargeOverrideFields(FixedChargeOverrideIn):
    id: str = Field(default="", max_length=36)


class FixedChargeOverrideBody(BaseModel):
    fixed_charge: FixedChargeOverrideFields


async def live_row(session: AsyncSession, org: Organization, external_id: str) -> Subscription:
    rows = await session.scalars(
        select(Subscription)
        .where(
            Subscription.organization_id == org.id,
            Subscription.external_id == external_id,
            Subscription.status.in_(LIVE_STATUSES),
        )
        .order_by(Subscription.created_at)
    )
    row = rows.first()
    if row is None:
        raise not_found("subscription")
    return row


async def current_plan(session: AsyncSession, row: Subscription) -> Plan:
    plan = await session.get(Plan, row.plan_id)
    if plan is None:  # pragma: no cover - plans are soft-deleted, never removed
        raise not_found("plan")
    return plan


async def take_plan(
    session: AsyncSession,
    temporal: TemporalDep,
    settings: SettingsDep,
    row: Subscription,
    old_plan_id: uuid.UUID,
    plan_id: uuid.UUID,
) -> None:
    """Commit, then hand the subscription's workflow its plan's new snapshot."""
    await session.commit()
    session.expunge_all()
    plan = await session.get(Plan, plan_id)
    assert plan is not None
    request = RefreshPlanRequest(plan=await pinned_snapshot(session, plan), replaces=old_plan_id)
    client = await temporal.client()
    try:
        await send_update(
            client, row.workflow_id, "refresh_plan", request, wait=settings.workflow_update_timeout
        )
    except WorkflowRequestError as exc:
        raise validation_error({"subscription": [str(exc)]}) from exc


async def override_plan(
    session: AsyncSession, org: Organization, plan: Plan, overrides: PlanOverridesIn, prefix: str
) -> Plan:
    """The subscription's child plan; errors keyed as this route's body (`properties.amount`)."""
    try:
        return await create_override_plan(session, org, plan, overrides)
    except ApiError as exc:
        if exc.error_details:
            exc.error_details = {
                key.removeprefix(prefix): codes for key, codes in exc.error_details.items()
            }
        raise


@router.put("/subscriptions/{external_id}/charges/{charge_code}")
async def override_subscription_charge(
    external_id: str,
    charge_code: str,
    body: ChargeOverrideBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    row = await live_row(session, org, external_id)
    plan = await current_plan(session, row)
    charge = find_charge(plan, charge_code)
    data = body.charge
    if plan.parent_id is None:
        overrides = PlanOverridesIn(charges=[data.model_copy(update={"id": str(charge.id)})])
        child = await override_plan(session, org, plan, overrides, "plan_overrides.charges.0.")
        target_plan_id = child.id
    else:
        await _taxes_by_code(session, org, [data.tax_codes])
        fields = data.model_dump(
            exclude_unset=True,
            include={"invoice_display_name", "min_amount_cents", "properties", "filters"},
        )
        with session.no_autoflush:
            draft = draft_charge(ChargeIn.model_validate(fields), charge, charge.billable_metric)
            errors = charge_errors(draft)
        if errors:
            raise validation_error(errors)
        _save_charge(session, org, plan, draft, utcnow())
        await session.flush()
        if data.tax_codes is not None:
            taxes = await _taxes_by_code(session, org, [data.tax_codes])
            chosen = [taxes[code] for code in dict.fromkeys(data.tax_codes)]
            await replace_applied_taxes(session, org.id, AppliedTax.charge_id, charge.id, chosen)
        target_plan_id = plan.id
    await take_plan(session, temporal, settings, row, plan.id, target_plan_id)
    copy = await session.scalar(
        select(Charge).where(
            Charge.plan_id == target_plan_id,
            Charge.deleted_at.is_(None),
            (Charge.id == charge.id) | (Charge.parent_id == charge.id),
        )
    )
    assert copy is not None
    return {"charge": (await render_charges(session, [copy]))[0]}


@router.put("/subscriptions/{external_id}/fixed_charges/{fixed_charge_code}")
async def override_subscription_fixed_charge(
    external_id: str,
    fixed_charge_code: str,
    body: FixedChargeOverrideBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    row = await live_row(session, org, external_id)
    plan = await current_plan(session, row)
    fixed = next((f for f in plan.fixed_charges if f.code == fixed_charge_code), None)
    if fixed is None:
        raise not_found("fixed_charge")
    data = body.fixed_charge
    if plan.parent_id is None:
        overrides = PlanOverridesIn(fixed_charges=[data.model_copy(update={"id": str(fixed.id)})])
        child = await override_plan(
            session, org, plan, overrides, "plan_overrides.fixed_charges.0."
        )
        target_plan_id = child.id
    else:
        taxes = await _taxes_by_code(session, org, [data.tax_codes])
        if "invoice_display_name" in data.model_fields_set:
            fixed.invoice_display_name = data.invoice_display_name
        if data.units is not None:
            fixed.units = data.units
        if data.properties:
            fixed.properties = model_properties(fixed.charge_model, data.properties)
            try:
                charge_from_properties(fixed.charge_model, fixed.properties)
            except ChargePropertiesError as exc:
                raise validation_error(
                    {f"properties.{field}": codes for field, codes in exc.errors.items()}
                ) from None
        if data.tax_codes is not None:
            fixed.tax_ids = [str(taxes[code].id) for code in dict.fromkeys(data.tax_codes)]
        target_plan_id = plan.id
    await take_plan(session, temporal, settings, row, plan.id, target_plan_id)
    copy = await session.scalar(
        select(FixedCharge).where(
            FixedCharge.plan_id == target_plan_id,
            FixedCharge.deleted_at.is_(None),
            (FixedCharge.id == fixed.id) | (FixedCharge.parent_id == fixed.id),
        )
    )
    assert copy is not None
    taxes_of = await fixed_charge_taxes(session, org, [copy])
    return {"fixed_charge": fixed_charge_object(copy, taxes_of[copy.id])}
