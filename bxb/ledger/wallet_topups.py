"""Topping up a wallet: paid credits (billed by a credit invoice), granted and voided ones.

Granted credits settle at once and voided ones leave at once. Paid credits are billed by a
"credit" invoice, finalized and numbered at once, and wait as a pending purchase: the
balance grows only when that invoice is paid (`wallets.on_invoice_paid`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from bxb.billing.periods import local_day
from bxb.billing.wallets import MAX_CENTS, MAX_CREDITS, Balance, credits_to_cents
from bxb.core.customer_clock import customer_zone
from bxb.core.invoice_collection import start_invoice_collection
from bxb.ledger import alert_triggers, notifications
from bxb.ledger.billing_entities import customer_entity
from bxb.ledger.finalizing import net_payment_term
from bxb.ledger.numbering import assign_number
from bxb.ledger.wallets import grant, record_transaction, void
from bxb.models import Customer, Fee, Invoice, Organization, Wallet, WalletTransaction
from bxb.webhooks import outbox

DEFAULT_FEE_NAME = "Prepaid credits"


@dataclass(frozen=True)
class TopUpRequest:
    paid_credits: Decimal = Decimal(0)
    granted_credits: Decimal = Decimal(0)
    voided_credits: Decimal = Decimal(0)
    name: str | None = None
    metadata: list[dict[str, Any]] = field(default_factory=list)
    # Lago's: paid credits outside the wallet's paid top-up limits are refused unless set.
    ignore_paid_top_up_limits: bool = False
    # None: the wallet's setting.
    invoice_requires_successful_payment: bool | None = None
    source: str = "manual"  # manual | interval | threshold
    # A recurring rule's "<rule>:<period or crossing>": its top-up happens once.
    trigger_key: str | None = None


@dataclass
class TopUp:
    """What a top-up wrote; `invoice_id` and `webhook_ids` are for after the commit."""

    at: datetime
    transactions: list[WalletTransaction] = field(default_factory=list)
    invoice_id: uuid.UUID | None = None
    webhook_ids: list[uuid.UUID] = field(default_factory=list)


log = logging.getLogger(__name__)


def paid_amount_cents(wallet: Wallet, credits: Decimal) -> int:
    return credits_to_cents(credits, wallet.rate_amount, wallet.currency)


def limit_errors(paid_cents: int, minimum: int | None, maximum: int | None) -> dict[str, list[str]]:
    """Lago's WalletTransactionAmountLimitsValidator: a paid top-up within the limits."""
    if minimum is not None and paid_cents < minimum:
        return {"paid_credits": ["amount_below_minimum"]}
    if maximum is not None and paid_cents > maximum:
        return {"paid_credits": ["amount_above_maximum"]}
    return {}


