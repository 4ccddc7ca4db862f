"""Lago's WalletObject and WalletTransactionObject."""

from __future__ import annotations

from typing import Any

from bxb.billing.money import from_minor_units
from bxb.lago_objects.formats import decimal_string, iso
from bxb.models import Wallet, WalletTransaction

# Lago's wallet priority; bxb has one active wallet per customer, so it is constant.
PRIORITY = 50


def wallet_object(wallet: Wallet, external_customer_id: str) -> dict[str, Any]:
    credits_balance = decimal_string(wallet.credits_balance)
    return {
        "lago_id": str(wallet.id),
        "lago_customer_id": str(wallet.customer_id),
        "external_customer_id": external_customer_id,
        "status": wallet.status,
        "currency": wallet.currency,
        "name": wallet.name,
        "code": wallet.code,
        "priority": PRIORITY,
        "rate_amount": decimal_string(wallet.rate_amount),
        "credits_balance": credits_balance,
        "balance": decimal_string(from_minor_units(wallet.balance_cents, wallet.currency)),
        "balance_cents": wallet.balance_cents,
        "consumed_credits": decimal_string(wallet.consumed_credits),
        "consumed_amount_cents": wallet.consumed_amount_cents,
        # Usage not yet invoiced is not held against the balance (see docs/wallets.md).
        "ongoing_balance_cents": wallet.balance_cents,
        "ongoing_usage_balance_cents": 0,
        "credits_ongoing_balance": credits_balance,
        "credits_ongoing_usage_balance": "0",
        "created_at": iso(wallet.created_at),
        "expiration_at": iso(wallet.expiration_at),
        "last_balance_sync_at": iso(wallet.last_balance_sync_at),
        "last_consumed_credit_at": iso(wallet.last_consumed_credit_at),
        "terminated_at": iso(wallet.terminated_at),
        "invoice_requires_successful_payment": False,
        "recurring_transaction_rules": [],
        "applies_to": {"fee_types": [], "billable_metric_codes": []},
        "paid_top_up_min_amount_cents": None,
        "paid_top_up_max_amount_cents": None,
    }


def wallet_transaction_object(row: WalletTransaction, currency: str) -> dict[str, Any]:
    recredit = row.transaction_status == "granted" and row.invoice_id is not None
    return {
        "lago_id": str(row.id),
        "lago_wallet_id": str(row.wallet_id),
        "lago_invoice_id": str(row.invoice_id) if row.invoice_id and not recredit else None,
        "lago_credit_note_id": None,
        # Credits given back when the invoice they paid was voided.
        "lago_voided_invoice_id": str(row.invoice_id) if recredit else None,
        "status": row.status,
        "source": row.source,
        "transaction_status": row.transaction_status,
        "transaction_type": row.transaction_type,
        "amount": decimal_string(from_minor_units(row.amount_cents, currency)),
        "credit_amount": decimal_string(row.credit_amount),
        "remaining_amount_cents": None,
        "remaining_credit_amount": None,
        "priority": PRIORITY,
        "invoice_requires_successful_payment": False,
        "settled_at": iso(row.settled_at),
        "failed_at": iso(row.failed_at),
        "created_at": iso(row.created_at),
        "metadata": list(row.metadata_),
        "name": row.name,
        "payment_method": {"payment_method_id": None, "payment_method_type": "provider"},
        "purchase_order_number": None,
    }
