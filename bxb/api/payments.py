"""/api/v1/payments: record manual payments, list and read every payment (Lago-compatible).

- A manual payment needs a finalized invoice (draft or voided: 403, as Lago forbids it)
  and an amount above zero and at most what is still due (422 invalid_amount).
- Partial payments accumulate; the one that completes the invoice marks it paid, which
  ends dunning (the invoice's collector is told after the commit).
- Provider attempts (one row per attempt, declined ones included) are listed too, with
  type "provider".
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.deps import OrgDep, SessionDep, TemporalDep, reads_only
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.payments import ManualPaymentBody
from bxb.core.invoice_collection import PaymentNoticeStatus, notify_invoice_payment
from bxb.core.temporal import TemporalConnector
from bxb.lago_objects.payments import payment_object
from bxb.ledger.invoicing import lock_invoice
from bxb.models import Customer, Invoice, Payment
from bxb.models.base import utcnow
from bxb.payments.manual import ManualPaymentError, record_manual_payment
from bxb.webhooks import outbox

router = APIRouter(prefix="/api/v1", tags=["payments"])
log = logging.getLogger(__name__)


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


async def tell_collector(
    temporal: TemporalConnector,
    session: AsyncSession,
    invoice_id: uuid.UUID,
    notice: PaymentNoticeStatus | None,
    webhooks: list[uuid.UUID],
) -> None:
    """After the commit: stop or resume dunning and deliver the webhooks.

    The payment is recorded whatever happens here, so a failure is logged, not answered:
    a collector that missed the news finds nothing due at its next attempt, and queued
    webhooks stay in the outbox for a later dispatch.
    """
    try:
        client = await temporal.client()
        if notice is not None:
            await notify_invoice_payment(client, session, invoice_id, notice)
        if webhooks:
            await outbox.dispatch(client, webhooks)
    except Exception:
        log.exception("invoice %s: could not notify its collector", invoice_id)


async def deliver(temporal: TemporalConnector, webhooks: list[uuid.UUID]) -> None:
    """After the commit: deliver queued webhooks (left in the outbox on failure)."""
    try:
        await outbox.dispatch(await temporal.client(), webhooks)
    except Exception:
        log.exception("could not dispatch webhooks %s", webhooks)


@router.post("/payments")
async def create_payment(
    body: ManualPaymentBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> dict[str, Any]:
    data = body.payment
    invoice_id = _uuid(data.invoice_id)
    invoice = await lock_invoice(session, invoice_id) if invoice_id else None
    if invoice is None or invoice.organization_id != org.id:
        raise not_found("invoice")
    try:
        payment, webhooks = await record_manual_payment(
            session, invoice, data.amount_cents, data.reference, data.paid_at or utcnow()
        )
    except ManualPaymentError as error:
        await session.rollback()
        if error.field is not None:
            raise validation_error({error.field: [error.code]}) from None
        raise ApiError(error.status, code=error.code) from None
    paid = invoice.payment_status == "succeeded"
    customer = await session.get(Customer, invoice.customer_id)
    assert customer is not None
    response = {"payment": payment_object(payment, invoice, customer)}
    await session.commit()
    await tell_collector(temporal, session, invoice.id, "succeeded" if paid else None, webhooks)
    return response


@router.get("/payments")
@reads_only
async def list_payments(
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    external_customer_id: Annotated[str | None, Query()] = None,
    invoice_id: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    query = select(Payment).where(Payment.organization_id == org.id)
    if external_customer_id is not None:
        query = query.join(Customer, Customer.id == Payment.customer_id).where(
            Customer.external_id == external_customer_id, Customer.deleted_at.is_(None)
        )
    if invoice_id is not None:
        query = query.where(Payment.invoice_id == _uuid(invoice_id))
    rows, meta = await paginate(
        session, query.order_by(Payment.created_at.desc(), Payment.id), page
    )
    return {
        "payments": [await _object(session, row) for row in rows],
        "meta": meta.model_dump(),
    }


@router.get("/payments/{lago_id}")
@reads_only
async def get_payment(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    payment_id = _uuid(lago_id)
    payment = await session.get(Payment, payment_id) if payment_id else None
    if payment is None or payment.organization_id != org.id:
        raise not_found("payment")
    return {"payment": await _object(session, payment)}


async def _object(session: AsyncSession, payment: Payment) -> dict[str, Any]:
    invoice = await session.get(Invoice, payment.invoice_id)
    customer = await session.get(Customer, payment.customer_id)
    assert invoice is not None  # foreign keys
    assert customer is not None
    return payment_object(payment, invoice, customer)
