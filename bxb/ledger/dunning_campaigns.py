"""Dunning campaigns at work: which campaign chases a customer, and the sweep that makes
its attempts (Lago's DunningCampaigns::BulkProcessService and ProcessAttemptService).

An invoice enters a campaign when it is overdue (`payment_overdue`: the payment retries of
the subscription workflow, bxb/workflows/collection.py, are over and it is still unpaid).
From then on the customer's campaign decides (bxb/billing/dunning.py): every
`days_between_attempts`, at most `max_attempts` times per currency, when the overdue
balance in a currency reaches its threshold, it asks for payment of the overdue invoices
of that currency, through the `PaymentRequester` the caller gives; once every currency
has used its attempts, `dunning_campaign.finished` is sent.

The campaign of a customer: the one assigned to it (`applied_dunning_campaign_id`), else the
organization's default (`applied_to_organization`); none when the customer is excluded
(`exclude_from_dunning_campaign`). The customer's time is its test clock's when it has one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.billing.dunning import CampaignTerms, DunningStanding, decide_attempt
from bxb.core.customer_clock import customer_now
from bxb.core.db import transaction
from bxb.lago_objects.dunning_campaigns import dunning_campaign_finished_object
from bxb.lago_objects.errors import not_found
from bxb.ledger.amounts import amount_due
from bxb.models import Customer, DunningCampaign, Invoice
from bxb.webhooks import outbox

log = logging.getLogger(__name__)

# Webhook rows are unique on (endpoint, type, object id): one `finished` per customer,
# campaign and last attempt.
_FINISHED_NAMESPACE = uuid.UUID("5b0f7a52-93c4-4a8e-9d7e-0d2f4f1c6a11")


async def find_campaign(session: AsyncSession, org_id: Any, code: str) -> DunningCampaign:
    """A live campaign of the organization by its code, or Lago's 404."""
    campaign = await session.scalar(
        select(DunningCampaign).where(
            DunningCampaign.organization_id == org_id,
            DunningCampaign.code == code,
            DunningCampaign.deleted_at.is_(None),
        )
    )
    if campaign is None:
        raise not_found("dunning_campaign")
    return campaign


@dataclass(frozen=True)
class OverduePaymentRequest:
    """Ask the customer to pay these overdue invoices (one currency), as attempt `attempt`
    of the campaign in that currency."""

    organization_id: uuid.UUID
    customer_id: uuid.UUID
    external_customer_id: str
    dunning_campaign_id: uuid.UUID
    dunning_campaign_code: str
    currency: str
    invoice_ids: tuple[uuid.UUID, ...]
    amount_cents: int
    attempt: int
    at: datetime


# "Request payment of these overdue invoices": a payment request collected like an
# invoice (the payments part's /payment_requests). Called after the attempt is committed.
PaymentRequester = Callable[[OverduePaymentRequest], Awaitable[None]]


@dataclass(frozen=True)
class CustomerAttempt:
    requests: list[OverduePaymentRequest]
    webhook_ids: list[uuid.UUID]


async def applicable_campaign(session: AsyncSession, customer: Customer) -> DunningCampaign | None:
    if customer.exclude_from_dunning_campaign:
        return None
    query = select(DunningCampaign).where(
        DunningCampaign.organization_id == customer.organization_id,
        DunningCampaign.deleted_at.is_(None),
    )
    if customer.applied_dunning_campaign_id is not None:
        query = query.where(DunningCampaign.id == customer.applied_dunning_campaign_id)
    else:
        query = query.where(DunningCampaign.applied_to_organization.is_(True))
    campaign: DunningCampaign | None = await session.scalar(query)
    return campaign


async def overdue_invoices(session: AsyncSession, customer_id: uuid.UUID) -> list[Invoice]:
    """Finalized, unpaid invoices past their collection (oldest first)."""
    invoices = await session.scalars(
        select(Invoice)
        .where(
            Invoice.customer_id == customer_id,
            Invoice.payment_overdue.is_(True),
            Invoice.status == "finalized",
            Invoice.payment_status != "succeeded",
        )
        .order_by(Invoice.issuing_date, Invoice.id)
    )
    return [invoice for invoice in invoices if amount_due(invoice) > 0]


def overdue_balances(invoices: Sequence[Invoice]) -> dict[str, int]:
    balances: dict[str, int] = {}
    for invoice in invoices:
        balances[invoice.currency] = balances.get(invoice.currency, 0) + amount_due(invoice)
    return balances


def campaign_terms(campaign: DunningCampaign) -> CampaignTerms:
    return CampaignTerms(
        code=campaign.code,
        days_between_attempts=campaign.days_between_attempts,
        max_attempts=campaign.max_attempts,
        thresholds={t.currency: t.amount_cents for t in campaign.thresholds},
    )


