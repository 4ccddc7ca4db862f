"""What pricing a subscription's open period needs from the event store: per charge, its
aggregate already summarized by the store where it can be (`EventStore.summaries`), and
the raw events of every other metric code.

Current usage (the API's, the portal's) and usage alerts read through here, so a
subscription with a million events in its period is priced from a few hundred rollup
rows instead of a million events. Charges that need the events themselves (filters,
percentage models, unique count, latest, weighted sum) and periods with a pause read the
events, as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bxb.billing.aggregation import AggregationResult, AggregationType, UsageEvent
from bxb.billing.event_summary import summarizable
from bxb.billing.pauses import Span, clipped, outside_pauses
from bxb.billing.usage import UsageCharge
from bxb.events.store import EventStore


@dataclass(frozen=True)
class PeriodInputs:
    """`compute_customer_usage`'s ``events_by_metric`` and ``measured``."""

    events: dict[str, list[UsageEvent]]
    measured: dict[str, AggregationResult]


async def period_inputs(
    store: EventStore,
    organization_id: uuid.UUID,
    external_subscription_id: str,
    charges: Sequence[UsageCharge],
    start: datetime,
    end: datetime,
    paused: Sequence[Span] = (),
) -> PeriodInputs:
    """Events during a pause are not billed, so not counted (such periods are read raw)."""
    wanted: dict[str, str | None] = {}
    raw_codes: set[str] = set()
    pause_inside = bool(clipped(paused, start, end))
    for charge in charges:
        code = charge.billable_metric_code
        if not pause_inside and summarizable(
            charge.aggregation_type, charge.charge_model, bool(charge.filters)
        ):
            count_only = charge.aggregation_type is AggregationType.COUNT
            wanted[code] = None if count_only else charge.field_name
        else:
            raw_codes.add(code)
    for code in raw_codes:  # read raw for one charge: read raw for all
        wanted.pop(code, None)
    found = await store.summaries(organization_id, external_subscription_id, wanted, start, end)
    measured: dict[str, AggregationResult] = {}
    for charge in charges:
        summary = found.get(charge.billable_metric_code)
        if summary is not None:
            measured[charge.charge_id] = summary.result(charge.aggregation_type)
    fetched = {
        code: outside_pauses(
            await store.fetch(organization_id, external_subscription_id, code, start, end),
            paused,
        )
        for code in {c.billable_metric_code for c in charges if c.charge_id not in measured}
    }
    return PeriodInputs(fetched, measured)
