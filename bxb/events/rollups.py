"""Summaries of a subscription's events from the hourly rollup (PostgreSQL store).

`event_rollups` (migration 0014a) holds, per (organization, external subscription id,
code, UTC hour), the count, and the sum and maximum of the metric's field, of the events
inserted so far. A period is read as its whole hours from the rollup plus its raw events
before the first whole hour and after the last one (at most two partial hours), summarized
by the pure core (`bxb.billing.event_summary`). A code whose buckets cannot give its
values exactly (values the rollup does not read as the pure core does, or rolled up under
another field name) has no summary: the caller reads its events.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bxb.billing.aggregation import UsageEvent
from bxb.billing.event_summary import EventSummary, summarize
from bxb.events.store import usage_properties

_HOUR = timedelta(hours=1)

# One round trip: the whole buckets in [$5, $6) per code (ok: every bucket's values can
# be read; a count always can), then the raw events of the edges, [$7, $8) and [$9, $10).
_SUMMARY = """
SELECT w.code, sum(r.events_count), sum(r.values_count), sum(r.values_sum), max(r.values_max),
       bool_and(w.field IS NULL OR (NOT r.mixed AND r.invalid_count = 0
                                    AND r.field_name IS NOT DISTINCT FROM w.field)),
       NULL::timestamptz, NULL::text, NULL::jsonb
FROM unnest($3::text[], $4::text[]) AS w(code, field)
JOIN event_rollups r
  ON r.organization_id = $1 AND r.external_subscription_id = $2 AND r.code = w.code
 AND r.bucket >= $5 AND r.bucket < $6
GROUP BY w.code
UNION ALL
SELECT code, NULL, NULL, NULL, NULL, NULL, timestamp, transaction_id, properties FROM events
WHERE organization_id = $1 AND external_subscription_id = $2 AND code = ANY($3::text[])
  AND ((timestamp >= $7 AND timestamp < $8) OR (timestamp >= $9 AND timestamp < $10))
"""


def floor_hour(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    return utc.replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    floor = floor_hour(moment)
    return floor if floor == moment else floor + _HOUR


async def summaries(
    conn: Any,
    organization_id: uuid.UUID,
    external_subscription_id: str,
    wanted: Mapping[str, str | None],
    start: datetime,
    end: datetime,
) -> dict[str, EventSummary | None]:
    """`EventStore.summaries` on an asyncpg connection."""
    codes = list(wanted)
    first, last = ceil_hour(start), floor_hour(end)
    if first >= last:  # under two hours: no whole bucket, all raw
        first = last = start
        edges = [(start, end), (end, end)]
    else:
        edges = [(start, first), (last, end)]
    rows = await conn.fetch(
        _SUMMARY,
        organization_id,
        external_subscription_id,
        codes,
        [wanted[c] for c in codes],
        first,
        last,
        edges[0][0],
        edges[0][1],
        edges[1][0],
        edges[1][1],
    )
    found: dict[str, EventSummary | None] = dict.fromkeys(codes, EventSummary())
    raw: dict[str, list[UsageEvent]] = {}
    for code, events, values, total, maximum, ok, timestamp, transaction_id, properties in rows:
        if timestamp is not None:
            event = UsageEvent(timestamp, usage_properties(_decoded(properties)), transaction_id)
            raw.setdefault(code, []).append(event)
        elif ok:
            found[code] = EventSummary(int(events), int(values), Decimal(total), maximum)
        else:
            found[code] = None
    for code, events in raw.items():
        rolled = found[code]
        if rolled is None:
            continue
        try:
            edge = summarize(events, wanted[code], start, end)
        except ValueError:  # a value the pure core refuses: the caller reads it and fails
            found[code] = None
            continue
        found[code] = rolled.combined(edge)
    return found


def _decoded(properties: Any) -> dict[str, Any]:
    # SQLAlchemy's asyncpg dialect installs a jsonb codec that already decodes.
    return properties if isinstance(properties, dict) else dict(json.loads(properties))
