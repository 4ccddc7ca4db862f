"""Payment requests (Lago's `POST /payment_requests`): a customer's unpaid invoices,
collected together as one provider payment.

- `create_payment_request` checks the invoices as Lago does (those of the customer among
  the ids; all overdue, one currency: else 405 `invoices_not_overdue` /
  `invoices_have_different_currencies`), writes the request and queues
  `payment_request.created`.
- `collect_payment_request` charges what the invoices still owe, in one PaymentIntent
  (idempotency key `payment_request-<id>`, metadata `lago_payment_request_id`). When it
  succeeds, each invoice gets a Payment row for its share, naming that PaymentIntent,
  settled by `settle_success` like any payment: the invoice is paid, its receipt issued,
  `invoice.payment_status_updated` queued. A decline marks the request failed
  (`payment_request.payment_failure`); both send `payment_request.payment_status_updated`.
  A customer without a provider keeps a pending request (paid by manual payments); a
  charge Stripe leaves processing is settled by its Stripe webhook
  (`settle_request_intent`).

The request row is locked while the provider is called, so two collections never charge
twice; a request already charged (it has a PaymentIntent) is not charged again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.core.settings import Settings
from bxb.lago_objects.payment_requests import payment_request_objects, request_invoices
from bxb.ledger.amounts import amount_due
from bxb.ledger.invoicing import lock_invoice
from bxb.models import Customer, Invoice, Payment, PaymentRequest, payment_request_invoices
from bxb.payments.collect import provider_for
from bxb.payments.provider import ChargeResult
from bxb.payments.settle import settle_success
from bxb.payments.stripe_provider import intent_result
from bxb.webhooks import outbox

log = logging.getLogger(__name__)

CREATED = "payment_request.created"
STATUS_UPDATED = "payment_request.payment_status_updated"
FAILURE = "payment_request.payment_failure"


class PaymentRequestError(Exception):
    """Lago refuses the request: 404 `<thing>_not_found`, or 405 (Lago's
    not_allowed_failure) with `code`."""

    def __init__(self, code: str, *, status: int = 404) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


@dataclass
class Collection:
    """What a collection did: invoices it paid, webhooks it queued (after commit)."""

    paid_invoice_ids: list[uuid.UUID] = field(default_factory=list)
    webhook_ids: list[uuid.UUID] = field(default_factory=list)


async def create_payment_request(
    session: AsyncSession,
    customer: Customer,
    email: str,
    invoice_ids: list[uuid.UUID],
) -> tuple[PaymentRequest, list[uuid.UUID]]:
    """The request (flushed) and the webhooks queued; raises PaymentRequestError."""
    # As Lago: the ids that are not the customer's invoices are left out; none left is a 404.
    invoices: list[Invoice] = []
    for invoice_id in sorted(set(invoice_ids)):  # one lock order for every request
        invoice = await lock_invoice(session, invoice_id)
        if invoice is not None and invoice.customer_id == customer.id:
            invoices.append(invoice)
    if not invoices:
        raise PaymentRequestError("invoice_not_found")
    if any(not invoice.payment_overdue or amount_due(invoice) <= 0 for invoice in invoices):
        raise PaymentRequestError("invoices_not_overdue", status=405)
    if len({invoice.currency for invoice in invoices}) > 1:
        raise PaymentRequestError("invoices_have_different_currencies", status=405)
    request = PaymentRequest(
        organization_id=customer.organization_id,
        customer_id=customer.id,
        email=email,
        amount_cents=sum(amount_due(invoice) for invoice in invoices),
        currency=invoices[0].currency,
        payment_status="pending",
    )
    session.add(request)
    await session.flush()
    await session.execute(
        insert(payment_request_invoices),
        [{"payment_request_id": request.id, "invoice_id": i.id} for i in invoices],
    )
    await session.refresh(request)
    return request, await _emit(session, request, CREATED)


async def collect_payment_request(
    session: AsyncSession, settings: Settings, request_id: uuid.UUID, at: datetime
) -> Collection:
    """Charge the request once, in the caller's transaction."""
    done = Collection()
    request = await session.get(
        PaymentRequest, request_id, with_for_update=True, populate_existing=True
    )
    if request is None or request.payment_status != "pending" or request.provider_payment_id:
        return done
    customer = await session.get(Customer, request.customer_id)
    assert customer is not None
    provider = provider_for(settings)
    if provider is None or customer.payment_provider != "stripe":
        return done  # waits for manual payments of its invoices
    invoices = [
        locked
        for invoice in await request_invoices(session, request)
        if (locked := await lock_invoice(session, invoice.id)) is not None
    ]
    shares = {
        invoice.id: amount_due(invoice) for invoice in invoices if invoice.status == "finalized"
    }
    total = sum(shares.values())
    if total <= 0:
        return done
    if not customer.provider_customer_id:
        result = ChargeResult(
            "failed",
            failure_code="provider_customer_missing",
            failure_message="the customer has no Stripe customer yet",
        )
    else:
        result = await provider.charge(
            customer.provider_customer_id,
            total,
            request.currency,
            f"payment_request-{request.id}",
            {"lago_payment_request_id": str(request.id), "payment_type": "payment_request"},
        )
    request.provider_payment_id = result.provider_payment_id
    return await _apply(session, request, invoices, result, total, at)


