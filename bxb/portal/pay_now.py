"""Pay now: the portal starts a payment of an invoice through the existing collection path.

The same path as POST /api/v1/invoices/{id}/retry_payment: a subscription's invoice is
collected by its subscription's workflow (a `retry_payment` update with the next attempt
number), any other invoice by one InvoicePaymentWorkflow per attempt. Never twice:

- a paid invoice (or one with nothing due) starts nothing;
- while an attempt is in flight (its payment row pending at the provider) nothing new starts;
- two requests that race start the same attempt number: one workflow id for the
  InvoicePaymentWorkflow (the second start finds the first), and for a subscription the
  ledger's (invoice, attempt) uniqueness and the provider's idempotency key `{invoice}-{n}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowFailureError

from bxb.core.customer_clock import customer_now
from bxb.core.invoice_collection import (
    next_attempt,
    owning_workflow_id,
    send_invoice_command,
    start_invoice_collection,
)
from bxb.ledger.amounts import amount_due
from bxb.models import Customer, Invoice, Payment
from bxb.workflows.billing_requests import InvoiceStep
from bxb.workflows.invoice_payment import invoice_payment_workflow_id

PayNow = Literal["started", "paid", "in_flight"]


async def attempt_in_flight(session: AsyncSession, invoice_id: uuid.UUID) -> bool:
    pending = await session.scalar(
        select(Payment.id).where(Payment.invoice_id == invoice_id, Payment.status == "pending")
    )
    return pending is not None


async def pay_now(
    session: AsyncSession,
    client: Client,
    task_queue: str,
    customer: Customer,
    invoice: Invoice,
    *,
    wait: float,
) -> PayNow:
    """Start the invoice's next payment attempt unless it is paid or one is under way, and
    wait (at most `wait` seconds) for the attempt's outcome. The session's transaction ends
    before the workflow writes (committed: nothing is expired); read the invoice afresh
    afterwards. Raises
    WorkflowRequestError when a subscription's workflow refuses."""
    if invoice.payment_status == "succeeded" or amount_due(invoice) == 0:
        return "paid"
    invoice_id = invoice.id
    if await attempt_in_flight(session, invoice_id):
        return "in_flight"
    workflow_id = await owning_workflow_id(session, invoice_id)
    attempt = await next_attempt(session, invoice_id)
    now = await customer_now(session, customer)
    await session.commit()  # no transaction held open while the payment runs
    if workflow_id is not None:
        await send_invoice_command(
            client, workflow_id, "retry_payment", invoice_id, next_attempt=attempt, wait=wait
        )
        return "started"
    await start_invoice_collection(
        client, invoice_id, task_queue=task_queue, attempt=attempt, at=now
    )
    step = InvoiceStep(invoice_id=invoice_id, at=now, attempt=attempt)
    handle = client.get_workflow_handle(invoice_payment_workflow_id(step))
    # A decline fails the workflow; the invoice row says what happened either way.
    with contextlib.suppress(TimeoutError, WorkflowFailureError):
        await asyncio.wait_for(handle.result(), timeout=wait)
    return "started"
