"""/api/v1/plans (Lago-compatible), with their charges, charge filters and taxes.

A PUT that carries ``charges`` replaces the plan's charge list: a charge whose ``id`` is
one of the plan's charges is updated in place, one without (or with an unknown id) is
created, and the plan's other charges are soft-deleted.

Plans are updated in place for now. Once subscriptions exist, running subscriptions must
never change silently: a plan row that a subscription bills from becomes immutable, and a
PUT on it writes a new version instead (copy-on-write: a new row with the same code and
copied charges, the old row marked superseded). New subscriptions take the new version;
running ones keep theirs unless the caller asks to cascade (Lago's ``cascade_updates``),
which becomes an update to each subscription workflow, applied at its next period.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defaultload
from sqlalchemy.sql.base import ExecutableOption

from bxb.api import plan_cascade
from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep, reads_only
from bxb.api.errors import not_found, validation_error
from bxb.api.fixed_charge_taxes import fixed_charge_taxes
from bxb.api.fixed_charge_writes import draft_plan_fixed_charges, save_plan_fixed_charges
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.charges import ChargeDraft, draft_charges, model_properties
from bxb.api.schemas.plans import (
    ChargeFilterIn,
    ChargeIn,
    PlanCreateBody,
    PlanFields,
    PlanUpdateBody,
    apply_commitment,
    apply_plan_fields,
)
from bxb.api.schemas.usage_thresholds import save_usage_thresholds, threshold_errors
from bxb.api.taxes import replace_applied_taxes, taxes_for_codes
from bxb.core.plan_refresh import refresh_subscriptions
from bxb.entitlements.grants import plans_grants
from bxb.lago_objects.entitlements import plan_entitlement_object
from bxb.lago_objects.plans import plan_object
from bxb.lago_objects.taxes import plan_and_charge_taxes
from bxb.models import (
    AppliedTax,
    BillableMetric,
    Charge,
    ChargeFilter,
    FixedCharge,
    Organization,
    Plan,
    Tax,
)

router = APIRouter(prefix="/api/v1", tags=["plans"])

_CODE_TAKEN = validation_error({"code": ["value_already_exist"]})
# What a plan read loads: not the charges' metrics' filters, which a PlanObject never
# shows (a charge's own filters are its rows); one statement fewer per read.
_SHOWN = (
    defaultload(Plan.charges).defaultload(Charge.billable_metric).raiseload(BillableMetric.filters)
)
_MICROSECOND = timedelta(microseconds=1)


def _live_plans(org: Organization) -> Any:
    return select(Plan).where(
        Plan.organization_id == org.id, Plan.deleted_at.is_(None), Plan.parent_id.is_(None)
    )


async def find_plan(
    session: AsyncSession, org: Organization, code: str, *options: ExecutableOption
) -> Plan:
    plan: Plan | None = await session.scalar(
        _live_plans(org).where(Plan.code == code).options(*options)
    )
    if plan is None:
        raise not_found("plan")
    return plan


async def _code_taken(session: AsyncSession, org: Organization, code: str) -> bool:
    return (await session.scalar(_live_plans(org).where(Plan.code == code).limit(1))) is not None


# --- lookups that answer 404 -------------------------------------------------------------


async def _metrics(
    session: AsyncSession, org: Organization, charges: Sequence[ChargeIn]
) -> dict[str, BillableMetric]:
    """The organization's live metrics named by billable_metric_id, by that id."""
    wanted: set[uuid.UUID] = set()
    for charge in charges:
        if charge.billable_metric_id is None:
            continue
        try:
            wanted.add(uuid.UUID(charge.billable_metric_id))
        except ValueError:
            raise not_found("billable_metric") from None
    if not wanted:
        return {}
    found = await session.scalars(
        select(BillableMetric).where(
            BillableMetric.organization_id == org.id,
            BillableMetric.deleted_at.is_(None),
            BillableMetric.id.in_(wanted),
        )
    )
    metrics = {str(metric.id): metric for metric in found}
    if len(metrics) != len(wanted):
        raise not_found("billable_metric")
    return metrics


async def _taxes_by_code(
    session: AsyncSession, org: Organization, lists: Iterable[list[str] | None]
) -> dict[str, Tax]:
    codes = sorted({code for codes in lists if codes for code in codes})
    return {tax.code: tax for tax in await taxes_for_codes(session, org.id, codes)}


