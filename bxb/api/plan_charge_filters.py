"""/api/v1/plans/{code}/charges/{charge_code}/filters (Lago-compatible).

A filter prices the events of a charge whose properties match its values; it is checked
as part of its charge (declared keys and values, no duplicate values, properties of the
charge's model). ``cascade_updates`` carries the change into the child charges (copies
made by ``plan_overrides``): a new filter is added to them, and a change or deletion
applies to their filter with the same values.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.charge_lookup import filter_page, find_charge, find_filter
from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep
from bxb.api.errors import validation_error
from bxb.api.pagination import PageDep
from bxb.api.plan_charges import cascade_to_subscriptions
from bxb.api.plan_children import child_charges
from bxb.api.plans import find_plan
from bxb.api.schemas.charges import charge_errors, draft_charge, model_properties
from bxb.api.schemas.plan_charges import FilterBody, FilterDeleteBody, FilterRouteIn
from bxb.api.schemas.plans import ChargeFilterIn, ChargeIn
from bxb.core.plan_refresh import plan_family
from bxb.core.settings import Settings
from bxb.core.temporal import TemporalConnector
from bxb.lago_objects.charge_filters import charge_filter_object
from bxb.models import Charge, ChargeFilter, Organization, Plan
from bxb.models.base import utcnow

router = APIRouter(prefix="/api/v1", tags=["plans"])


def filter_input(f: ChargeFilter) -> ChargeFilterIn:
    return ChargeFilterIn(
        invoice_display_name=f.invoice_display_name, properties=f.properties, values=f.values
    )


def check_filter(charge: Charge, filters: list[ChargeFilterIn], index: int) -> None:
    """422 with the errors of the filter at `index` (keys relative to the filter)."""
    draft = draft_charge(ChargeIn(filters=filters), charge, charge.billable_metric)
    prefix = f"filters.{index}."
    errors = {
        key.removeprefix(prefix): codes
        for key, codes in charge_errors(draft).items()
        if key.startswith(prefix)
    }
    if errors:
        raise validation_error(errors)


async def _load(session: AsyncSession, org: Organization, code: str, charge_code: str) -> Charge:
    return find_charge(await find_plan(session, org, code), charge_code)


async def _commit_and_cascade(
    session: AsyncSession,
    temporal: TemporalConnector,
    settings: Settings,
    org: Organization,
    charge: Charge,
    cascade: bool | None,
) -> None:
    plan = await session.get(Plan, charge.plan_id)
    family = await plan_family(session, plan) if cascade and plan is not None else []
    await session.commit()
    if family:
        await cascade_to_subscriptions(session, temporal, settings, org, family)


@router.get("/plans/{code}/charges/{charge_code}/filters")
async def list_filters(
    code: str, charge_code: str, org: OrgDep, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    return filter_page(await _load(session, org, code, charge_code), page)


@router.get("/plans/{code}/charges/{charge_code}/filters/{filter_id}")
async def get_filter(
    code: str, charge_code: str, filter_id: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    charge = await _load(session, org, code, charge_code)
    return {"filter": charge_filter_object(charge, find_filter(charge, filter_id))}


def new_filter(charge: Charge, item: ChargeFilterIn) -> ChargeFilter:
    new = ChargeFilter(
        id=uuid.uuid4(),
        charge_id=charge.id,
        invoice_display_name=item.invoice_display_name,
        properties=model_properties(charge.charge_model, item.properties),
        values=item.values,
    )
    new.created_at = utcnow()
    return new


@router.post("/plans/{code}/charges/{charge_code}/filters")
async def create_filter(
    code: str,
    charge_code: str,
    body: FilterBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    charge = await _load(session, org, code, charge_code)
    data = body.filter
    if data.values is None:
        raise validation_error({"values": ["value_is_mandatory"]})
    item = ChargeFilterIn(
        invoice_display_name=data.invoice_display_name,
        properties=data.properties or {},
        values=data.values,
    )
    current = [filter_input(f) for f in charge.filters]
    check_filter(charge, [*current, item], len(current))
    new = new_filter(charge, item)
    session.add(new)
    if data.cascade_updates:
        for child in await child_charges(session, charge):
            session.add(new_filter(child, item))
    await _commit_and_cascade(session, temporal, settings, org, charge, data.cascade_updates)
    return {"filter": charge_filter_object(charge, new)}


def same_values(a: ChargeFilter, values: dict[str, list[str]]) -> bool:
    canonical = {k: sorted(v) for k, v in values.items()}
    return {k: sorted(v) for k, v in a.values.items()} == canonical


def apply_filter_change(target: ChargeFilter, model: str, data: FilterRouteIn) -> None:
    if "invoice_display_name" in data.model_fields_set:
        target.invoice_display_name = data.invoice_display_name
    if data.properties is not None:
        target.properties = model_properties(model, data.properties)
    if data.values is not None:
        target.values = data.values


@router.put("/plans/{code}/charges/{charge_code}/filters/{filter_id}")
async def update_filter(
    code: str,
    charge_code: str,
    filter_id: str,
    body: FilterBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    charge = await _load(session, org, code, charge_code)
    target = find_filter(charge, filter_id)
    data = body.filter
    old_values = copy.deepcopy(target.values)
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
    check_filter(charge, inputs, index)
    apply_filter_change(target, charge.charge_model, data)
    if data.cascade_updates:
        for child in await child_charges(session, charge):
            for child_filter in child.filters:
                if same_values(child_filter, old_values):
                    apply_filter_change(child_filter, child.charge_model, data)
    await _commit_and_cascade(session, temporal, settings, org, charge, data.cascade_updates)
    return {"filter": charge_filter_object(charge, target)}


@router.delete("/plans/{code}/charges/{charge_code}/filters/{filter_id}")
async def delete_filter(
    code: str,
    charge_code: str,
    filter_id: str,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    body: FilterDeleteBody | None = None,
) -> dict[str, Any]:
    charge = await _load(session, org, code, charge_code)
    target = find_filter(charge, filter_id)
    rendered = charge_filter_object(charge, target)
    now = utcnow()
    target.deleted_at = now
    cascade = body is not None and bool(body.filter.cascade_updates)
    if cascade:
        for child in await child_charges(session, charge):
            for child_filter in child.filters:
                if same_values(child_filter, target.values):
                    child_filter.deleted_at = now
    await _commit_and_cascade(session, temporal, settings, org, charge, cascade)
    return {"filter": rendered}
