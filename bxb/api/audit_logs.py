"""GET /api/v1/activity_logs and /api/v1/api_logs (Lago's audit trail), read only.

There is no route that changes or deletes an audit row (and a trigger refuses it).
Lists are newest first; dates filter on `logged_at` (from_date's day start to the end
of to_date's day, UTC).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import Select, or_, select

from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.inputs.bounds import Day
from bxb.lago_objects.audit_logs import activity_log_object, api_log_object
from bxb.models import ActivityLog, ApiLog

router = APIRouter(prefix="/api/v1", tags=["audit"])

Names = Annotated[list[Annotated[str, Query(max_length=255)]] | None, Query(max_length=50)]
SOURCES = {"api", "front", "system"}
METHODS = {"post", "put", "delete"}


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _dated(query: Select[Any], column: Any, from_date: date | None, to_date: date | None) -> Any:
    if from_date is not None:
        query = query.where(column >= _day_start(from_date))
    if to_date is not None:
        query = query.where(column < _day_start(to_date) + timedelta(days=1))
    return query


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise validation_error({field: ["invalid_value"]}) from None


@router.get("/activity_logs")
async def list_activity_logs(
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    from_date: Day | None = None,
    to_date: Day | None = None,
    activity_types: Annotated[Names, Query(alias="activity_types[]")] = None,
    activity_sources: Annotated[Names, Query(alias="activity_sources[]")] = None,
    user_emails: Annotated[Names, Query(alias="user_emails[]")] = None,
    external_customer_id: Annotated[str | None, Query(max_length=255)] = None,
    external_subscription_id: Annotated[str | None, Query(max_length=255)] = None,
    resource_ids: Annotated[Names, Query(alias="resource_ids[]")] = None,
    resource_types: Annotated[Names, Query(alias="resource_types[]")] = None,
) -> dict[str, Any]:
    if activity_sources and not set(activity_sources) <= SOURCES:
        raise validation_error({"activity_sources": ["value_is_invalid"]})
    query = select(ActivityLog).where(ActivityLog.organization_id == org.id)
    query = _dated(query, ActivityLog.logged_at, from_date, to_date)
    if activity_types:
        query = query.where(ActivityLog.activity_type.in_(activity_types))
    if activity_sources:
        query = query.where(ActivityLog.activity_source.in_(activity_sources))
    if user_emails:
        query = query.where(ActivityLog.user_email.in_(user_emails))
    if external_customer_id is not None:
        query = query.where(ActivityLog.external_customer_id == external_customer_id)
    if external_subscription_id is not None:
        query = query.where(ActivityLog.external_subscription_id == external_subscription_id)
    if resource_ids:
        ids = [_uuid(value, "resource_ids") for value in resource_ids]
        query = query.where(ActivityLog.resource_id.in_(ids))
    if resource_types:
        query = query.where(ActivityLog.resource_type.in_(resource_types))
    query = query.order_by(ActivityLog.logged_at.desc(), ActivityLog.id.desc())
    rows, meta = await paginate(session, query, page)
    return {"activity_logs": [activity_log_object(r) for r in rows], "meta": meta.model_dump()}


@router.get("/activity_logs/{activity_id}")
async def get_activity_log(activity_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    try:
        key = uuid.UUID(activity_id)
    except ValueError:
        raise not_found("activity_log") from None
    row = await session.scalar(
        select(ActivityLog).where(ActivityLog.organization_id == org.id, ActivityLog.id == key)
    )
    if row is None:
        raise not_found("activity_log")
    return {"activity_log": activity_log_object(row)}


def _status_filter(statuses: list[str]) -> Any:
    """Lago's http_statuses[]: codes, or `succeeded` (< 400) and `failed` (>= 400)."""
    conditions: list[Any] = []
    for value in statuses:
        if value == "succeeded":
            conditions.append(ApiLog.http_status < 400)
        elif value == "failed":
            conditions.append(ApiLog.http_status >= 400)
        elif value.isdigit() and 100 <= int(value) <= 599:
            conditions.append(ApiLog.http_status == int(value))
        else:
            raise validation_error({"http_statuses": ["value_is_invalid"]})
    return or_(*conditions)


@router.get("/api_logs")
async def list_api_logs(
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    from_date: Day | None = None,
    to_date: Day | None = None,
    http_methods: Annotated[Names, Query(alias="http_methods[]")] = None,
    http_statuses: Annotated[Names, Query(alias="http_statuses[]")] = None,
    api_version: Annotated[str | None, Query(max_length=8)] = None,
    request_paths: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    methods = [value.lower() for value in http_methods or []]
    if not set(methods) <= METHODS:
        raise validation_error({"http_methods": ["value_is_invalid"]})
    query = select(ApiLog).where(ApiLog.organization_id == org.id)
    query = _dated(query, ApiLog.logged_at, from_date, to_date)
    if methods:
        query = query.where(ApiLog.http_method.in_(methods))
    if http_statuses:
        query = query.where(_status_filter(http_statuses))
    if api_version is not None:
        query = query.where(ApiLog.api_version == api_version)
    if request_paths:
        # A prefix of the path after /api/v1, as Lago's example `/billable_metrics/`.
        prefix = request_paths.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(ApiLog.request_path.like(prefix.rstrip("/") + "%"))
    query = query.order_by(ApiLog.logged_at.desc(), ApiLog.request_id.desc())
    rows, meta = await paginate(session, query, page)
    return {"api_logs": [api_log_object(r) for r in rows], "meta": meta.model_dump()}


@router.get("/api_logs/{request_id}")
async def get_api_log(request_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    try:
        key = uuid.UUID(request_id)
    except ValueError:
        raise not_found("api_log") from None
    row = await session.scalar(
        select(ApiLog).where(ApiLog.organization_id == org.id, ApiLog.request_id == key)
    )
    if row is None:
        raise not_found("api_log")
    return {"api_log": api_log_object(row)}