def _all_tax_codes(data: PlanFields) -> list[list[str] | None]:
    lists = [data.tax_codes]
    if data.minimum_commitment is not None:
        lists.append(data.minimum_commitment.tax_codes)
    lists.extend(charge.tax_codes for charge in data.charges or ())
    return lists


# --- charges -----------------------------------------------------------------------------


def _same_filters(current: Sequence[ChargeFilter], wanted: Sequence[ChargeFilterIn]) -> bool:
    return [(f.invoice_display_name, f.properties, f.values) for f in current] == [
        (f.invoice_display_name, f.properties, f.values) for f in wanted
    ]


def _save_charge(
    session: AsyncSession, org: Organization, plan: Plan, draft: ChargeDraft, created: datetime
) -> Charge:
    assert draft.charge_model is not None  # drafts without one never pass validation
    charge = draft.existing
    if charge is None:
        charge = Charge(id=uuid.uuid4(), organization_id=org.id, plan_id=plan.id)
        charge.created_at = created
        session.add(charge)
    charge.billable_metric_id = draft.metric.id
    charge.charge_model = draft.charge_model
    charge.properties = draft.properties
    for name, value in draft.fields.items():
        setattr(charge, name, value)
    current = list(draft.existing.filters) if draft.existing is not None else []
    wanted = [
        ChargeFilterIn(
            invoice_display_name=f.invoice_display_name,
            properties=model_properties(draft.charge_model, f.properties),
            values=f.values,
        )
        for f in draft.filters
    ]
    if not _same_filters(current, wanted):
        # Replaced as a whole: filter order decides ties between equally specific filters.
        for old in current:
            old.deleted_at = created
        for index, item in enumerate(wanted):
            new = ChargeFilter(charge_id=charge.id, **item.model_dump())
            new.created_at = created + index * _MICROSECOND
            session.add(new)
    return charge


async def _save_charges(
    session: AsyncSession,
    org: Organization,
    plan: Plan,
    existing: Sequence[Charge],
    drafts: Sequence[ChargeDraft],
    taxes: dict[str, Tax],
) -> None:
    now = datetime.now(UTC)
    saved = [
        _save_charge(session, org, plan, draft, now + index * _MICROSECOND)
        for index, draft in enumerate(drafts)
    ]
    kept = {charge.id for charge in saved}
    for charge in existing:
        if charge.id not in kept:
            charge.deleted_at = now
    await session.flush()  # charges exist before their applied taxes point at them
    for draft, charge in zip(drafts, saved, strict=True):
        if draft.tax_codes is not None:
            chosen = [taxes[code] for code in dict.fromkeys(draft.tax_codes)]
            await replace_applied_taxes(session, org.id, AppliedTax.charge_id, charge.id, chosen)


async def _save(
    session: AsyncSession, org: Organization, plan: Plan, data: PlanFields, *, is_new: bool
) -> Plan:
    """Validate and write the plan and its charges; 404 and 422 before any write."""
    metrics = await _metrics(session, org, data.charges or ())
    taxes = await _taxes_by_code(session, org, _all_tax_codes(data))
    errors: dict[str, list[str]] = {}
    existing = [] if is_new else list(plan.charges)
    with session.no_autoflush:
        apply_plan_fields(plan, data)
        apply_commitment(plan, data, taxes, errors)
        drafts: list[ChargeDraft] = []
        if data.charges is not None:
            drafts, charge_errors_found = draft_charges(data.charges, existing, metrics)
            errors |= charge_errors_found
        fixed: list[FixedCharge] = []
        current_fixed: list[FixedCharge] = [] if is_new else list(plan.fixed_charges)
        if data.fixed_charges is not None:
            fixed, fixed_errors = await draft_plan_fixed_charges(
                session, org, plan, data.fixed_charges, current_fixed
            )
            errors |= fixed_errors
        errors |= threshold_errors(data.usage_thresholds)
    if errors:
        raise validation_error(errors)
    if is_new:
        session.add(plan)
    await session.flush()
    if data.fixed_charges is not None:
        save_plan_fixed_charges(session, current_fixed, fixed)
    if data.tax_codes is not None:
        chosen = [taxes[code] for code in dict.fromkeys(data.tax_codes)]
        await replace_applied_taxes(session, org.id, AppliedTax.plan_id, plan.id, chosen)
    if data.charges is not None:
        await _save_charges(session, org, plan, existing, drafts, taxes)
    if data.usage_thresholds is not None:
        thresholds = [] if is_new else list(plan.usage_thresholds)
        save_usage_thresholds(session, plan, thresholds, data.usage_thresholds)
    try:
        await session.commit()
    except IntegrityError:  # pragma: no cover - a concurrent request took the code
        await session.rollback()
        raise _CODE_TAKEN from None
    return plan


