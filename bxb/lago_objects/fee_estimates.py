"""Lago's FeeEstimateObject: the fee one event would make on a pay-in-advance charge,
never stored (`POST /events/estimate_instant_fees` and its batch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bxb.billing.instant_estimates import InstantEstimate


@dataclass(frozen=True)
class EstimatedCharge:
    """What the estimate shows of the charge (and the filter) that priced the event."""

    charge_id: str
    invoice_display_name: str | None
    invoiceable: bool
    metric_id: str
    metric_code: str
    metric_name: str
    filter_id: str | None = None
    filter_values: dict[str, list[str]] | None = None
    filter_invoice_display_name: str | None = None


def fee_estimate_object(
    *,
    subscription_id: str,
    external_subscription_id: str,
    customer_id: str,
    external_customer_id: str,
    charge: EstimatedCharge,
    estimate: InstantEstimate,
    currency: str,
    transaction_id: str,
) -> dict[str, Any]:
    unit_amount = float(estimate.unit_amount_cents)
    return {
        "lago_id": None,
        "lago_charge_id": charge.charge_id,
        "lago_charge_filter_id": charge.filter_id,
        "lago_invoice_id": None,
        "lago_true_up_fee_id": None,
        "lago_true_up_parent_fee_id": None,
        "lago_subscription_id": subscription_id,
        "external_subscription_id": external_subscription_id,
        "lago_customer_id": customer_id,
        "external_customer_id": external_customer_id,
        "item": {
            "type": "charge",
            "code": charge.metric_code,
            "name": charge.metric_name,
            "description": charge.metric_name,
            "invoice_display_name": charge.invoice_display_name or charge.metric_name,
            "filters": charge.filter_values,
            "filter_invoice_display_name": charge.filter_invoice_display_name,
            "lago_item_id": charge.metric_id,
            "item_type": "BillableMetric",
            "grouped_by": {},
        },
        "pay_in_advance": True,
        "invoiceable": charge.invoiceable,
        "amount_cents": estimate.amount_cents,
        "amount_currency": currency,
        # Lago shows the exact amount here (before rounding), in major units.
        "precise_amount": float(estimate.amount),
        "precise_total_amount": float(estimate.amount),
        "taxes_amount_cents": 0,
        "taxes_precise_amount": 0,
        "taxes_rate": 0,
        "total_amount_cents": estimate.amount_cents,
        "total_amount_currency": currency,
        "units": str(estimate.units),
        "description": None,
        # As Lago: the rounded amount over the units, in minor units.
        "precise_unit_amount": unit_amount,
        "precise_coupons_amount_cents": "0.0",
        "events_count": 1,
        "payment_status": "pending",
        "created_at": None,
        "succeeded_at": None,
        "failed_at": None,
        "refunded_at": None,
        "amount_details": None,
        "event_transaction_id": transaction_id,
    }
