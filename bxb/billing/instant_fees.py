"""Fees of pay-in-advance charges, one per event, as Lago computes them (pure).

Lago prices an in-advance event as the difference it makes: the charge model applied to
the period's usage with the event, minus the same without it
(`Charges::ApplyPayInAdvanceChargeModelService`), rounded once to the currency. So every
charge model keeps its own meaning per event: a standard charge bills the event's units,
a package charge bills a package when the event opens one (and nothing while it fits in a
package already paid), graduated (and graduated percentage) tiers bill at the tier the
event reaches, flat amounts included when it enters a tier, and a percentage charge its
rate on the event's amount with its fixed amount per event, free units and events, and
per-transaction minimum and maximum. Volume charges cannot be paid in advance (Lago
refuses them, and so does bxb's plan validation).

"Without it" is the usage already billed in advance in the period (for the event's filter,
or the unmatched remainder), and new events are billed in (timestamp, transaction id)
order: the fees of a period always add up to what the charge model makes of all its
events together, whatever order they arrived in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bxb.billing.aggregation import AggregationType, UsageEvent, parse_numeric
from bxb.billing.charge_amounts import ChargeAmount
from bxb.billing.charges import Charge, charge_from_properties
from bxb.billing.filters import DEFAULT_BUCKET, assign_events_to_filters
from bxb.billing.money import round_minor
from bxb.billing.usage import UsageCharge

# Lago's AGGREGATION_TYPES_PAYABLE_IN_ADVANCE (custom_agg has no counterpart in bxb).
PAYABLE_IN_ADVANCE = frozenset(
    {AggregationType.COUNT, AggregationType.SUM, AggregationType.UNIQUE_COUNT}
)


@dataclass(frozen=True)
class InstantFee:
    """The fee of one event; ``bucket`` is its filter's index (None: no filter matched)."""

    transaction_id: str
    timestamp: datetime
    bucket: int | None
    amount_cents: int
    precise_amount_minor: Decimal  # exact, before rounding
    units: Decimal  # what the event added to the aggregation


def bills_event(charge: UsageCharge, event: UsageEvent) -> bool:
    """Lago creates no in-advance fee for an event without the metric's field (but for
    count aggregations, which read no field)."""
    if charge.aggregation_type is AggregationType.COUNT:
        return True
    return charge.field_name is not None and event.properties.get(charge.field_name) is not None


def instant_fees(
    charge: UsageCharge,
    billed: Sequence[UsageEvent],
    new: Sequence[UsageEvent],
    start: datetime,
    end: datetime,
    currency: str,
) -> list[InstantFee]:
    """The fees of `new` events of ``[start, end)`` given the events `billed` before.

    The usage is kept running (a sum, a count, the distinct values), so each event costs
    one pricing, not a new aggregation of the period (percentage charges also keep each
    event's value, which their free events and per-transaction bounds read).
    """
    model = charge_from_properties(charge.charge_model, charge.properties)
    per_filter = [charge_from_properties(charge.charge_model, f.properties) for f in charge.filters]
    keep_values = charge.charge_model == "percentage"
    running: dict[int | None, _Running] = {}
    for bucket, events in assign_events_to_filters(billed, charge.filters).items():
        usage = running[bucket] = _Running(charge, keep_values)
        for event in sorted(events, key=lambda e: (e.timestamp, e.transaction_id)):
            if start <= event.timestamp < end and bills_event(charge, event):
                usage.add(event)
    fees = []
    for event in sorted(new, key=lambda e: (e.timestamp, e.transaction_id)):
        if not (start <= event.timestamp < end) or not bills_event(charge, event):
            continue
        bucket = _bucket(charge, event)
        priced = model if bucket is None else per_filter[bucket]
        usage = running[bucket]
        before = usage.price(priced, currency)
        usage.add(event)
        after = usage.price(priced, currency)
        exact = after.exact_amount_minor - before.exact_amount_minor
        fees.append(
            InstantFee(
                transaction_id=event.transaction_id,
                timestamp=event.timestamp,
                bucket=bucket,
                amount_cents=round_minor(exact),
                precise_amount_minor=exact,
                units=after.units - before.units,
            )
        )
    return fees


class _Running:
    """A filter's usage so far, as `bxb.billing.aggregation.aggregate` would measure it."""

    def __init__(self, charge: UsageCharge, keep_values: bool) -> None:
        self.kind = charge.aggregation_type
        self.field = charge.field_name
        self.keep_values = keep_values
        self.value = Decimal(0)
        self.count = 0
        self.values: list[Decimal] = []
        self.distinct: set[str] = set()

    def add(self, event: UsageEvent) -> None:
        self.count += 1
        if self.kind is AggregationType.COUNT:
            amount = Decimal(1)
        elif self.kind is AggregationType.UNIQUE_COUNT:
            assert self.field is not None
            self.distinct.add(str(event.properties[self.field]))
            self.value = Decimal(len(self.distinct))
            return
        else:
            assert self.field is not None
            amount = parse_numeric(event.properties[self.field])
        self.value += amount
        if self.keep_values:
            self.values.append(amount)

    def price(self, model: Charge, currency: str) -> ChargeAmount:
        return model.compute(
            self.value, currency, per_event_values=tuple(self.values), events_count=self.count
        )


def _bucket(charge: UsageCharge, event: UsageEvent) -> int | None:
    placed = assign_events_to_filters([event], charge.filters)
    return next((index for index, events in placed.items() if events), DEFAULT_BUCKET)
