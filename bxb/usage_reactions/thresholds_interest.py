"""The watcher's interest for progressive billing: subscriptions whose plan has (or had)
usage thresholds. Thresholds removed from the plan still count: the subscription keeps
the ones pinned in its plan snapshot, and a signal the reaction finds nothing to do for
costs one activity."""

from __future__ import annotations

from collections.abc import Sequence

from bxb.usage_reactions.interest import Connection, EventTest, Interest, SubscriptionKey, any_event

_WITH_THRESHOLDS = """
SELECT DISTINCT s.organization_id, s.external_id
FROM subscriptions s
JOIN unnest($1::uuid[], $2::text[]) AS k(organization_id, external_id)
  USING (organization_id, external_id)
WHERE s.status = 'active'
  AND EXISTS (SELECT 1 FROM usage_thresholds t WHERE t.plan_id = s.plan_id)
"""


async def _with_thresholds(
    conn: Connection, keys: Sequence[SubscriptionKey]
) -> dict[SubscriptionKey, EventTest]:
    rows = await conn.fetch(_WITH_THRESHOLDS, [k[0] for k in keys], [k[1] for k in keys])
    return {(r[0], r[1]): any_event for r in rows}


USAGE_THRESHOLDS = Interest("usage_thresholds", _with_thresholds)
