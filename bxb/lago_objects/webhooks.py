"""Lago's WebhookEndpointObject, and bxb's delivery objects (webhooks and their attempts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bxb.lago_objects.formats import iso
from bxb.models import Webhook, WebhookAttempt, WebhookEndpoint


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
