"""Creating a customer at its payment provider (Lago's `sync_with_provider`).

A customer with `payment_provider: "stripe"`, `sync_with_provider: true` and no
`provider_customer_id` gets a Stripe customer (name, email, phone, address, metadata
`lago_customer_id` and `customer_id`), whose id becomes its `provider_customer_id`.

The API commits the customer, then starts ProviderCustomerWorkflow, which runs
`sync_provider_customer` in an activity; Temporal retries transient failures.

Exactly once: the customer row is locked (`FOR UPDATE`) from before the provider is asked
until its id is committed, so two runs never both create. A run can still die after the
provider created the customer and before our commit; so every run first looks for a
provider customer carrying our `lago_customer_id` (by email, one query; a retry looks at
every customer, since the email may be missing or changed) and adopts it. localstripe
ignores idempotency keys, so the key sent is only a second guard on real Stripe.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from bxb.core.db import transaction
from bxb.lago_objects.customers import customer_object
from bxb.lago_objects.taxes import applied_taxes
from bxb.models import AppliedTax, Customer, Organization
from bxb.payments.provider import CustomerDetails, PaymentProvider, ProviderRefusedError
from bxb.webhooks import outbox
from bxb.workflows.provider_customer import (
    ProviderCustomerWorkflow,
    provider_customer_workflow_id,
)

log = logging.getLogger(__name__)

CREATED_WEBHOOK = "customer.payment_provider_created"
ERROR_WEBHOOK = "customer.payment_provider_error"

SyncStatus = Literal["created", "found", "not_needed", "refused", "no_provider"]


class SyncOutcome(BaseModel):
    status: SyncStatus
    provider_customer_id: str | None = None
    # The provider's reason when status is "refused".
    message: str | None = None
    # Webhooks this run queued (committed); the caller dispatches them.
    webhook_ids: list[uuid.UUID] = []


def needs_sync(customer: Customer) -> bool:
    return (
        customer.deleted_at is None
        and customer.payment_provider == "stripe"
        and customer.sync_with_provider
        and not customer.provider_customer_id
    )


def customer_details(customer: Customer) -> CustomerDetails:
    """What the provider is told. Lago allows several emails separated by commas; the
    provider gets the first."""
    full_name = " ".join(part for part in (customer.firstname, customer.lastname) if part)
    email = (customer.email or "").split(",")[0].strip()
    address = {
        key: value
        for key, value in (
            ("line1", customer.address_line1),
            ("line2", customer.address_line2),
            ("city", customer.city),
            ("state", customer.state),
            ("postal_code", customer.zipcode),
            ("country", customer.country),
        )
        if value
    }
    return CustomerDetails(
        lago_customer_id=str(customer.id),
        external_id=customer.external_id,
        name=customer.name or full_name or None,
        email=email or None,
        phone=customer.phone,
        address=address or None,
    )


async def sync_provider_customer(
    sessions: async_sessionmaker[AsyncSession],
    provider: PaymentProvider | None,
    customer_id: uuid.UUID,
    *,
    retry: bool,
) -> SyncOutcome:
    """Give the customer its provider customer, once. `retry`: an earlier run may have
    reached the provider. Raises ProviderUnavailableError on transient failures."""
    async with transaction(sessions) as session:
        customer = await session.get(
            Customer, customer_id, with_for_update={"of": Customer}, populate_existing=True
        )
        if customer is None or not needs_sync(customer):
            known = customer.provider_customer_id if customer else None
            return SyncOutcome(status="not_needed", provider_customer_id=known)
        if provider is None:
            log.warning("customer %s: sync_with_provider but STRIPE_API_KEY is unset", customer_id)
            return SyncOutcome(status="no_provider", message="stripe is not configured")
        details = customer_details(customer)
        status: SyncStatus = "found"
        provider_id = await provider.find_customer(
            details.lago_customer_id, details.email, scan_all=retry
        )
        if provider_id is None:
            status = "created"
            # Changes to the customer since a failed try change the key (Stripe refuses a
            # key reused with other parameters).
            key = f"{customer.id}-{customer.updated_at.timestamp():.6f}"
            try:
                provider_id = await provider.create_customer(details, key)
            except ProviderRefusedError as error:
                webhooks = await _emit_error(session, customer, str(error))
                return SyncOutcome(status="refused", message=str(error), webhook_ids=webhooks)
        customer.provider_customer_id = provider_id
        await session.flush()
        await session.refresh(customer)
        webhooks = await _emit_created(session, customer)
    return SyncOutcome(status=status, provider_customer_id=provider_id, webhook_ids=webhooks)


async def _emit_created(session: AsyncSession, customer: Customer) -> list[uuid.UUID]:
    if not await outbox.listeners(session, customer.organization_id, CREATED_WEBHOOK):
        return []
    organization = await session.get(Organization, customer.organization_id)
    assert organization is not None
    taxes = await applied_taxes(session, AppliedTax.customer_id, [customer.id])
    payload = {"customer": customer_object(customer, organization, taxes[customer.id])}
    return await outbox.emit(
        session, customer.organization_id, CREATED_WEBHOOK, customer.id, payload
    )


async def _emit_error(session: AsyncSession, customer: Customer, error: str) -> list[uuid.UUID]:
    payload = {
        "payment_provider_customer_error": {
            "lago_customer_id": str(customer.id),
            "external_customer_id": customer.external_id,
            "payment_provider": customer.payment_provider,
            "payment_provider_code": customer.payment_provider_code,
            "provider_error": error,
        }
    }
    return await outbox.emit(session, customer.organization_id, ERROR_WEBHOOK, customer.id, payload)


async def start_provider_customer_sync(
    client: Client, customer_id: uuid.UUID, *, task_queue: str | None = None, again: bool = True
) -> None:
    """Start the customer's sync workflow; a running one is reused. `again=False` (worker
    start-up) does not rerun a sync that already ended, e.g. refused by the provider."""
    await client.start_workflow(
        ProviderCustomerWorkflow.run,
        customer_id,
        id=provider_customer_workflow_id(customer_id),
        task_queue=outbox.resolve_task_queue(task_queue),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=(
            WorkflowIDReusePolicy.ALLOW_DUPLICATE
            if again
            else WorkflowIDReusePolicy.REJECT_DUPLICATE
        ),
    )


async def resume_unstarted_syncs(
    sessions: async_sessionmaker[AsyncSession], client: Client, task_queue: str
) -> int:
    """Start the syncs whose start was lost (the API committed the customer, then could
    not reach Temporal). Called when a worker starts."""
    async with sessions() as session:
        ids = list(
            await session.scalars(
                select(Customer.id).where(
                    Customer.deleted_at.is_(None),
                    Customer.payment_provider == "stripe",
                    Customer.sync_with_provider.is_(True),
                    Customer.provider_customer_id.is_(None),
                )
            )
        )
    for customer_id in ids:
        # A sync that ran already (e.g. the provider refused the customer) is not rerun.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await start_provider_customer_sync(
                client, customer_id, task_queue=task_queue, again=False
            )
    return len(ids)
