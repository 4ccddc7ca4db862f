"""Lago's PlanObject, with its ChargeObjects and minimum commitment."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from bxb.lago_objects.fixed_charges import fixed_charge_object
from bxb.lago_objects.formats import iso
from bxb.lago_objects.taxes import tax_object
from bxb.lago_objects.usage_thresholds import usage_threshold_object
from bxb.models import Charge, Plan, Tax


def _taxes(taxes: Sequence[Tax]) -> list[dict[str, Any]]:
    return [tax_object(tax) for tax in sorted(taxes, key=lambda t: t.code)]


def charge_object(charge: Charge, taxes: Sequence[Tax]) -> dict[str, Any]:
    return {
        "lago_id": str(charge.id),
        "lago_billable_metric_id": str(charge.billable_metric_id),
        "billable_metric_code": charge.billable_metric.code,
        "code": charge.code,
        "invoice_display_name": charge.invoice_display_name,
        "created_at": iso(charge.created_at),
        "charge_model": charge.charge_model,
        "pay_in_advance": charge.pay_in_advance,
        "invoiceable": charge.invoiceable,
        "regroup_paid_fees": charge.regroup_paid_fees,
        "prorated": charge.prorated,
        "min_amount_cents": charge.min_amount_cents,
        "properties": charge.properties,
        "filters": [
            {
                "invoice_display_name": f.invoice_display_name,
                "properties": f.properties,
                "values": f.values,
            }
            for f in charge.filters
        ],
        "taxes": _taxes(taxes),
        "applied_pricing_unit": None,
        "accepts_target_wallet": False,
        "lago_parent_id": None if charge.parent_id is None else str(charge.parent_id),
    }


def minimum_commitment_object(plan: Plan, taxes: Sequence[Tax]) -> dict[str, Any] | None:
    if plan.minimum_commitment_amount_cents is None:
        return None
    return {
        # The commitment lives on the plan row; its id is derived, stable, and unique.
        "lago_id": str(uuid.uuid5(plan.id, "minimum_commitment")),
        "plan_code": plan.code,
        "amount_cents": plan.minimum_commitment_amount_cents,
        "invoice_display_name": plan.minimum_commitment_invoice_display_name,
        "interval": plan.interval,
        "created_at": iso(plan.created_at),
        "updated_at": iso(plan.updated_at),
        "taxes": _taxes(taxes),
    }


def plan_object(plan: Plan, taxes: Mapping[uuid.UUID | str, Sequence[Tax]]) -> dict[str, Any]:
    """``taxes`` maps a plan or charge id, or ``"commitment:<plan id>"``, to its taxes."""
    return {
        "lago_id": str(plan.id),
        "name": plan.name,
        "invoice_display_name": plan.invoice_display_name,
        "created_at": iso(plan.created_at),
        "code": plan.code,
        "interval": plan.interval,
        "description": plan.description,
        "amount_cents": plan.amount_cents,
        "amount_currency": plan.amount_currency,
        "trial_period": None if plan.trial_period is None else float(plan.trial_period),
        "pay_in_advance": plan.pay_in_advance,
        "bill_charges_monthly": plan.bill_charges_monthly,
        "bill_fixed_charges_monthly": None,
        "minimum_commitment": minimum_commitment_object(
            plan, taxes.get(f"commitment:{plan.id}", ())
        ),
        "charges": [charge_object(c, taxes.get(c.id, ())) for c in plan.charges],
        "fixed_charges": [fixed_charge_object(f, taxes.get(f.id, ())) for f in plan.fixed_charges],
        "taxes": _taxes(taxes.get(plan.id, ())),
        "usage_thresholds": [usage_threshold_object(t) for t in plan.usage_thresholds],
        "metadata": plan.metadata_,
    }
