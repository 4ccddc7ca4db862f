"""Lago's WalletObject, WalletTransactionObject, consumption/funding objects and rules."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bxb.billing.money import from_minor_units
from bxb.lago_objects.formats import decimal_string, iso
from bxb.models import (
    RecurringTransactionRule,
    Wallet,
    WalletTransaction,
    WalletTransactionConsumption,
)

# Lago's default (and lowest) priority.
PRIORITY = 50
_CREDIT_QUANTUM = Decimal("0.00001")


def credits_of(cents: int, wallet: Wallet) -> Decimal:
    """Credits worth `cents` at the wallet's rate (5 decimals, half-up), as Lago shows a
    consumption's or a remaining amount's credits."""
    value = from_minor_units(cents, wallet.currency) / wallet.rate_amount
    return value.quantize(_CREDIT_QUANTUM, rounding=ROUND_HALF_UP)


def rule_object(rule: RecurringTransactionRule) -> dict[str, Any]:
    return {
        "lago_id": str(rule.id),
        "trigger": rule.trigger,
        "method": rule.method,
        # Lago's column defaults show on rules that do not use them.
        "interval": rule.interval or "weekly",
        "status": rule.status,
        "threshold_credits": decimal_string(rule.threshold_credits or Decimal(0)),
        "paid_credits": decimal_string(rule.paid_credits),
        "granted_credits": decimal_string(rule.granted_credits),
        "grants_target_top_up": bool(rule.grants_target_top_up),
        "started_at": iso(rule.started_at),
        "target_ongoing_balance": decimal_string(rule.target_ongoing_balance),
        "created_at": iso(rule.created_at),
        "expiration_at": iso(rule.expiration_at),
        "invoice_requires_successful_payment": rule.invoice_requires_successful_payment,
        "transaction_metadata": list(rule.transaction_metadata),
        "transaction_name": rule.transaction_name,
        "ignore_paid_top_up_limits": rule.ignore_paid_top_up_limits,
        "applied_invoice_custom_sections": [],
        "payment_method": {"payment_method_type": "provider"},
        "purchase_order_number": None,
    }


def wallet_object(
    wallet: Wallet,
    external_customer_id: str,
    rules: Sequence[RecurringTransactionRule] = (),
) -> dict[str, Any]:
    credits_balance = decimal_string(wallet.credits_balance)
    return {
        "lago_id": str(wallet.id),
        "lago_customer_id": str(wallet.customer_id),
        "external_customer_id": external_customer_id,
        "status": wallet.status,
        "currency": wallet.currency,
        "name": wallet.name,
        "code": wallet.code,
        "priority": wallet.priority,
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
        "invoice_requires_successful_payment": wallet.invoice_requires_successful_payment,
        "recurring_transaction_rules": [rule_object(r) for r in rules if r.status == "active"],
        "applies_to": {
            "fee_types": list(wallet.allowed_fee_types or []),
            "billable_metric_codes": list(wallet.billable_metric_codes or []),
        },
        "paid_top_up_min_amount_cents": wallet.paid_top_up_min_amount_cents,
        "paid_top_up_max_amount_cents": wallet.paid_top_up_max_amount_cents,
        "applied_invoice_custom_sections": [],
        "payment_method": {"payment_method_type": "provider"},
        "purchase_order_number": None,
        "metadata": wallet.metadata_,
    }


def wallet_transaction_object(row: WalletTransaction, wallet: Wallet) -> dict[str, Any]:
    recredit = row.transaction_status == "granted" and row.invoice_id is not None
    remaining = row.remaining_amount_cents
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
        "amount": decimal_string(from_minor_units(row.amount_cents, wallet.currency)),
        "credit_amount": decimal_string(row.credit_amount),
        "remaining_amount_cents": remaining,
        "remaining_credit_amount": (
            None if remaining is None else decimal_string(credits_of(remaining, wallet))
        ),
        "priority": row.priority,
        "invoice_requires_successful_payment": row.invoice_requires_successful_payment,
        "settled_at": iso(row.settled_at),
        "failed_at": iso(row.failed_at),
        "created_at": iso(row.created_at),
        "metadata": list(row.metadata_),
        "name": row.name,
        # Lago's: the provider's default method unless one was chosen (bxb does not).
        "payment_method": {"payment_method_type": "provider"},
        "purchase_order_number": None,
        "applied_invoice_custom_sections": [],
    }


def consumption_object(
    row: WalletTransactionConsumption, other: WalletTransaction, wallet: Wallet
) -> dict[str, Any]:
    """A consumption (other = the outbound transaction) or a funding (other = the inbound
    one), as Lago's WalletTransactionConsumptionSerializer."""
    return {
        "lago_id": str(row.id),
        "amount_cents": row.consumed_amount_cents,
        "credit_amount": decimal_string(credits_of(row.consumed_amount_cents, wallet)),
        "created_at": iso(row.created_at),
        "wallet_transaction": wallet_transaction_object(other, wallet),
    }
