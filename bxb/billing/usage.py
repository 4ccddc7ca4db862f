"""Current usage of one subscription period, in Lago's CustomerUsage shape.

Pure: the caller supplies the plan's charges, the period's events (already limited to the
subscription, grouped by billable metric code), the currency and the taxes.

Per charge, events are split by the charge's filters (the most specific filter wins,
``filters.assign_events_to_filters``); each filter is aggregated and priced with its own
properties, and events matching no filter are priced with the charge's own properties.
Every such part is a fee of its own, rounded once. Taxes are the charge's own taxes when it
has some, else the ones passed for the whole usage (plan, customer or organization level,
resolved by the caller with ``taxes.resolve_applicable_taxes``); as on an invoice (Lago
computes current usage as an invoice that is not saved), each tax is rounded once over all
the parts it applies to, and each part's ``taxes_amount_cents`` is its share of that.

Not applied here (they belong to the invoice at period end): charge minimums
(``min_amount_cents``), coupons, proration, and carrying a recurring metric's level over
from the previous period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bxb.billing.aggregation import AggregationResult, AggregationType, UsageEvent, aggregate
from bxb.billing.charge_amounts import ChargeAmount
from bxb.billing.charges import charge_from_properties
from bxb.billing.expressions import apply_rounding
from bxb.billing.filters import DEFAULT_BUCKET, ChargeFilter, assign_events_to_filters
from bxb.billing.money import currency_exponent
from bxb.billing.taxes import Tax, TaxableFee, compute_invoice_taxes

_ZERO = Decimal(0)


@dataclass(frozen=True)
class UsageCharge:
    """One charge of the plan, with what usage needs to know of its billable metric."""

    charge_id: str
    billable_metric_id: str
    billable_metric_code: str
    billable_metric_name: str
    aggregation_type: AggregationType
    field_name: str | None
    charge_model: str
    properties: Mapping[str, Any]
    filters: tuple[ChargeFilter, ...] = ()
    invoice_display_name: str | None = None
    taxes: tuple[Tax, ...] = ()  # the charge's own taxes; empty: the usage-wide ones
    # The metric's rounding of its aggregated units (Lago's ApplyRoundingService).
    rounding_function: str | None = None
    rounding_precision: int | None = None


@dataclass(frozen=True)
class FilterUsage:
    """Usage of one charge filter; ``values`` is None for events that matched no filter."""

    values: Mapping[str, tuple[str, ...]] | None
    invoice_display_name: str | None
    units: Decimal
    events_count: int
    amount_cents: int
    taxes_amount_cents: int
    taxes: tuple[Tax, ...] = field(default=(), repr=False, compare=False)
    # The fee before its rounding (projected usage scales it for the percentage models).
    exact_amount_minor: Decimal = field(default=_ZERO, repr=False, compare=False)


@dataclass(frozen=True)
class ChargeUsage:
    charge: UsageCharge
    units: Decimal
    events_count: int
    amount_cents: int
    taxes_amount_cents: int
    filters: tuple[FilterUsage, ...] = ()  # empty when the charge has no filters
    # Every part priced (filters, then the unmatched remainder), listed or not.
    parts: tuple[FilterUsage, ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True)
class CustomerUsage:
    from_datetime: datetime
    to_datetime: datetime  # exclusive end of the period
    issuing_date: date
    currency: str
    charges_usage: tuple[ChargeUsage, ...] = field(default_factory=tuple)

    @property
    def amount_cents(self) -> int:
        return sum(usage.amount_cents for usage in self.charges_usage)

    @property
    def taxes_amount_cents(self) -> int:
        return sum(usage.taxes_amount_cents for usage in self.charges_usage)

    @property
    def total_amount_cents(self) -> int:
        return self.amount_cents + self.taxes_amount_cents

    def to_lago_dict(self) -> dict[str, Any]:
        """Lago's CustomerUsageObject. Lago shows the period's end as its last second."""
        return {
            "from_datetime": _iso(self.from_datetime),
            "to_datetime": _iso(self.to_datetime - timedelta(seconds=1)),
            "issuing_date": self.issuing_date.isoformat(),
            "lago_invoice_id": None,
            "currency": self.currency,
            "amount_cents": self.amount_cents,
            "taxes_amount_cents": self.taxes_amount_cents,
            "total_amount_cents": self.total_amount_cents,
            "charges_usage": [_charge_usage_dict(u, self.currency) for u in self.charges_usage],
        }


def compute_customer_usage(
    charges: Sequence[UsageCharge],
    events_by_metric: Mapping[str, Sequence[UsageEvent]],
    from_datetime: datetime,
    to_datetime: datetime,
    currency: str,
    *,
    taxes: Sequence[Tax] = (),
    issuing_date: date | None = None,
    measured: Mapping[str, AggregationResult] | None = None,
) -> CustomerUsage:
    """Usage of ``[from_datetime, to_datetime)``; events outside it are ignored.

    ``issuing_date`` defaults to the (UTC) date the period ends, when Lago would invoice.
    ``measured`` gives, per charge id, its metric's aggregate over the period already
    computed (from rolled-up events, `bxb.billing.event_summary`): such a charge (one
    without filters) is priced from it, and its events are not needed.
    """
    currency_exponent(currency)  # an unknown currency fails even without usage
    usages = tuple(
        _charge_usage(
            charge,
            events_by_metric.get(charge.billable_metric_code, ()),
            from_datetime,
            to_datetime,
            currency,
            tuple(charge.taxes or taxes),
            (measured or {}).get(charge.charge_id),
        )
        for charge in charges
    )
    issued = issuing_date or to_datetime.astimezone(UTC).date()
    return CustomerUsage(from_datetime, to_datetime, issued, currency, _taxed(usages))


def _taxed(usages: tuple[ChargeUsage, ...]) -> tuple[ChargeUsage, ...]:
    """Each part's tax as its share of the usage's taxes, each rounded once (see taxes)."""
    parts = [(u, p) for u in usages for p in u.parts]
    taxes = compute_invoice_taxes(
        [TaxableFee(str(i), p.amount_cents, p.taxes) for i, (_, p) in enumerate(parts)]
    )
    shares = iter(fee.taxes_amount_cents for fee in taxes.fees)
    taxed: list[ChargeUsage] = []
    for usage in usages:
        own = tuple(replace(part, taxes_amount_cents=next(shares)) for part in usage.parts)
        taxed.append(
            replace(
                usage,
                taxes_amount_cents=sum(part.taxes_amount_cents for part in own),
                filters=own if usage.filters else (),
                parts=own,
            )
        )
    return tuple(taxed)


def _charge_usage(
    charge: UsageCharge,
    events: Sequence[UsageEvent],
    start: datetime,
    end: datetime,
    currency: str,
    taxes: tuple[Tax, ...],
    measured: AggregationResult | None = None,
) -> ChargeUsage:
    if measured is not None and charge.filters:
        raise ValueError("a charge with filters is measured from its events")
    buckets = assign_events_to_filters(events, charge.filters)
    parts: list[FilterUsage] = []
    for index, charge_filter in enumerate(charge.filters):
        amount = _price(charge, charge_filter.properties, buckets[index], start, end, currency)
        parts.append(_part(charge_filter.values, charge_filter.invoice_display_name, amount, taxes))
    default = _price(
        charge, charge.properties, buckets[DEFAULT_BUCKET], start, end, currency, measured
    )
    parts.append(_part(None, None, default, taxes))
    return ChargeUsage(
        charge=charge,
        units=sum((part.units for part in parts), _ZERO),
        events_count=sum(part.events_count for part in parts),
        amount_cents=sum(part.amount_cents for part in parts),
        taxes_amount_cents=sum(part.taxes_amount_cents for part in parts),
        # Lago lists filters (with the unmatched remainder) only for charges that have some.
        filters=tuple(parts) if charge.filters else (),
        parts=tuple(parts),
    )


def _price(
    charge: UsageCharge,
    properties: Mapping[str, Any],
    events: Sequence[UsageEvent],
    start: datetime,
    end: datetime,
    currency: str,
    measured: AggregationResult | None = None,
) -> ChargeAmount:
    if measured is None:
        measured = aggregate(charge.aggregation_type, events, charge.field_name, start, end)
    # Lago rounds the units of a period (not each event, nor in-advance fees).
    units = apply_rounding(measured.value, charge.rounding_function, charge.rounding_precision)
    return charge_from_properties(charge.charge_model, properties).compute(
        units,
        currency,
        per_event_values=measured.per_event_values,
        events_count=measured.event_count,
    )


def _part(
    values: Mapping[str, tuple[str, ...]] | None,
    display_name: str | None,
    amount: ChargeAmount,
    taxes: tuple[Tax, ...],
) -> FilterUsage:
    return FilterUsage(
        values=values,
        invoice_display_name=display_name,
        units=amount.units,
        events_count=amount.events_count,
        amount_cents=amount.amount_cents,
        taxes_amount_cents=0,  # set by _taxed, over the whole usage
        taxes=taxes,
        exact_amount_minor=amount.exact_amount_minor,
    )


# --- Lago's JSON -------------------------------------------------------------------------


def iso_instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def units_text(value: Decimal) -> str:
    """Lago sends units as decimal strings, never in exponent notation."""
    return format(value.normalize(), "f")


_iso = iso_instant
_units = units_text


def _filter_usage_dict(part: FilterUsage) -> dict[str, Any]:
    return {
        "invoice_display_name": part.invoice_display_name,
        "values": None if part.values is None else {k: list(v) for k, v in part.values.items()},
        "units": _units(part.units),
        "total_aggregated_units": _units(part.units),  # differs only for prorated charges
        "events_count": part.events_count,
        "amount_cents": part.amount_cents,
    }


def _charge_usage_dict(usage: ChargeUsage, currency: str) -> dict[str, Any]:
    charge = usage.charge
    return {
        "units": _units(usage.units),
        "total_aggregated_units": _units(usage.units),
        "events_count": usage.events_count,
        "amount_cents": usage.amount_cents,
        "amount_currency": currency,
        "charge": {
            "lago_id": charge.charge_id,
            "charge_model": charge.charge_model,
            "invoice_display_name": charge.invoice_display_name,
        },
        "billable_metric": {
            "lago_id": charge.billable_metric_id,
            "name": charge.billable_metric_name,
            "code": charge.billable_metric_code,
            "aggregation_type": str(charge.aggregation_type),
        },
        "filters": [_filter_usage_dict(part) for part in usage.filters],
        "grouped_usage": [],
    }