async def settle_request_intent(
    session: AsyncSession,
    organization_id: uuid.UUID,
    intent: Mapping[str, Any],
    at: datetime,
) -> Collection | None:
    """A Stripe event about the PaymentIntent of a pending request (one Stripe left
    processing): settle the request as collection would have; None when it is no
    request's."""
    request = await session.scalar(
        select(PaymentRequest)
        .where(
            PaymentRequest.organization_id == organization_id,
            PaymentRequest.provider_payment_id == str(intent["id"]),
        )
        .with_for_update()
    )
    if request is None:
        return None
    if request.payment_status != "pending":
        return Collection()  # settled already: a replayed event
    invoices = [
        locked
        for invoice in await request_invoices(session, request)
        if (locked := await lock_invoice(session, invoice.id)) is not None
    ]
    received = int(intent.get("amount_received") or intent.get("amount") or 0)
    return await _apply(session, request, invoices, intent_result(intent), received, at)


async def _apply(
    session: AsyncSession,
    request: PaymentRequest,
    invoices: list[Invoice],
    result: ChargeResult,
    received: int,
    at: datetime,
) -> Collection:
    """Record the provider's word on the request's charge of `received` cents: on success
    each invoice gets its share (what it still owes, within what was received)."""
    done = Collection()
    if result.status == "succeeded":
        request.payment_status = "succeeded"
        left = received
        for invoice in invoices:
            share = min(amount_due(invoice), left) if invoice.status == "finalized" else 0
            if share <= 0:
                continue
            left -= share
            payment = Payment(
                organization_id=request.organization_id,
                invoice_id=invoice.id,
                customer_id=request.customer_id,
                provider="stripe",
                attempt=None,
                amount_cents=share,
                currency=invoice.currency,
                status="pending",
                provider_payment_id=result.provider_payment_id,
                reference="payment_request",
                payment_request_id=request.id,
            )
            session.add(payment)
            await session.flush()
            done.webhook_ids += await settle_success(session, invoice, payment, at)
            if invoice.payment_status == "succeeded":
                done.paid_invoice_ids.append(invoice.id)
        if left > 0:
            log.warning("payment request %s: %s cents found nothing due", request.id, left)
    elif result.status == "failed":
        request.payment_status = "failed"
        request.failure_code = result.failure_code
        request.failure_message = result.failure_message
        done.webhook_ids += await _emit(session, request, FAILURE)
    else:
        return done  # processing at Stripe: its webhook settles it (settle_request_intent)
    await session.flush()
    done.webhook_ids += await _emit(session, request, STATUS_UPDATED)
    return done


async def _emit(session: AsyncSession, request: PaymentRequest, kind: str) -> list[uuid.UUID]:
    if not await outbox.listeners(session, request.organization_id, kind):
        return []
    [data] = await payment_request_objects(session, [request])
    payload = {"payment_request": data}
    return await outbox.emit(session, request.organization_id, kind, request.id, payload)


async def requests_of_invoice(session: AsyncSession, invoice_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(payment_request_invoices.c.payment_request_id).where(
            payment_request_invoices.c.invoice_id == invoice_id
        )
    )
    return list(rows)
