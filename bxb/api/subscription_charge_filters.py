"""POST, PUT and DELETE /api/v1/subscriptions/{external_id}/charges/{charge_code}/filters:
one subscription's own filters of a charge (Lago's `Subscriptions::ChargeFilters::*`).

As the subscription's charge overrides (bxb.api.subscription_overrides): a subscription
still on the catalog plan first gets its child plan (a copy, filters included), then the
change is made to the child's charge; one already on its own child plan has it changed in
place. The filter to change or delete is named by its id on the subscription's current
charge and found on the child's copy by its values (Lago's `find_filter_on_charge`). The
workflow then takes the new plan snapshot at once (update `refresh_plan`).

Checks are those of the plan's filter routes (declared keys and values, properties of the
charge's model), made before anything is written; a filter whose values another filter
of the charge already has: 422 `{"values": ["value_already_exists"]}`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.charge_lookup import find_charge, find_filter
from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep
from bxb.api.errors import not_found, validation_error
from bxb.api.plan_charge_filters import (
    apply_filter_change,
    check_filter,
    filter_input,
    new_filter,
    same_values,
)
from bxb.api.plan_overrides import ChargeOverrideIn, PlanOverridesIn
from bxb.api.schemas.plan_charges import FilterBody
from bxb.api.schemas.plans import ChargeFilterIn
from bxb.api.subscription_overrides import current_plan, live_row, override_plan, take_plan
from bxb.lago_objects.charge_filters import charge_filter_object
from bxb.models import Charge, ChargeFilter, Organization, Plan, Subscription
from bxb.models.base import utcnow

router = APIRouter(prefix="/api/v1", tags=["subscriptions"])

# Accepted (Lago's client sends it); only the live subscription's filters can change.
Status = str | None


async def _subscription_charge(
    session: AsyncSession, org: Organization, external_id: str, charge_code: str
) -> tuple[Subscription, Plan, Charge]:
    row = await live_row(session, org, external_id)
    plan = await current_plan(session, row)
    return row, plan, find_charge(plan, charge_code)


async def _own_charge(
    session: AsyncSession, org: Organization, plan: Plan, charge: Charge
) -> tuple[Plan, Charge]:
    """The subscription's own plan and its copy of `charge` (made now if need be)."""
    if plan.parent_id is not None:
        return plan, charge
    overrides = PlanOverridesIn(charges=[ChargeOverrideIn(id=str(charge.id))])
    child = await override_plan(session, org, plan, overrides, "plan_overrides.charges.0.")
    await session.flush()
    copy = await session.scalar(
        select(Charge).where(
            Charge.plan_id == child.id, Charge.parent_id == charge.id, Charge.deleted_at.is_(None)
        )
    )
    assert copy is not None
    await session.refresh(copy, ["filters"])
    return child, copy


def _on_copy(copy: Charge, values: dict[str, list[str]]) -> ChargeFilter:
    found = next((f for f in copy.filters if same_values(f, values)), None)
    if found is None:  # pragma: no cover - a copy has its parent's filters
        raise not_found("charge_filter")
    return found


@router.post("/subscriptions/{external_id}/charges/{charge_code}/filters")
async def create_subscription_charge_filter(
    external_id: str,
    charge_code: str,
    body: FilterBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    subscription_status: Status = None,
) -> dict[str, Any]:
    row, plan, charge = await _subscription_charge(session, org, external_id, charge_code)
    data = body.filter
    if not data.values:
        raise validation_error({"values": ["value_is_mandatory"]})
    if any(same_values(f, data.values) for f in charge.filters):
        raise validation_error({"values": ["value_already_exists"]})
    item = ChargeFilterIn(
        invoice_display_name=data.invoice_display_name,
        properties=data.properties or {},
        values=data.values,
    )
    current = [filter_input(f) for f in charge.filters]
    check_filter(charge, [*current, item], len(current))
    target_plan, copy = await _own_charge(session, org, plan, charge)
    created = new_filter(copy, item)
    session.add(created)
    await session.flush()
    answer = {"filter": charge_filter_object(copy, created)}
    await take_plan(session, temporal, settings, row, plan.id, target_plan.id)
    return answer


@router.put("/subscriptions/{external_id}/charges/{charge_code}/filters/{filter_id}")
async def update_subscription_charge_filter(
    external_id: str,
    charge_code: str,
    filter_id: str,
    body: FilterBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    subscription_status: Status = None,
) -> dict[str, Any]:
    row, plan, charge = await _subscription_charge(session, org, external_id, charge_code)
    target = find_filter(charge, filter_id)
    data = body.filter
    inputs = [filter_input(f) for f in charge.filters]
    index = charge.filters.index(target)
    inputs[index] = ChargeFilterIn(
        invoice_display_name=(
            data.invoice_display_name
            if "invoice_display_name" in data.model_fields_set
            else target.invoice_display_name
        ),
        properties=target.properties if data.properties is None else data.properties,
        values=target.values if data.values is None else data.values,
    )
    if data.values and any(
        same_values(f, data.values) for f in charge.filters if f.id != target.id
    ):
        raise validation_error({"values": ["value_already_exists"]})
    check_filter(charge, inputs, index)
    old_values = dict(target.values)
    target_plan, copy = await _own_charge(session, org, plan, charge)
    own = _on_copy(copy, old_values)
    apply_filter_change(own, copy.charge_model, data)
    await session.flush()
    answer = {"filter": charge_filter_object(copy, own)}
    await take_plan(session, temporal, settings, row, plan.id, target_plan.id)
    return answer


@router.delete("/subscriptions/{external_id}/charges/{charge_code}/filters/{filter_id}")
async def delete_subscription_charge_filter(
    external_id: str,
    charge_code: str,
    filter_id: str,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    subscription_status: Status = None,
) -> dict[str, Any]:
    row, plan, charge = await _subscription_charge(session, org, external_id, charge_code)
    target = find_filter(charge, filter_id)
    values = dict(target.values)
    target_plan, copy = await _own_charge(session, org, plan, charge)
    own = _on_copy(copy, values)
    answer = {"filter": charge_filter_object(copy, own)}
    own.deleted_at = utcnow()
    await session.flush()
    await take_plan(session, temporal, settings, row, plan.id, target_plan.id)
    return answer
