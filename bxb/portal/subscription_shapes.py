"""What a customer sees of its subscriptions, the plans it may move to, its usage and its
payment method through the portal (beside `shapes`: the same rule, allowlists).

Left out: lago ids (of the subscription, customer, plan, charges, billable metrics: the
organization's internal ids), provider ids (Stripe's customer and payment method ids),
the organization's metadata, test clocks. A past period names its invoice by number and
by the invoice's id (the portal's invoice routes take it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bxb.lago_objects.formats import iso
from bxb.models import Plan, Subscription
from bxb.payments.checkout import PaymentMethod


def _pick(source: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {key: source[key] for key in keys if key in source}


def portal_subscription_object(row: Subscription, plan: Plan | None) -> dict[str, Any]:
    return {
        "external_id": row.external_id,
        "name": row.name,
        "status": row.status,
        "billing_time": row.billing_time,
        "plan": portal_plan_object(plan, with_charges=False) if plan else {"code": row.plan_code},
        "plan_amount_cents": row.plan_amount_cents,
        "plan_amount_currency": row.plan_amount_currency,
        "subscription_at": iso(row.subscription_at),
        "started_at": iso(row.started_at),
        "trial_ended_at": iso(row.trial_ended_at),
        "ending_at": iso(row.ending_at),
        "terminated_at": iso(row.terminated_at),
        "canceled_at": iso(row.canceled_at),
        "previous_plan_code": row.previous_plan_code,
        "next_plan_code": row.next_plan_code,
        "downgrade_plan_date": (
            row.downgrade_plan_date.date().isoformat() if row.downgrade_plan_date else None
        ),
        "current_billing_period_started_at": iso(row.current_billing_period_started_at),
        "current_billing_period_ending_at": iso(row.current_billing_period_ending_at),
        "paused_at": iso(row.paused_at),
        "resume_at": iso(row.resume_at),
        "scheduled_pause_at": iso(row.scheduled_pause_at),
    }


def portal_plan_object(plan: Plan, *, with_charges: bool = True) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "code": plan.code,
        "name": plan.name,
        "invoice_display_name": plan.invoice_display_name,
        "description": plan.description,
        "interval": plan.interval,
        "amount_cents": plan.amount_cents,
        "amount_currency": plan.amount_currency,
        "pay_in_advance": plan.pay_in_advance,
        "trial_period": float(plan.trial_period) if plan.trial_period is not None else None,
    }
    if with_charges:
        shown["charges"] = [
            {
                "billable_metric": {
                    "code": charge.billable_metric.code,
                    "name": charge.billable_metric.name,
                },
                "charge_model": charge.charge_model,
                "invoice_display_name": charge.invoice_display_name,
                "pay_in_advance": charge.pay_in_advance,
                "properties": charge.properties,
            }
            for charge in plan.charges
            if charge.deleted_at is None
        ]
    return shown


_USAGE = (
    "from_datetime",
    "to_datetime",
    "issuing_date",
    "currency",
    "amount_cents",
    "projected_amount_cents",
    "taxes_amount_cents",
    "total_amount_cents",
)
_CHARGE_USAGE = (
    "units",
    "projected_units",
    "events_count",
    "amount_cents",
    "projected_amount_cents",
    "amount_currency",
)
_FILTER_USAGE = (
    "invoice_display_name",
    "values",
    "units",
    "projected_units",
    "events_count",
    "amount_cents",
    "projected_amount_cents",
)


def portal_usage_object(usage: Mapping[str, Any]) -> dict[str, Any]:
    """A usage object (current, projected or past, in Lago's shape) as the customer sees it:
    metrics and charges by code and name, never by the organization's ids."""
    shown = _pick(usage, _USAGE)
    if usage.get("lago_invoice_id"):
        shown["invoice"] = {"lago_id": usage["lago_invoice_id"]}
    shown["charges_usage"] = [
        {
            **_pick(charge, _CHARGE_USAGE),
            "billable_metric": _pick(charge["billable_metric"], ("code", "name")),
            "charge": _pick(charge["charge"], ("charge_model", "invoice_display_name")),
            "filters": [_pick(f, _FILTER_USAGE) for f in charge.get("filters", [])],
        }
        for charge in usage["charges_usage"]
    ]
    return shown


def portal_payment_method_object(method: PaymentMethod | None) -> dict[str, Any] | None:
    if method is None:
        return None
    return {
        "payment_provider": "stripe",
        "type": method.type,
        "brand": method.brand,
        "last4": method.last4,
        "exp_month": method.exp_month,
        "exp_year": method.exp_year,
        "is_default": True,
    }
