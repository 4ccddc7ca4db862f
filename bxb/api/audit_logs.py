"""GET /api/v1/activity_logs and /api/v1/api_logs (Lago's audit trail), read only.

There is no route that changes or deletes an audit row (and a trigger refuses it). The
queries live in bxb.governance.audit.queries; this router validates Lago's filters.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query

from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.governance.audit.queries import (
    ActivityLogFilters,
    ApiLogFilters,
    activity_logs_query,
    api_logs_query,
    find_activity_log,
    find_api_log,
)
from bxb.inputs.bounds import Day
from bxb.lago_objects.audit_logs import activity_log_object, api_log_object

router = APIRouter(prefix="/api/v1", tags=["audit"])

Names = Annotated[list[Annotated[str, Query(max_length=255)]] | None, Query(max_length=50)]
SOURCES = {"api", "front", "system"}
METHODS = {"post", "put", "delete"}


def _uuids(values: Sequence[str], field: str) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(value) for value in values]
    except ValueError:
        raise validation_error({field: ["invalid_value"]}) from None


def _log_id(value: str, resource: str) -> uuid.UUID:
    """A log's id from the path; anything but a UUID is a log that doesn't exist."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(resource) from None


def _statuses(values: Sequence[str]) -> list[int | str]:
    statuses: list[int | str] = []
    for value in values:
        if value in ("succeeded", "failed"):
            statuses.append(value)
        elif value.isdigit() and 100 <= int(value) <= 599:
            statuses.append(int(value))
        else:
            raise validation_error({"http_statuses": ["value_is_invalid"]})
    return statuses


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
    filters = ActivityLogFilters(
        from_date=from_date,
        to_date=to_date,
        activity_types=activity_types or (),
        activity_sources=activity_sources or (),
        user_emails=user_emails or (),
        external_customer_id=external_customer_id,
        external_subscription_id=external_subscription_id,
        resource_ids=_uuids(resource_ids or (), "resource_ids"),
        resource_types=resource_types or (),
    )
    rows, meta = await paginate(session, activity_logs_query(org.id, filters), page)
    return {"activity_logs": [activity_log_object(r) for r in rows], "meta": meta.model_dump()}


@router.get("/activity_logs/{activity_id}")
async def get_activity_log(activity_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    row = await find_activity_log(session, org.id, _log_id(activity_id, "activity_log"))
    if row is None:
        raise not_found("activity_log")
    return {"activity_log": activity_log_object(row)}


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
    filters = ApiLogFilters(
        from_date=from_date,
        to_date=to_date,
        http_methods=methods,
        http_statuses=_statuses(http_statuses or ()),
        api_version=api_version,
        request_path_prefix=request_paths,
    )
    rows, meta = await paginate(session, api_logs_query(org.id, filters), page)
    return {"api_logs": [api_log_object(r) for r in rows], "meta": meta.model_dump()}


@router.get("/api_logs/{request_id}")
async def get_api_log(request_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    row = await find_api_log(session, org.id, _log_id(request_id, "api_log"))
    if row is None:
        raise not_found("api_log")
    return {"api_log": api_log_object(row)}
