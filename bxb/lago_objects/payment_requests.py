"""Lago's PaymentMethodObject, PaymentRequestObject and PaymentReceiptObject."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.lago_objects.customers import customer_object
from bxb.lago_objects.formats import iso
from bxb.lago_objects.invoices import invoice_objects
from bxb.lago_objects.payments import payment_object
from bxb.lago_objects.taxes import applied_taxes
from bxb.models import (
    AppliedTax,
    Customer,
    Invoice,
    Organization,
    Payment,
    PaymentMethod,
    PaymentReceipt,
    PaymentRequest,
    payment_request_invoices,
)


def payment_method_object(method: PaymentMethod, customer: Customer) -> dict[str, Any]:
    return {
        "lago_id": str(method.id),
        "is_default": method.is_default,
        "payment_provider_code": customer.payment_provider_code,
        "payment_provider_name": "Stripe" if method.provider == "stripe" else None,
        "payment_provider_type": method.provider,
        "provider_method_id": method.provider_method_id,
        "created_at": iso(method.created_at),
    }


async def request_invoices(session: AsyncSession, request: PaymentRequest) -> list[Invoice]:
    rows = await session.scalars(
        select(Invoice)
        .join(payment_request_invoices, payment_request_invoices.c.invoice_id == Invoice.id)
        .where(payment_request_invoices.c.payment_request_id == request.id)
        .order_by(Invoice.issuing_date, Invoice.created_at, Invoice.id)
    )
    return list(rows)


async def payment_request_objects(
    session: AsyncSession, requests: Sequence[PaymentRequest]
) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for request in requests:
        customer = await session.get(Customer, request.customer_id)
        organization = await session.get(Organization, request.organization_id)
        assert customer is not None
        assert organization is not None
        taxes = await applied_taxes(session, AppliedTax.customer_id, [customer.id])
        invoices = await request_invoices(session, request)
        objects.append(
            {
                "lago_id": str(request.id),
                "email": request.email,
                "amount_cents": request.amount_cents,
                "amount_currency": request.currency,
                "payment_status": request.payment_status,
                "created_at": iso(request.created_at),
                "customer": customer_object(customer, organization, taxes[customer.id]),
                "invoices": await invoice_objects(session, invoices),
            }
        )
    return objects


async def payment_receipt_object(session: AsyncSession, receipt: PaymentReceipt) -> dict[str, Any]:
    payment = await session.get(Payment, receipt.payment_id)
    assert payment is not None
    invoice = await session.get(Invoice, payment.invoice_id)
    customer = await session.get(Customer, payment.customer_id)
    assert invoice is not None
    assert customer is not None
    return {
        "lago_id": str(receipt.id),
        "number": receipt.number,
        "created_at": iso(receipt.created_at),
        "payment": payment_object(payment, invoice, customer),
    }
