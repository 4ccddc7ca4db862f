"""Lago's PaymentObject."""

from __future__ import annotations

from typing import Any

from bxb.lago_objects.formats import iso
from bxb.models import Customer, Invoice, Payment


def payment_object(payment: Payment, invoice: Invoice, customer: Customer) -> dict[str, Any]:
    manual = payment.provider == "manual"
    return {
        "lago_id": str(payment.id),
        "lago_customer_id": str(customer.id),
        "external_customer_id": customer.external_id,
        "invoice_ids": [str(invoice.id)],
        "invoice_numbers": [invoice.number] if invoice.number else [],
        "lago_payable_id": str(invoice.id),
        "payable_type": "Invoice",
        "amount_cents": payment.amount_cents,
        "amount_currency": payment.currency,
        # The provider's own word for it; bxb records the normalized one only.
        "status": payment.status,
        "payment_status": payment.status,  # pending | processing | succeeded | failed
        "type": "manual" if manual else "provider",
        # Lago's clients require a string: provider payments have no reference.
        "reference": payment.reference or "",
        "payment_provider_code": None if manual else customer.payment_provider_code,
        "payment_provider_type": None if manual else payment.provider,
        "external_payment_id": payment.provider_payment_id,
        "provider_payment_id": payment.provider_payment_id,
        "provider_customer_id": None if manual else customer.provider_customer_id,
        "payment_method_id": None,
        "next_action": {},
        # bxb extensions: why a provider attempt failed, and when the money arrived.
        "failure_code": payment.failure_code,
        "failure_message": payment.failure_message,
        "paid_at": iso(payment.paid_at),
        "created_at": iso(payment.created_at),
    }
