"""What a customer sees through the portal: every portal response is built here.

Allowlists, not Lago's objects with fields removed: a field added to Lago's objects later
does not reach customers by accident. Left out on purpose: internal ids of the organization
(lago ids of the customer, the organization, subscriptions' plans' internals), provider
keys and provider customer ids, integration data, webhook secrets, metadata the
organization keeps (only entries shown on invoices are shown), test clocks, and anything of
another customer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bxb.billing.money import from_minor_units
from bxb.lago_objects.formats import decimal_string, iso
from bxb.models import (
    AppliedCoupon,
    Customer,
    Organization,
    Plan,
    Subscription,
    Wallet,
    WalletTransaction,
)
from bxb.payments.checkout import PaymentMethod

# Billing details a customer may change from the portal (PUT /api/v1/portal/profile).
EDITABLE_PROFILE_FIELDS = (
    "name",
    "firstname",
    "lastname",
    "email",
    "phone",
    "legal_name",
    "legal_number",
    "tax_identification_number",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zipcode",
    "country",
)


def organization_object(organization: Organization) -> dict[str, Any]:
    """The seller as its invoices show it."""
    return {
        "name": organization.name,
        "legal_name": organization.legal_name,
        "email": organization.email,
        "address_line1": organization.address_line1,
        "address_line2": organization.address_line2,
        "city": organization.city,
        "state": organization.state,
        "zipcode": organization.zipcode,
        "country": organization.country,
        "logo_url": organization.logo_url,
        "brand_color": organization.brand_color,
    }


def profile_object(customer: Customer, organization: Organization) -> dict[str, Any]:
    shown = {field: getattr(customer, field) for field in EDITABLE_PROFILE_FIELDS}
    return {
        "external_id": customer.external_id,
        "customer_type": customer.customer_type,
        **shown,
        "currency": customer.currency,
        "timezone": customer.timezone,
        "applicable_timezone": customer.timezone or organization.timezone,
        "document_locale": customer.document_locale or organization.document_locale,
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
        "organization": organization_object(organization),
    }


# --- invoices ------------------------------------------------------------------------------

# The invoice statuses a customer sees: drafts are the organization's work in progress.
VISIBLE_INVOICE_STATUSES = ("finalized", "voided")

_INVOICE_FIELDS = (
    "lago_id",
    "number",
    "issuing_date",
    "payment_due_date",
    "payment_overdue",
    "invoice_type",
    "status",
    "payment_status",
    "currency",
    "fees_amount_cents",
    "coupons_amount_cents",
    "credit_notes_amount_cents",
    "sub_total_excluding_taxes_amount_cents",
    "taxes_amount_cents",
    "sub_total_including_taxes_amount_cents",
    "prepaid_credit_amount_cents",
    "progressive_billing_credit_amount_cents",
    "total_amount_cents",
    "total_paid_amount_cents",
    "total_due_amount_cents",
    "voided_at",
    "created_at",
)
_FEE_FIELDS = (
    "invoice_display_name",
    "description",
    "units",
    "amount_cents",
    "amount_currency",
    "taxes_amount_cents",
    "taxes_rate",
    "total_amount_cents",
    "from_date",
    "to_date",
)
_APPLIED_TAX_FIELDS = ("tax_name", "tax_code", "tax_rate", "amount_cents", "fees_amount_cents")


def _pick(source: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {field: source.get(field) for field in fields}


def invoice_summary(invoice: Mapping[str, Any]) -> dict[str, Any]:
    """An invoice in a list, from Lago's invoice object (amounts as Lago computes them)."""
    return _pick(invoice, _INVOICE_FIELDS)


