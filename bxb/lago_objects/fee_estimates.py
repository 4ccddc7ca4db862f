"""Lago's FeeEstimateObject: the fee one event would make on a pay-in-advance charge,
never stored (`POST /events/estimate_instant_fees` and its batch)."""

from __future__ import annotations

from typing import Any

from bxb.billing.instant_estimates import InstantEstimate
from bxb.workflows.state import ChargeFilterSnapshot, ChargeSnapshot


def fee_estimate_object(
    *,
    subscription_id: str,
    external_subscription_id: str,
    customer_id: str,
    external_customer_id: str,
    charge: ChargeSnapshot,
    charge_filter: ChargeFilterSnapshot | None,
    estimate: InstantEstimate,
    currency: str,
    transaction_id: str,
) -> dict[str, Any]:
    metric = charge.billable_metric
    unit_amount = float(estimate.unit_amount_cents)
    return {
        "lago_id": None,
        "lago_charge_id": str(charge.id),
        "lago_charge_filter_id": str(charge_filter.id) if charge_filter else None,
        "lago_invoice_id": None,
        "lago_true_up_fee_id": None,
        "lago_true_up_parent_fee_id": None,
        "lago_subscription_id": subscription_id,
        "external_subscription_id": external_subscription_id,
        "lago_customer_id": customer_id,
        "external_customer_id": external_customer_id,
        "item": {
            "type": "charge",
            "code": metric.code,
            "name": metric.name,
            "description": metric.name,
            "invoice_display_name": charge.invoice_display_name or metric.name,
            "filters": charge_filter.values if charge_filter else None,
            "filter_invoice_display_name": (
                charge_filter.invoice_display_name if charge_filter else None
            ),
            "lago_item_id": str(metric.id),
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
