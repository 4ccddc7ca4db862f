"""Lago's webhook envelope around an object, in plain JSON values.

Lago posts {"webhook_type": "invoice.created", "object_type": "invoice",
"organization_id": "<uuid>", "invoice": {...}}. Callers give the object under its key
(e.g. {"invoice": {...}}), optionally with the envelope fields already present; the object
type is that single key unless the caller names it.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

ENVELOPE_FIELDS = ("webhook_type", "object_type", "organization_id")


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    """payload with instants, dates, UUIDs and Decimals as Lago writes them (strings)."""
    converted: dict[str, Any] = json.loads(json.dumps(payload, default=_json_default))
    return converted


def envelope(
    webhook_type: str, organization_id: uuid.UUID, payload: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """(object_type, the full body to store and send)."""
    objects = [key for key in payload if key not in ENVELOPE_FIELDS]
    if len(objects) != 1:
        raise ValueError(f"a webhook payload holds exactly one object, got {objects}")
    object_type = str(payload.get("object_type") or objects[0])
    body = {
        "webhook_type": webhook_type,
        "object_type": object_type,
        "organization_id": str(organization_id),
        objects[0]: payload[objects[0]],
    }
    return object_type, jsonable(body)
