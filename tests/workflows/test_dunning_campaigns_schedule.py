"""The dunning campaigns sweep on Temporal: an hourly schedule, and its default requester
asking for payment through bxb's invoice collection (one more attempt per invoice)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from bxb.activities import dunning_campaigns
from bxb.core.db import transaction
from bxb.models import Customer, DunningCampaign, DunningCampaignThreshold
from bxb.workflows.dunning_campaigns import DunningCampaignsWorkflow
from tests.integration.test_invoices import insert_customer, insert_invoice
from tests.support.auth import Tenant


async def test_schedule_and_sweep(
    temporal_env: WorkflowEnvironment,
    worker: str,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    client = temporal_env.client
    await dunning_campaigns.ensure_schedule(client, worker)
    await dunning_campaigns.ensure_schedule(client, worker)  # a restarted worker: no copy
    handle = client.get_schedule_handle(dunning_campaigns.schedule_id(worker))
    try:
        described = await handle.describe()
        assert described.schedule.spec.intervals[0].every == timedelta(hours=1)
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == "DunningCampaignsWorkflow"
    finally:
        await handle.delete()

    async with transaction(sessions) as session:
        session.add(
            DunningCampaign(
                organization_id=tenant_a.organization_id,
                code="std",
                name="Std",
                applied_to_organization=True,
                days_between_attempts=2,
                max_attempts=3,
                bcc_emails=[],
                thresholds=[DunningCampaignThreshold(amount_cents=100, currency="USD")],
            )
        )
    customer_id = await insert_customer(sessions, tenant_a, "late")
    invoice_id = await insert_invoice(
        sessions, tenant_a, customer_id, total_amount_cents=2_500, payment_overdue=True
    )
    made = await client.execute_workflow(
        DunningCampaignsWorkflow.run, id="dunning-test-sweep", task_queue=worker
    )
    assert made == 1
    async with sessions() as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        assert customer.dunning_currency_attempts == {"USD": 1}
    # The request: payment attempt 1 of the overdue invoice, started as its own workflow.
    attempt = client.get_workflow_handle(f"invoice-payment/{invoice_id}/1")
    assert (await attempt.describe()).workflow_type == "InvoicePaymentWorkflow"
