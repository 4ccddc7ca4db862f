"""Lago's ActivityLogObject and ApiLogObject (reference/lago-openapi.yaml).

bxb adds `actor` (kind, id, label) to both: which key, member, portal customer or CLI
acted, beyond Lago's `user_email`.
"""

from __future__ import annotations

from typing import Any

from bxb.lago_objects.formats import iso
from bxb.models import ActivityLog, ApiLog


def _actor(kind: str, actor_id: Any, label: str | None) -> dict[str, Any]:
    return {"kind": kind, "id": str(actor_id) if actor_id else None, "label": label}


def activity_log_object(row: ActivityLog) -> dict[str, Any]:
    return {
        "activity_id": str(row.id),
        "user_email": row.user_email,
        "activity_type": row.activity_type,
        "activity_source": row.activity_source,
        "activity_object": row.activity_object,
        "activity_object_changes": row.activity_object_changes,
        "external_customer_id": row.external_customer_id,
        "external_subscription_id": row.external_subscription_id,
        "resource_id": str(row.resource_id),
        "resource_type": row.resource_type,
        "organization_id": str(row.organization_id),
        "logged_at": iso(row.logged_at),
        "created_at": iso(row.created_at),
        "actor": _actor(row.actor_kind, row.actor_id, row.actor_label),
    }


def api_log_object(row: ApiLog) -> dict[str, Any]:
    return {
        "request_id": str(row.request_id),
        "api_version": row.api_version,
        "client": row.client,
        "http_method": row.http_method,
        "http_status": row.http_status,
        "request_origin": row.request_origin,
        "request_path": row.request_path,
        # Lago's field is a required string: "" when the organization keeps no bodies.
        "request_body": row.request_body or "",
        "request_response": row.request_response or "",
        "duration_ms": row.duration_ms,
        "user_email": row.user_email,
        "logged_at": iso(row.logged_at),
        "created_at": iso(row.created_at),
        "actor": _actor(row.actor_kind, row.actor_id, row.actor_label),
    }
