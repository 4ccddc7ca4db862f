"""What an invoicing transaction reads once about its customer and period, in one statement.

A period close asks the session for the customer (with its billing entity) and the
organization several times (grace period, finalizing, the webhook), and asks three more
tables whether the customer has active coupons, available credit notes or active wallets.
Most customers have none of the three, and each question is a round trip to PostgreSQL
(and about a millisecond of the worker's CPU). `hold_billing_parties` reads all of it in
one statement and keeps it for the transaction (`session.info`); `may_hold` then answers
"certainly none" without a query, and anything else falls through to the locked read
the step always did.

For a period's invoice the same statement also says whether that invoice was written
before (a retried close finds it by id) and whether the segment's plan has a minimum
commitment (most have none: no query for it).

Reading the answers at the start of the transaction instead of at each step is the
same READ COMMITTED snapshot question either way: a coupon, credit note or wallet
committed while the invoice is being written is used by the customer's next invoice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.models import (
    AppliedCoupon,
    CreditNote,
    Customer,
    Invoice,
    Organization,
    Plan,
    Subscription,
    Wallet,
)

PARTIES_KEY = "billing_parties"
HOLDINGS_KEY = "customer_holdings"
PERIOD_KEY = "period_invoice"

Holding = Literal["coupons", "credit_notes", "wallets"]


@dataclass(frozen=True)
class CustomerHoldings:
    customer_id: uuid.UUID
    coupons: bool
    credit_notes: bool
    wallets: bool


@dataclass(frozen=True)
class InvoicedPeriod:
    """A period's invoice as the close looks for it: one per segment, period and kind."""

    segment_id: uuid.UUID
    start: datetime
    end: datetime
    kind: str


@dataclass(frozen=True)
class PeriodFacts:
    period: InvoicedPeriod
    invoice_id: uuid.UUID | None  # written by an earlier attempt
    commitment: bool  # the segment's plan has a minimum commitment


# What each step consumes, customer-wide: the steps narrow these (currency, the invoice
# itself) and read with a lock; the one statement below asks whether any row matches, so
# it can never say "none" where a step would have found something.


def active_coupons(customer_id: uuid.UUID) -> tuple[ColumnElement[bool], ...]:
    return (AppliedCoupon.customer_id == customer_id, AppliedCoupon.status == "active")


def available_credit_notes(customer_id: uuid.UUID) -> tuple[ColumnElement[bool], ...]:
    return (
        CreditNote.customer_id == customer_id,
        CreditNote.credit_status == "available",
        CreditNote.balance_amount_cents > 0,
    )


def active_wallets(customer_id: uuid.UUID) -> tuple[ColumnElement[bool], ...]:
    return (Wallet.customer_id == customer_id, Wallet.status == "active")


async def hold_billing_parties(
    session: AsyncSession,
    customer_id: uuid.UUID,
    organization_id: uuid.UUID,
    period: InvoicedPeriod,
) -> None:
    """Load the customer, its billing entity, the organization and what the customer
    holds, and keep them for the transaction (the identity map keeps a row only while
    something refers to it), with what `period_invoice_id` and `may_have_commitment`
    answer about `period`."""
    coupons = exists().where(*active_coupons(customer_id))
    credit_notes = exists().where(*available_credit_notes(customer_id))
    wallets = exists().where(*active_wallets(customer_id))
    invoice_id = (
        select(Invoice.id)
        .where(
            Invoice.subscription_id == period.segment_id,
            Invoice.period_start == period.start,
            Invoice.period_end == period.end,
            Invoice.kind == period.kind,
        )
        .limit(1)
        .scalar_subquery()
    )
    commitment = exists().where(
        Subscription.id == period.segment_id,
        Plan.id == Subscription.plan_id,
        Plan.minimum_commitment_amount_cents.is_not(None),
        Plan.minimum_commitment_amount_cents != 0,
    )
    row = (
        await session.execute(
            select(
                Customer,
                Organization,
                coupons.label("coupons"),
                credit_notes.label("credit_notes"),
                wallets.label("wallets"),
                invoice_id.label("invoice_id"),
                commitment.label("commitment"),
            )
            .join(Organization, Organization.id == Customer.organization_id)
            .where(Customer.id == customer_id, Customer.organization_id == organization_id)
        )
    ).one()
    session.info[PARTIES_KEY] = (row.Customer, row.Organization)
    session.info[HOLDINGS_KEY] = CustomerHoldings(
        customer_id, bool(row.coupons), bool(row.credit_notes), bool(row.wallets)
    )
    session.info[PERIOD_KEY] = PeriodFacts(period, row.invoice_id, bool(row.commitment))


def period_invoice_id(session: AsyncSession, period: InvoicedPeriod) -> uuid.UUID | None:
    """The period's invoice written by an earlier attempt, as the single read found it."""
    facts = session.info.get(PERIOD_KEY)
    assert isinstance(facts, PeriodFacts), "hold_billing_parties reads it first"
    assert facts.period == period
    return facts.invoice_id


def may_have_commitment(session: AsyncSession, segment_id: uuid.UUID) -> bool:
    """False only when this transaction's read found no minimum commitment on the plan of
    the segment being invoiced."""
    facts = session.info.get(PERIOD_KEY)
    if not isinstance(facts, PeriodFacts) or facts.period.segment_id != segment_id:
        return True
    return facts.commitment


def may_hold(session: AsyncSession, customer_id: uuid.UUID, holding: Holding) -> bool:
    """False only when this transaction's read found none of `holding` for the customer."""
    held = session.info.get(HOLDINGS_KEY)
    if not isinstance(held, CustomerHoldings) or held.customer_id != customer_id:
        return True
    return bool(getattr(held, holding))


def credit_note_written(session: AsyncSession, customer_id: uuid.UUID) -> None:
    """A credit note with a balance was written in this transaction (e.g. the unused days
    of a terminated subscription): the invoice written next must look for it."""
    held = session.info.get(HOLDINGS_KEY)
    if isinstance(held, CustomerHoldings) and held.customer_id == customer_id:
        session.info[HOLDINGS_KEY] = replace(held, credit_notes=True)
