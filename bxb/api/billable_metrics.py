"""/api/v1/billable_metrics (Lago-compatible).

Deleting a metric soft-deletes it and every charge that prices it, as Lago does.
Editing the aggregation of a metric that plans use is allowed for now: nothing bills
yet. Once subscriptions exist, a metric attached to running subscriptions must refuse
such edits (Lago's rule), so that usage never changes meaning mid-period.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.deps import OrgDep, SessionDep, reads_only
from bxb.api.errors import not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.billable_metrics import (
    BillableMetricCreateBody,
    BillableMetricFilterIn,
    BillableMetricUpdateBody,
    filters_errors,
    metric_errors,
    unique_values,
)
from bxb.billing.filters import ALL_FILTER_VALUES
from bxb.lago_objects.billable_metrics import billable_metric_object
from bxb.models import BillableMetric, BillableMetricFilter, Charge, ChargeFilter, Organization

router = APIRouter(prefix="/api/v1", tags=["billable_metrics"])

_CODE_TAKEN = validation_error({"code": ["value_already_exist"]})


async def find_metric(session: AsyncSession, org: Organization, code: str) -> BillableMetric:
    metric = await session.scalar(
        select(BillableMetric).where(
            BillableMetric.organization_id == org.id,
            BillableMetric.code == code,
            BillableMetric.deleted_at.is_(None),
        )
    )
    if metric is None:
        raise not_found("billable_metric")
    return metric


async def _code_taken(
    session: AsyncSession, org: Organization, code: str, metric: BillableMetric | None = None
) -> bool:
    query = select(BillableMetric.id).where(
        BillableMetric.organization_id == org.id,
        BillableMetric.code == code,
        BillableMetric.deleted_at.is_(None),
    )
    if metric is not None:
        query = query.where(BillableMetric.id != metric.id)
    return (await session.scalar(query.limit(1))) is not None


def _check(metric: BillableMetric, filters: Sequence[BillableMetricFilterIn] | None) -> None:
    errors = metric_errors(metric)
    if filters is not None:
        errors |= filters_errors(list(filters))
    if errors:
        raise validation_error(errors)


def _normalize_interval(metric: BillableMetric) -> None:
    # Lago: weighted sums are weighted per second unless told otherwise; others have none.
    if metric.aggregation_type == "weighted_sum_agg":
        metric.weighted_interval = metric.weighted_interval or "seconds"
    else:
        metric.weighted_interval = None


def _replace_filters(metric: BillableMetric, filters: Sequence[BillableMetricFilterIn]) -> None:
    """Replace-all by key: existing keys are updated in place (the (metric, key) pair is
    unique, and an insert would be flushed before the delete of the same key)."""
    wanted = {item.key: unique_values(item.values) for item in filters}
    kept = [f for f in metric.filters if f.key in wanted]
    for existing in kept:
        existing.values = wanted.pop(existing.key)
    new = [BillableMetricFilter(key=key, values=values) for key, values in wanted.items()]
    metric.filters = sorted([*kept, *new], key=lambda f: f.key)


async def _prune_charge_filters(session: AsyncSession, metric: BillableMetric) -> None:
    """Drop from charge filters the keys and values the metric no longer declares; a
    charge filter left without a value for one of its keys is deleted (Lago)."""
    declared = {f.key: set(f.values) for f in metric.filters}
    charge_filters = await session.scalars(
        select(ChargeFilter)
        .join(Charge, Charge.id == ChargeFilter.charge_id)
        .where(
            Charge.billable_metric_id == metric.id,
            Charge.deleted_at.is_(None),
            ChargeFilter.deleted_at.is_(None),
        )
    )
    now = datetime.now(UTC)
    for charge_filter in charge_filters:
        pruned = {
            key: [v for v in values if v == ALL_FILTER_VALUES or v in declared.get(key, ())]
            for key, values in charge_filter.values.items()
        }
        if any(not values for values in pruned.values()):
            charge_filter.deleted_at = now
        elif pruned != charge_filter.values:
            charge_filter.values = pruned


async def _commit(session: AsyncSession) -> None:
    try:
        await session.commit()
    except IntegrityError:  # pragma: no cover - needs two requests racing for one code
        # The partial unique index decided between them.
        await session.rollback()
        raise _CODE_TAKEN from None


@router.post("/billable_metrics")
async def create_billable_metric(
    body: BillableMetricCreateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    data = body.billable_metric
    metric = BillableMetric(
        organization_id=org.id,
        code=data.code,
        name=data.name,
        description=data.description,
        aggregation_type=data.aggregation_type,
        field_name=data.field_name,
        recurring=bool(data.recurring),
        weighted_interval=data.weighted_interval,
        rounding_function=data.rounding_function,
        rounding_precision=data.rounding_precision,
        expression=data.expression,
        filters=[],
    )
    _check(metric, data.filters)
    _normalize_interval(metric)
    _replace_filters(metric, data.filters or [])
    if await _code_taken(session, org, data.code):
        raise _CODE_TAKEN
    session.add(metric)
    await _commit(session)
    return {"billable_metric": billable_metric_object(metric)}


@router.get("/billable_metrics")
@reads_only
async def list_billable_metrics(org: OrgDep, session: SessionDep, page: PageDep) -> dict[str, Any]:
    query = (
        select(BillableMetric)
        .where(BillableMetric.organization_id == org.id, BillableMetric.deleted_at.is_(None))
        .order_by(BillableMetric.created_at.desc(), BillableMetric.id)
    )
    metrics, meta = await paginate(session, query, page)
    return {
        "billable_metrics": [billable_metric_object(m) for m in metrics],
        "meta": meta.model_dump(),
    }


@router.get("/billable_metrics/{code}")
@reads_only
async def get_billable_metric(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    return {"billable_metric": billable_metric_object(await find_metric(session, org, code))}


@router.put("/billable_metrics/{code}")
async def update_billable_metric(
    code: str, body: BillableMetricUpdateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    metric = await find_metric(session, org, code)
    changes = body.billable_metric.model_dump(exclude_unset=True, exclude={"filters"})
    new_code = changes.get("code", code)
    if new_code != code and await _code_taken(session, org, new_code, metric):
        raise _CODE_TAKEN
    for key, value in changes.items():
        setattr(metric, key, value)
    filters = body.billable_metric.filters
    _check(metric, filters)
    _normalize_interval(metric)
    if filters is not None:
        _replace_filters(metric, filters)
        with session.no_autoflush:
            await _prune_charge_filters(session, metric)
    await _commit(session)
    return {"billable_metric": billable_metric_object(metric)}


@router.delete("/billable_metrics/{code}")
async def delete_billable_metric(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    metric = await find_metric(session, org, code)
    now = datetime.now(UTC)
    metric.deleted_at = now
    # Running subscriptions will need their usage of this metric settled first (next issue).
    await session.execute(
        update(Charge)
        .where(Charge.billable_metric_id == metric.id, Charge.deleted_at.is_(None))
        .values(deleted_at=now)
    )
    await session.commit()
    return {"billable_metric": billable_metric_object(metric)}
