"""Lago's usage objects built from invoiced fees (past usage, `V1::Customers::
PastUsageSerializer` and `ChargeUsageSerializer`). Current and projected usage are
built by the pure core (billing.usage, billing.projection) from events."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bxb.lago_objects.formats import decimal_string, iso
from bxb.models import Charge, Fee, Invoice


def _units(fees: Sequence[Fee]) -> str:
    return decimal_string(sum((f.units for f in fees), Decimal(0))) or "0"


def _usage_numbers(fees: Sequence[Fee]) -> dict[str, Any]:
    units = _units(fees)
    return {
        "units": units,
        "total_aggregated_units": units,
        "events_count": sum(f.events_count or 0 for f in fees),
        "amount_cents": sum(f.amount_cents for f in fees),
    }


def _filters(fees: Sequence[Fee], charge: Charge) -> list[dict[str, Any]]:
    """One entry per charge filter billed (and one, `values` null, for the events no
    filter matched), as Lago lists them for charges that have filters."""
    if not charge.filters:
        return []
    by_filter: dict[uuid.UUID | None, list[Fee]] = {}
    for fee in fees:
        by_filter.setdefault(fee.charge_filter_id, []).append(fee)
    filters = {f.id: f for f in charge.filters}
    entries = []
    for filter_id, grouped in by_filter.items():
        charge_filter = filters.get(filter_id) if filter_id else None
        entries.append(
            {
                **_usage_numbers(grouped),
                "invoice_display_name": charge_filter.invoice_display_name
                if charge_filter
                else None,
                "values": dict(charge_filter.values) if charge_filter else None,
            }
        )
    return entries


def charges_usage(
    fees: Sequence[Fee], charges: Mapping[uuid.UUID, Charge], currency: str
) -> list[dict[str, Any]]:
    by_charge: dict[uuid.UUID, list[Fee]] = {}
    for fee in fees:
        if fee.charge_id is not None and fee.charge_id in charges:
            by_charge.setdefault(fee.charge_id, []).append(fee)
    usage = []
    for charge_id, grouped in by_charge.items():
        charge = charges[charge_id]
        metric = charge.billable_metric
        usage.append(
            {
                **_usage_numbers(grouped),
                "amount_currency": currency,
                "charge": {
                    "lago_id": str(charge.id),
                    "code": charge.code,
                    "charge_model": charge.charge_model,
                    "invoice_display_name": charge.invoice_display_name,
                },
                "billable_metric": {
                    "lago_id": str(metric.id),
                    "name": metric.name,
                    "code": metric.code,
                    "aggregation_type": metric.aggregation_type,
                },
                "filters": _filters(grouped, charge),
                "grouped_usage": [],
            }
        )
    return usage


def past_usage_object(
    invoice: Invoice,
    window: tuple[datetime, datetime],
    fees: Sequence[Fee],
    charges: Mapping[uuid.UUID, Charge],
) -> dict[str, Any]:
    """One of Lago's `usage_periods`: the usage an invoice billed for one subscription.

    The amounts are those of the charge fees listed (Lago puts the invoice's whole
    `fees_amount_cents` there, subscription fee included; bxb keeps the usage's own so
    that they add up with `charges_usage`)."""
    amount = sum(f.amount_cents for f in fees)
    taxes = sum(f.taxes_amount_cents for f in fees)
    return {
        "from_datetime": iso(window[0]),
        "to_datetime": iso(window[1] - timedelta(seconds=1)),  # fees hold the exclusive end
        "issuing_date": invoice.issuing_date.isoformat(),
        "lago_invoice_id": str(invoice.id),
        "currency": invoice.currency,
        "amount_cents": amount,
        "taxes_amount_cents": taxes,
        "total_amount_cents": amount + taxes,
        "charges_usage": charges_usage(fees, charges, invoice.currency),
    }
