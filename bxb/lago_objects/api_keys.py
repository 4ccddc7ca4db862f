"""The API key object: what a person sees of a key (never its hash; its value only once)."""

from __future__ import annotations

from typing import Any

from bxb.lago_objects.formats import iso
from bxb.models import ApiKey


def api_key_object(key: ApiKey, *, value: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "lago_id": str(key.id),
        "name": key.name,
        "role": key.role,
        "prefix": key.prefix,
        "expires_at": iso(key.expires_at),
        "last_used_at": iso(key.last_used_at),
        "created_at": iso(key.created_at),
        "revoked_at": iso(key.revoked_at),
        "rotated_from_id": None if key.rotated_from_id is None else str(key.rotated_from_id),
    }
    if value is not None:
        body["value"] = value  # the key itself: in the answer that issues it, never again
    return body
