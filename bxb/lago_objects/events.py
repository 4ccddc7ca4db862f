"""Lago's EventObject."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bxb.events.store import StoredEvent
from bxb.lago_objects.formats import decimal_string, iso


def _instant(moment: datetime) -> str | None:
    """`iso`, with a shortcut for the UTC instants the stores return (hot path)."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else iso(moment)


def event_object(event: StoredEvent, *, created_at: str | None = None) -> dict[str, Any]:
    """Lago's EventObject. Customer and subscription ids stay null (not resolved here)."""
    amount = event.precise_total_amount_cents
    return {
        "lago_id": str(event.id),
        "transaction_id": event.transaction_id,
        "lago_customer_id": None,
        "code": event.code,
        "timestamp": _instant(event.timestamp),
        "lago_subscription_id": None,
        "external_subscription_id": event.external_subscription_id,
        "precise_total_amount_cents": None if amount is None else decimal_string(amount),
        "properties": event.properties,
        "created_at": created_at or _instant(event.created_at),
    }


def event_objects(events: list[StoredEvent]) -> list[dict[str, Any]]:
    """Event objects of one write: they share created_at, so it is formatted once."""
    formatted: dict[datetime, str | None] = {}
    objects = []
    for event in events:
        created_at = formatted.get(event.created_at)
        if created_at is None:
            created_at = formatted[event.created_at] = _instant(event.created_at)
        objects.append(event_object(event, created_at=created_at))
    return objects