# --- rendering ---------------------------------------------------------------------------


async def _render(
    session: AsyncSession, org: Organization, plans: Sequence[Plan]
) -> list[dict[str, Any]]:
    """PlanObjects, with the taxes of the plans, charges and commitments batched."""
    charge_ids = [charge.id for plan in plans for charge in plan.charges]
    taxes: dict[uuid.UUID | str, list[Tax]] = {}
    plan_ids = [plan.id for plan in plans]
    taxes.update((await plan_and_charge_taxes(session, plan_ids, charge_ids)).items())
    commitment_ids = {tax_id for plan in plans for tax_id in plan.minimum_commitment_tax_ids}
    if commitment_ids:
        found = await session.scalars(
            select(Tax).where(
                Tax.organization_id == org.id,
                Tax.id.in_([uuid.UUID(tax_id) for tax_id in commitment_ids]),
            )
        )
        by_id = {str(tax.id): tax for tax in found}
        for plan in plans:
            # A deleted tax simply stops applying.
            taxes[f"commitment:{plan.id}"] = [
                by_id[tax_id] for tax_id in plan.minimum_commitment_tax_ids if tax_id in by_id
            ]
    fixed = [f for plan in plans for f in plan.fixed_charges]
    if fixed:
        taxes.update((await fixed_charge_taxes(session, org, fixed)).items())
    entitlements = await plans_grants(session, [plan.id for plan in plans])
    return [
        plan_object(plan, taxes)
        | {"entitlements": [plan_entitlement_object(g) for g in entitlements.get(plan.id, [])]}
        for plan in plans
    ]


async def _reloaded(session: AsyncSession, org: Organization, plan_id: uuid.UUID) -> dict[str, Any]:
    session.expunge_all()  # drop stale collections (soft-deleted charges and filters)
    plan = await session.get(Plan, plan_id)
    assert plan is not None
    return {"plan": (await _render(session, org, [plan]))[0]}


# --- routes ------------------------------------------------------------------------------


@router.post("/plans")
async def create_plan(body: PlanCreateBody, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    data = body.plan
    if await _code_taken(session, org, data.code):
        raise _CODE_TAKEN
    plan = Plan(id=uuid.uuid4(), organization_id=org.id, pay_in_advance=False)
    plan.minimum_commitment_tax_ids = []
    await _save(session, org, plan, data, is_new=True)
    return await _reloaded(session, org, plan.id)


@router.get("/plans")
@reads_only
async def list_plans(org: OrgDep, session: SessionDep, page: PageDep) -> dict[str, Any]:
    query = _live_plans(org).order_by(Plan.created_at.desc(), Plan.id).options(_SHOWN)
    plans, meta = await paginate(session, query, page)
    return {"plans": await _render(session, org, plans), "meta": meta.model_dump()}


@router.get("/plans/{code}")
@reads_only
async def get_plan(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    plan = await find_plan(session, org, code, _SHOWN)
    return {"plan": (await _render(session, org, [plan]))[0]}


@router.put("/plans/{code}")
async def update_plan(
    code: str,
    body: PlanUpdateBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    data = body.plan
    if data.code is not None and data.code != code and await _code_taken(session, org, data.code):
        raise _CODE_TAKEN
    before = plan_cascade.capture(plan)
    await _save(session, org, plan, data, is_new=False)
    if data.cascade_updates:
        session.expunge_all()  # the plan's charges as just saved
        saved = await session.get(Plan, plan.id)
        assert saved is not None
        family = await plan_cascade.cascade_plan(session, saved, before)
        await session.commit()
        wait = settings.workflow_update_timeout
        await refresh_subscriptions(session, temporal, org.id, family, wait=wait)
    return await _reloaded(session, org, plan.id)


@router.delete("/plans/{code}")
async def delete_plan(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    rendered = (await _render(session, org, [plan]))[0]
    now = datetime.now(UTC)
    plan.deleted_at = now
    # Subscriptions (next issue) will have to be terminated first, as Lago does.
    await session.execute(
        update(Charge)
        .where(Charge.plan_id == plan.id, Charge.deleted_at.is_(None))
        .values(deleted_at=now)
    )
    await session.commit()
    return {"plan": rendered}
