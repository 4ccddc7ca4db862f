"""Event list filters (GET /events, event exports): the store's EventFilters, checked."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select

from bxb.events.store import EventFilters
from bxb.inputs.bounds import Instant
from bxb.listings.base import FilterText, ListFilters
from bxb.listings.fees import utc
from bxb.models import Event


class EventListFilters(ListFilters):
    external_subscription_id: FilterText | None = None
    code: FilterText | None = None
    timestamp_from: Instant | None = None  # inclusive
    timestamp_to: Instant | None = None  # inclusive

    def for_store(self) -> EventFilters:
        return EventFilters(
            self.external_subscription_id,
            self.code,
            utc(self.timestamp_from),
            utc(self.timestamp_to),
        )


def event_query(organization_id: uuid.UUID, f: EventListFilters) -> Select[Event]:
    """The organization's events in the PostgreSQL store matching f (as the store's
    list_events reads them), unordered."""
    store = f.for_store()
    query = select(Event).where(Event.organization_id == organization_id)
    if store.external_subscription_id is not None:
        query = query.where(Event.external_subscription_id == store.external_subscription_id)
    if store.code is not None:
        query = query.where(Event.code == store.code)
    if store.timestamp_from is not None:
        query = query.where(Event.timestamp >= store.timestamp_from)
    if store.timestamp_to is not None:
        query = query.where(Event.timestamp <= store.timestamp_to)
    return query