def invoice_detail(invoice: Mapping[str, Any]) -> dict[str, Any]:
    """One invoice with its lines and taxes, from Lago's invoice object."""
    return {
        **invoice_summary(invoice),
        "fees": [
            {**_pick(fee, _FEE_FIELDS), "item": {"type": fee["item"]["type"]}}
            for fee in invoice["fees"]
        ],
        "applied_taxes": [_pick(tax, _APPLIED_TAX_FIELDS) for tax in invoice["applied_taxes"]],
        "billing_periods": [
            _pick(period, ("subscription_from_datetime", "subscription_to_datetime"))
            for period in invoice["billing_periods"]
        ],
    }


# --- wallets -------------------------------------------------------------------------------


def wallet_object(wallet: Wallet) -> dict[str, Any]:
    credits_balance = decimal_string(wallet.credits_balance)
    return {
        "name": wallet.name,
        "status": wallet.status,
        "currency": wallet.currency,
        "rate_amount": decimal_string(wallet.rate_amount),
        "credits_balance": credits_balance,
        "balance_cents": wallet.balance_cents,
        "consumed_credits": decimal_string(wallet.consumed_credits),
        "consumed_amount_cents": wallet.consumed_amount_cents,
        "expiration_at": iso(wallet.expiration_at),
        "created_at": iso(wallet.created_at),
    }


def wallet_transaction_object(row: WalletTransaction, currency: str) -> dict[str, Any]:
    # A granted transaction with an invoice gives back credits of a voided invoice.
    paid_by = row.invoice_id if row.transaction_status != "granted" else None
    return {
        "lago_id": str(row.id),
        "status": row.status,
        "transaction_status": row.transaction_status,
        "transaction_type": row.transaction_type,
        "name": row.name,
        "amount": decimal_string(from_minor_units(row.amount_cents, currency)),
        "amount_cents": row.amount_cents,
        "credit_amount": decimal_string(row.credit_amount),
        "lago_invoice_id": str(paid_by) if paid_by else None,
        "settled_at": iso(row.settled_at),
        "failed_at": iso(row.failed_at),
        "created_at": iso(row.created_at),
    }


# --- coupons -------------------------------------------------------------------------------


def applied_coupon_object(applied: AppliedCoupon) -> dict[str, Any]:
    coupon = applied.coupon
    return {
        "coupon_code": coupon.code,
        "coupon_name": coupon.name,
        "status": applied.status,
        "amount_cents": applied.amount_cents,
        "amount_cents_remaining": applied.amount_cents_remaining,
        "amount_currency": applied.amount_currency,
        "percentage_rate": decimal_string(applied.percentage_rate),
        "frequency": applied.frequency,
        "frequency_duration": applied.frequency_duration,
        "frequency_duration_remaining": applied.frequency_duration_remaining,
        "expiration_at": iso(coupon.expiration_at),
        "created_at": iso(applied.created_at),
        "terminated_at": iso(applied.terminated_at),
    }


# --- Subscriptions, plans offered, usage and payment method (portal-subscriptions) --------
#
# Left out as well: lago ids of subscriptions, plans, charges and billable metrics (metrics
# and charges are named by code), Stripe's payment method id, `external_customer_id`. A past
# period names its invoice by the id the portal's invoice routes take.


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


def _present(source: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """The allowed keys the source has (current usage has no projected amounts)."""
    return {key: source[key] for key in keys if key in source}


def portal_usage_object(usage: Mapping[str, Any]) -> dict[str, Any]:
    """A usage object (current, projected or past, in Lago's shape) as the customer sees it:
    metrics and charges by code and name, never by the organization's ids."""
    shown = _present(usage, _USAGE)
    if usage.get("lago_invoice_id"):
        shown["invoice"] = {"lago_id": usage["lago_invoice_id"]}
    shown["charges_usage"] = [
        {
            **_present(charge, _CHARGE_USAGE),
            "billable_metric": _present(charge["billable_metric"], ("code", "name")),
            "charge": _present(charge["charge"], ("charge_model", "invoice_display_name")),
            "filters": [_present(f, _FILTER_USAGE) for f in charge.get("filters", [])],
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