def amount_errors(
    rate: Decimal,
    currency: str,
    request: TopUpRequest,
    balance: Balance,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> dict[str, list[str]]:
    """Paid credits must cost at least one minor unit and, unless told to ignore them, lie
    within the wallet's paid top-up limits; balances must fit the ledger."""
    paid = credits_to_cents(request.paid_credits, rate, currency)
    granted = credits_to_cents(request.granted_credits, rate, currency)
    if request.paid_credits and paid <= 0:
        return {"paid_credits": ["invalid_paid_credits"]}
    if request.paid_credits and not request.ignore_paid_top_up_limits:
        errors = limit_errors(paid, minimum, maximum)
        if errors:
            return errors
    credits = balance.credits + request.paid_credits + request.granted_credits
    if balance.cents + paid + granted > MAX_CENTS or credits >= MAX_CREDITS:
        if request.paid_credits:
            return {"paid_credits": ["invalid_paid_credits"]}
        return {"granted_credits": ["invalid_granted_credits"]}
    return {}


async def top_up(
    session: AsyncSession, wallet: Wallet, customer: Customer, request: TopUpRequest, at: datetime
) -> TopUp:
    """Paid, then granted, then voided credits (Lago's order); the wallet is locked.

    Raises ValueError("insufficient_credits") when voiding more than the balance holds.
    """
    result = TopUp(at=at)
    if request.paid_credits > 0:
        purchase, invoice = await _purchase(session, wallet, customer, request, at)
        result.transactions.append(purchase)
        result.invoice_id = invoice.id
        result.webhook_ids = await notifications.invoice_event(session, invoice, "invoice.created")
    if request.granted_credits > 0:
        cents = paid_amount_cents(wallet, request.granted_credits)
        part = Balance(request.granted_credits, cents)
        result.transactions.append(
            grant(
                session,
                wallet,
                part,
                at,
                name=request.name,
                metadata=request.metadata,
                source=request.source,
                trigger_key=request.trigger_key,
            )
        )
    if request.voided_credits > 0:
        result.transactions.append(
            await void(
                session,
                wallet,
                request.voided_credits,
                at,
                name=request.name,
                metadata=request.metadata,
            )
        )
    await session.flush()
    result.webhook_ids += await alert_triggers.check_wallet(session, wallet, at)
    return result


async def _purchase(
    session: AsyncSession, wallet: Wallet, customer: Customer, request: TopUpRequest, at: datetime
) -> tuple[WalletTransaction, Invoice]:
    organization = await session.get(Organization, wallet.organization_id)
    assert organization is not None
    credits = request.paid_credits
    cents = paid_amount_cents(wallet, credits)
    issuing_date = local_day(at, customer_zone(customer, organization))
    entity = await customer_entity(session, customer)
    payment_term = net_payment_term(customer, entity or organization)
    sequential_id, number = await assign_number(session, organization, customer.billing_entity_id)
    fee = Fee(
        organization_id=wallet.organization_id,
        fee_type="credit",
        position=0,
        description=request.name or DEFAULT_FEE_NAME,
        item_code=wallet.code or "credit",
        amount_cents=cents,
        precise_amount_cents=Decimal(cents),
        amount_currency=wallet.currency,
        units=credits,
    )
    invoice = Invoice(
        id=uuid.uuid4(),
        organization_id=wallet.organization_id,
        customer_id=customer.id,
        billing_entity_id=customer.billing_entity_id,
        subscription_id=None,
        invoice_type="credit",
        kind="credit",
        status="finalized",
        payment_status="pending",
        currency=wallet.currency,
        issuing_date=issuing_date,
        sequential_id=sequential_id,
        number=number,
        fees_amount_cents=cents,
        total_amount_cents=cents,
        net_payment_term=payment_term,
        payment_due_date=issuing_date + timedelta(days=payment_term),
        finalized_at=at,
        fees=[fee],
    )
    session.add(invoice)
    await session.flush()
    purchase = record_transaction(
        session,
        wallet,
        Balance(credits, cents),
        status="pending",
        transaction_status="purchased",
        at=at,
        invoice_id=invoice.id,
        name=request.name,
        metadata=request.metadata,
        source=request.source,
        invoice_requires_successful_payment=(
            wallet.invoice_requires_successful_payment
            if request.invoice_requires_successful_payment is None
            else request.invoice_requires_successful_payment
        ),
        trigger_key=request.trigger_key,
    )
    return purchase, invoice


async def after_commit(
    client_for: Callable[[], Awaitable[Client]], task_queue: str | None, result: TopUp
) -> None:
    """Start collecting the top-up invoice (its first payment attempt) and deliver its
    webhooks; both are idempotent. `client_for` gives the Temporal client, and is called
    only when there is something to start."""
    if result.invoice_id is None:  # granted and voided credits start no collection
        if result.webhook_ids:  # but may have fired balance alerts
            try:
                await outbox.dispatch(await client_for(), result.webhook_ids)
            except Exception:  # committed already: a worker start dispatches pending rows
                log.exception("wallet alerts: could not dispatch %s", result.webhook_ids)
        return
    try:
        client = await client_for()
        await start_invoice_collection(
            client, result.invoice_id, task_queue=task_queue, attempt=1, at=result.at
        )
    except Exception:  # committed already: a worker start picks the collection up later
        log.exception("top-up invoice %s: could not start its collection", result.invoice_id)
        return  # its webhooks wait in the outbox likewise
    await outbox.dispatch(client, result.webhook_ids)
