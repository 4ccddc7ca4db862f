"""Webhook endpoint requests, Lago's WebhookEndpointObject, and bxb's delivery objects.

Only the `hmac` signature is implemented: `jwt` (Lago's RSA-signed token) is refused with
422 `not_supported`. An endpoint created without `signature_algo` signs with hmac.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from bxb.api.serialization import iso
from bxb.models import Webhook, WebhookAttempt, WebhookEndpoint

EVENT_TYPE = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")


def check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
        raise ValueError("url_invalid")
    return value


def check_event_types(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    if any(not EVENT_TYPE.match(item) or len(item) > 64 for item in value):
        raise ValueError("value_is_invalid")
    return sorted(set(value))


WebhookUrl = Annotated[str, StringConstraints(max_length=1024), AfterValidator(check_url)]
EventType = Annotated[str, StringConstraints(max_length=255)]  # then 64, by the check
EventTypes = Annotated[list[EventType] | None, AfterValidator(check_event_types)]
SignatureAlgo = Literal["hmac", "jwt"]
Name = Annotated[str, StringConstraints(max_length=255)]


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    webhook_url: WebhookUrl
    signature_algo: SignatureAlgo | None = None
    name: Name | None = None
    event_types: EventTypes = None


class WebhookEndpointCreateBody(BaseModel):
    webhook_endpoint: WebhookEndpointCreate


class WebhookEndpointUpdate(BaseModel):
    """Fields left out keep their values; event_types null means every event."""

    model_config = ConfigDict(extra="ignore")

    webhook_url: WebhookUrl | None = None
    signature_algo: SignatureAlgo | None = None
    name: Name | None = None
    event_types: EventTypes = None


class WebhookEndpointUpdateBody(BaseModel):
    webhook_endpoint: WebhookEndpointUpdate


def webhook_endpoint_object(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "lago_id": str(endpoint.id),
        "lago_organization_id": str(endpoint.organization_id),
        "webhook_url": endpoint.webhook_url,
        "signature_algo": endpoint.signature_algo,
        "name": endpoint.name,
        "event_types": endpoint.event_types,
        "created_at": iso(endpoint.created_at),
    }


def attempt_object(attempt: WebhookAttempt) -> dict[str, Any]:
    return {
        "attempt": attempt.attempt,
        "started_at": iso(attempt.started_at),
        "http_status": attempt.http_status,
        "error": attempt.error,
        "duration_ms": attempt.duration_ms,
    }


def webhook_object(
    webhook: Webhook, webhook_url: str, attempts: Sequence[WebhookAttempt]
) -> dict[str, Any]:
    return {
        "lago_id": str(webhook.id),
        "lago_organization_id": str(webhook.organization_id),
        "lago_webhook_endpoint_id": str(webhook.webhook_endpoint_id),
        "webhook_url": webhook_url,
        "webhook_type": webhook.webhook_type,
        "object_type": webhook.object_type,
        "object_id": str(webhook.object_id),
        "status": webhook.status,
        "retries": webhook.retries,
        "http_status": webhook.http_status,
        "response": webhook.response,
        "payload": webhook.payload,
        "last_retried_at": iso(webhook.last_retried_at),
        "created_at": iso(webhook.created_at),
        "updated_at": iso(webhook.updated_at),
        "attempts": [attempt_object(a) for a in attempts],
    }
