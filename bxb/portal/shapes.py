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
from bxb.models import AppliedCoupon, Customer, Organization, Wallet, WalletTransaction

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
