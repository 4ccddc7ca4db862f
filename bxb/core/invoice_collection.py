"""Telling the owner of an invoice's collection that something happened to it.

A subscription invoice is collected by its subscription's workflow (grace period, payment
attempts, dunning); an invoice without a subscription (one-off, wallet top-up) by one
short InvoicePaymentWorkflow per attempt. API code that changes an invoice's payment state
in PostgreSQL calls these after its commit, so the workflow stops or resumes collecting.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from bxb.core.workflow_calls import DEFAULT_WAIT, send_update
from bxb.models import Customer, Invoice, Payment, Subscription
from bxb.webhooks import outbox
from bxb.workflows.billing_requests import InvoiceStep
from bxb.workflows.invoice_payment import InvoicePaymentWorkflow, invoice_payment_workflow_id
from bxb.workflows.state import InvoiceCommand, PaymentNotice

PaymentNoticeStatus = Literal["succeeded", "failed", "voided"]


async def owning_workflow_id(session: AsyncSession, invoice_id: uuid.UUID) -> str | None:
    """The subscription workflow collecting this invoice, if a subscription owns it."""
    workflow_id: str | None = await session.scalar(
        select(Subscription.workflow_id)
        .join(Invoice, Invoice.subscription_id == Subscription.id)
        .where(Invoice.id == invoice_id)
    )
    return workflow_id


async def start_invoice_collection(
    client: Client,
    invoice_id: uuid.UUID,
    *,
    task_queue: str | None = None,
    attempt: int = 1,
    at: datetime | None = None,
) -> None:
    """Start payment attempt `attempt` of an invoice no subscription owns (idempotent)."""
    step = InvoiceStep(invoice_id=invoice_id, at=at or datetime.now(UTC), attempt=attempt)
    await client.start_workflow(
        InvoicePaymentWorkflow.run,
        step,
        id=invoice_payment_workflow_id(step),
        task_queue=outbox.resolve_task_queue(task_queue),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def notify_invoice_payment(
    client: Client, session: AsyncSession, invoice_id: uuid.UUID, notice: PaymentNoticeStatus
) -> None:
    """An invoice was paid (manual payment, asynchronous provider success), failed at the
    provider asynchronously, or was voided: its subscription workflow ends or resumes
    dunning. Invoices without a subscription need no notice."""
    workflow_id = await owning_workflow_id(session, invoice_id)
    if workflow_id is None:
        return
    handle = client.get_workflow_handle(workflow_id)
    try:
        await handle.signal("payment_notice", PaymentNotice(invoice_id=invoice_id, status=notice))
    except RPCError as exc:
        if exc.status is not RPCStatusCode.NOT_FOUND:  # a finished workflow collects nothing
            raise


async def send_invoice_command(
    client: Client,
    workflow_id: str,
    update: str,
    invoice_id: uuid.UUID,
    next_attempt: int | None = None,
    *,
    wait: float = DEFAULT_WAIT,
) -> None:
    """finalize_invoice / retry_payment on the owning subscription workflow (within the
    bound; WorkflowRequestError when the workflow refuses)."""
    command = InvoiceCommand(invoice_id=invoice_id, next_attempt=next_attempt)
    await send_update(client, workflow_id, update, command, wait=wait)


async def resume_unstarted_collections(
    sessions: async_sessionmaker[AsyncSession], client: Client, task_queue: str
) -> int:
    """Start the first payment attempt of invoices no subscription owns whose start was
    lost (the API committed the invoice, then could not reach Temporal). Called when a
    worker starts; starting an attempt that exists does nothing."""
    async with sessions() as session:
        rows = await session.execute(
            select(Invoice.id, Invoice.finalized_at)
            .join(Customer, Customer.id == Invoice.customer_id)
            .outerjoin(Payment, Payment.invoice_id == Invoice.id)
            .where(
                Invoice.subscription_id.is_(None),
                Invoice.status == "finalized",
                Invoice.payment_status == "pending",
                Customer.payment_provider == "stripe",
                Customer.provider_customer_id.is_not(None),
                Payment.id.is_(None),
            )
        )
        unstarted = [(row.id, row.finalized_at) for row in rows]
    for invoice_id, finalized_at in unstarted:
        await start_invoice_collection(
            client, invoice_id, task_queue=task_queue, attempt=1, at=finalized_at
        )
    return len(unstarted)


async def next_attempt(session: AsyncSession, invoice_id: uuid.UUID) -> int:
    last = await session.scalar(
        select(func.max(Payment.attempt)).where(Payment.invoice_id == invoice_id)
    )
    return int(last or 0) + 1
