"""Reading the audit trail: Lago's filters of /activity_logs and /api_logs as queries, and
one row by its id. Newest first; dates filter on `logged_at` (from_date's day start to the
end of to_date's day, UTC). Filters arrive validated by the route."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.models import ActivityLog, ApiLog

AuditRow = TypeVar("AuditRow", ActivityLog, ApiLog)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _dated(
    query: Select[AuditRow], column: Any, from_date: date | None, to_date: date | None
) -> Select[AuditRow]:
    if from_date is not None:
        query = query.where(column >= _day_start(from_date))
    if to_date is not None:
        query = query.where(column < _day_start(to_date) + timedelta(days=1))
    return query


@dataclass(frozen=True)
class ActivityLogFilters:
    from_date: date | None = None
    to_date: date | None = None
    activity_types: Sequence[str] = ()
    activity_sources: Sequence[str] = ()
    user_emails: Sequence[str] = ()
    external_customer_id: str | None = None
    external_subscription_id: str | None = None
    resource_ids: Sequence[uuid.UUID] = ()
    resource_types: Sequence[str] = ()


def activity_logs_query(
    organization_id: uuid.UUID, filters: ActivityLogFilters
) -> Select[ActivityLog]:
    query = select(ActivityLog).where(ActivityLog.organization_id == organization_id)
    query = _dated(query, ActivityLog.logged_at, filters.from_date, filters.to_date)
    if filters.activity_types:
        query = query.where(ActivityLog.activity_type.in_(filters.activity_types))
    if filters.activity_sources:
        query = query.where(ActivityLog.activity_source.in_(filters.activity_sources))
    if filters.user_emails:
        query = query.where(ActivityLog.user_email.in_(filters.user_emails))
    if filters.external_customer_id is not None:
        query = query.where(ActivityLog.external_customer_id == filters.external_customer_id)
    if filters.external_subscription_id is not None:
        query = query.where(
            ActivityLog.external_subscription_id == filters.external_subscription_id
        )
    if filters.resource_ids:
        query = query.where(ActivityLog.resource_id.in_(filters.resource_ids))
    if filters.resource_types:
        query = query.where(ActivityLog.resource_type.in_(filters.resource_types))
    return query.order_by(ActivityLog.logged_at.desc(), ActivityLog.id.desc())


@dataclass(frozen=True)
class ApiLogFilters:
    from_date: date | None = None
    to_date: date | None = None
    http_methods: Sequence[str] = ()
    # Lago's http_statuses[]: a code, or `succeeded` (< 400) / `failed` (>= 400).
    http_statuses: Sequence[int | str] = ()
    api_version: str | None = None
    # A prefix of the path after /api/v1, as Lago's example `/billable_metrics/`.
    request_path_prefix: str | None = None


def _status(value: int | str) -> ColumnElement[bool]:
    if value == "succeeded":
        return ApiLog.http_status < 400
    if value == "failed":
        return ApiLog.http_status >= 400
    return ApiLog.http_status == int(value)


def api_logs_query(organization_id: uuid.UUID, filters: ApiLogFilters) -> Select[ApiLog]:
    query = select(ApiLog).where(ApiLog.organization_id == organization_id)
    query = _dated(query, ApiLog.logged_at, filters.from_date, filters.to_date)
    if filters.http_methods:
        query = query.where(ApiLog.http_method.in_(filters.http_methods))
    if filters.http_statuses:
        query = query.where(or_(*(_status(value) for value in filters.http_statuses)))
    if filters.api_version is not None:
        query = query.where(ApiLog.api_version == filters.api_version)
    if filters.request_path_prefix:
        escaped = (
            filters.request_path_prefix.replace("\\", "\\\\")
            .replace("%", "\\%")
            .replace("_", "\\_")
        )
        query = query.where(ApiLog.request_path.like(escaped.rstrip("/") + "%"))
    return query.order_by(ApiLog.logged_at.desc(), ApiLog.request_id.desc())


async def find_activity_log(
    session: AsyncSession, organization_id: uuid.UUID, activity_id: uuid.UUID
) -> ActivityLog | None:
    return await _find(session, ActivityLog, ActivityLog.id, organization_id, activity_id)


async def find_api_log(
    session: AsyncSession, organization_id: uuid.UUID, request_id: uuid.UUID
) -> ApiLog | None:
    return await _find(session, ApiLog, ApiLog.request_id, organization_id, request_id)


async def _find(
    session: AsyncSession,
    model: type[AuditRow],
    key_column: Any,
    organization_id: uuid.UUID,
    key: uuid.UUID,
) -> AuditRow | None:
    """One organization's row by its id (never another organization's)."""
    return await session.scalar(
        select(model).where(model.organization_id == organization_id, key_column == key)
    )
