"""The dunning campaigns sweep, run hourly by a Temporal Schedule (docs/dunning.md)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client

from bxb.activities.heartbeat import heartbeating
from bxb.activities.subscriptions import dispatch_webhooks
from bxb.core import schedules
from bxb.core.invoice_collection import next_attempt, start_invoice_collection
from bxb.ledger.dunning_campaigns import (
    OverduePaymentRequest,
    PaymentRequester,
    run_dunning_campaigns,
)
from bxb.workflows.dunning_campaigns import DunningCampaignsWorkflow

# Lago's clock job runs hourly; days_between_attempts is counted in days from the last one.
JOB = "dunning-campaigns"
EVERY = timedelta(hours=1)


def schedule_id(task_queue: str) -> str:
    return schedules.schedule_id(JOB, task_queue)


async def ensure_schedule(client: Client, task_queue: str) -> None:
    """The hourly sweep, created once; a worker restart leaves it as it is."""
    await schedules.ensure_interval_schedule(
        client, JOB, DunningCampaignsWorkflow.run, task_queue, EVERY
    )


async def retry_overdue_invoices(
    sessions: async_sessionmaker[AsyncSession], request: OverduePaymentRequest
) -> None:
    """Ask for payment of the overdue invoices: one more payment attempt of each, through
    the invoice collection bxb has (InvoicePaymentWorkflow, idempotent per attempt).

    The narrow seam for payment requests: when /payment_requests exists, a requester that
    creates one payment request for `request.invoice_ids` (Lago's PaymentRequests::
    CreateService with the dunning campaign) replaces this one.
    """
    client = activity.client()
    for invoice_id in request.invoice_ids:
        async with sessions() as session:
            attempt = await next_attempt(session, invoice_id)
        await start_invoice_collection(client, invoice_id, attempt=attempt, at=request.at)


class DunningCampaignActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        request_payment: PaymentRequester | None = None,
    ) -> None:
        self.sessions = sessions
        self.request_payment = request_payment

    @activity.defn(name="process_dunning_campaigns")
    async def process_dunning_campaigns(self) -> int:
        """Every customer in dunning gets the attempt due; the number of requests made."""

        async def default(request: OverduePaymentRequest) -> None:
            await retry_overdue_invoices(self.sessions, request)

        made, webhook_ids = await heartbeating(
            run_dunning_campaigns(self.sessions, self.request_payment or default)
        )
        await dispatch_webhooks(webhook_ids)
        return made
