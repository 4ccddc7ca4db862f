"""Which subscriptions care about new usage: what the watcher asks before signalling.

An `Interest` is one reason for a subscription's workflow to hear about its events: a
query that, given the (organization, external subscription id) pairs of a committed
batch, answers for those that care a test saying which of their events matter. The
watcher (`bxb.usage_reactions.watcher`) asks every interest of `registry.INTERESTS` about
the pairs it has not cached, and signals a subscription when any test accepts any of its
new events. Reactions that need signals add their interest to the registry: a plan with
usage thresholds, a subscription with alerts, an event older than the current period.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bxb.events.store import StoredEvent

SubscriptionKey = tuple[uuid.UUID, str]
"""(organization_id, external subscription id), as events name their subscription."""

EventTest = Callable[[StoredEvent], bool]
# The raw asyncpg connection of the watcher's engine (the hot path skips the ORM).
Connection = Any


@dataclass(frozen=True, slots=True)
class Interest:
    """A named query: for the subscriptions among `keys` that care, a test of events."""

    name: str
    load: Callable[
        [Connection, Sequence[SubscriptionKey]], Awaitable[dict[SubscriptionKey, EventTest]]
    ]


def any_event(_: StoredEvent) -> bool:
    return True


def event_codes(codes: Sequence[str]) -> EventTest:
    wanted = frozenset(codes)
    return lambda event: event.code in wanted


# Active subscriptions whose plan has pay-in-advance charges, with their metric codes:
# only events of those metrics produce instant fees.
_PAY_IN_ADVANCE = """
SELECT s.organization_id, s.external_id, array_agg(DISTINCT m.code)
FROM subscriptions s
JOIN unnest($1::uuid[], $2::text[]) AS k(organization_id, external_id)
  USING (organization_id, external_id)
JOIN charges c ON c.plan_id = s.plan_id AND c.pay_in_advance
JOIN billable_metrics m ON m.id = c.billable_metric_id
WHERE s.status = 'active'
GROUP BY s.organization_id, s.external_id
"""


async def _pay_in_advance(
    conn: Connection, keys: Sequence[SubscriptionKey]
) -> dict[SubscriptionKey, EventTest]:
    rows = await conn.fetch(_PAY_IN_ADVANCE, [k[0] for k in keys], [k[1] for k in keys])
    return {(r[0], r[1]): event_codes(r[2]) for r in rows}


PAY_IN_ADVANCE = Interest("pay_in_advance_charges", _pay_in_advance)