def assign_dunning_campaign(customer: Customer, campaign: DunningCampaign | None) -> None:
    """Chase this customer with `campaign` (None: the organization's default); a change
    starts its attempts over."""
    if (campaign.id if campaign is not None else None) == customer.applied_dunning_campaign_id:
        return
    customer.applied_dunning_campaign = campaign
    reset_standing(customer)


def reset_standing(customer: Customer) -> None:
    """Start over: the customer's campaign changed (Lago resets the attempts)."""
    customer.dunning_currency_attempts = {}
    customer.last_dunning_campaign_attempt = 0
    customer.last_dunning_campaign_attempt_at = None


async def attempt_for_customer(
    session: AsyncSession, customer: Customer, now: datetime | None = None
) -> CustomerAttempt:
    """Make the attempt due for this customer now, if any, in the caller's transaction
    (the customer row should be locked). Returns the payment requests to make once the
    transaction is committed, and the webhooks to dispatch."""
    nothing = CustomerAttempt([], [])
    campaign = await applicable_campaign(session, customer)
    if campaign is None:
        return nothing
    invoices = await overdue_invoices(session, customer.id)
    balances = overdue_balances(invoices)
    at = now or await customer_now(session, customer)
    standing = DunningStanding(
        dict(customer.dunning_currency_attempts), customer.last_dunning_campaign_attempt_at
    )
    attempt = decide_attempt(campaign_terms(campaign), standing, balances, at)
    if attempt is None:
        return nothing
    customer.dunning_currency_attempts = dict(attempt.standing.attempts)
    customer.last_dunning_campaign_attempt += 1
    customer.last_dunning_campaign_attempt_at = at
    requests = [
        OverduePaymentRequest(
            organization_id=customer.organization_id,
            customer_id=customer.id,
            external_customer_id=customer.external_id,
            dunning_campaign_id=campaign.id,
            dunning_campaign_code=campaign.code,
            currency=currency,
            invoice_ids=tuple(i.id for i in invoices if i.currency == currency),
            amount_cents=balances[currency],
            attempt=attempt.standing.attempts[currency],
            at=at,
        )
        for currency in attempt.currencies
    ]
    webhook_ids: list[uuid.UUID] = []
    if attempt.finished:
        payload = {
            "dunning_campaign": dunning_campaign_finished_object(customer, campaign.code, balances)
        }
        object_id = uuid.uuid5(_FINISHED_NAMESPACE, f"{customer.id}/{campaign.id}/{at.isoformat()}")
        webhook_ids = await outbox.emit(
            session, customer.organization_id, "dunning_campaign.finished", object_id, payload
        )
    return CustomerAttempt(requests, webhook_ids)


async def customers_in_dunning(
    session: AsyncSession, organization_id: uuid.UUID | None = None
) -> list[uuid.UUID]:
    """Customers that may be chased: not excluded, with an overdue invoice."""
    query = (
        select(Customer.id)
        .where(
            Customer.deleted_at.is_(None),
            Customer.exclude_from_dunning_campaign.is_(False),
            Customer.id.in_(
                select(Invoice.customer_id).where(
                    Invoice.payment_overdue.is_(True), Invoice.status == "finalized"
                )
            ),
        )
        .order_by(Customer.id)
    )
    if organization_id is not None:
        query = query.where(Customer.organization_id == organization_id)
    return list((await session.scalars(query)).all())


async def run_dunning_campaigns(
    sessions: async_sessionmaker[AsyncSession],
    request_payment: PaymentRequester,
    *,
    organization_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> tuple[int, list[uuid.UUID]]:
    """One sweep: every customer in dunning gets the attempt due, if any. Returns the
    number of payment requests made and the webhooks to dispatch. Safe to run again: a
    customer's attempt is committed with its date, so a second sweep finds it too early."""
    async with sessions() as session:
        customer_ids = await customers_in_dunning(session, organization_id)
    made = 0
    webhook_ids: list[uuid.UUID] = []
    for customer_id in customer_ids:
        async with transaction(sessions) as session:
            customer = await session.scalar(
                select(Customer).where(Customer.id == customer_id).with_for_update(of=Customer)
            )
            if customer is None:  # pragma: no cover - deleted meanwhile
                continue
            attempt = await attempt_for_customer(session, customer, now)
        webhook_ids += attempt.webhook_ids
        for request in attempt.requests:
            try:
                await request_payment(request)
                made += 1
            except Exception:  # one customer's failure must not stop the others' attempts
                log.exception("dunning payment request failed for customer %s", customer_id)
    return made, webhook_ids
