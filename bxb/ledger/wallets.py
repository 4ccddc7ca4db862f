"""Wallets: moving prepaid credits in and out, under the wallet's row lock.

Every change of a wallet's balance is a settled transaction written in the same database
transaction, while the wallet row is locked (SELECT ... FOR UPDATE): concurrent invoices
and top-ups queue on that lock, so a wallet is never overdrawn and nothing is counted twice.

Expiry is applied on access: whoever touches a wallet whose `expiration_at` has passed
(read, list, top up, consume, pay a top-up) first voids its remaining credits at the
expiration instant and terminates it. The outcome is the one a timer would give, exact to
the instant, without a timer.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.wallets import Balance, consumption, is_expired, voiding
from bxb.ledger.amounts import amount_due
from bxb.models import Invoice, Wallet, WalletTransaction


async def lock_wallet(session: AsyncSession, wallet_id: uuid.UUID) -> Wallet:
    """The wallet row, locked until the commit, with its latest committed values."""
    wallet = await session.scalar(
        select(Wallet)
        .where(Wallet.id == wallet_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert wallet is not None  # wallets are never deleted
    return wallet


def balance_of(wallet: Wallet) -> Balance:
    return Balance(wallet.credits_balance, wallet.balance_cents)


def _set_balance(wallet: Wallet, balance: Balance) -> None:
    wallet.credits_balance, wallet.balance_cents = balance.credits, balance.cents


def record_transaction(
    session: AsyncSession,
    wallet: Wallet,
    part: Balance,
    *,
    status: str,
    transaction_status: str,
    at: datetime,
    invoice_id: uuid.UUID | None = None,
    name: str | None = None,
    metadata: list[dict[str, Any]] | None = None,
) -> WalletTransaction:
    inbound = transaction_status in ("purchased", "granted")
    row = WalletTransaction(
        id=uuid.uuid4(),
        organization_id=wallet.organization_id,
        wallet_id=wallet.id,
        invoice_id=invoice_id,
        status=status,
        transaction_status=transaction_status,
        transaction_type="inbound" if inbound else "outbound",
        source="manual",
        credit_amount=part.credits,
        amount_cents=part.cents,
        name=name,
        metadata_=metadata or [],
        settled_at=at if status == "settled" else None,
        created_at=at,
    )
    session.add(row)
    return row


def grant(
    session: AsyncSession,
    wallet: Wallet,
    part: Balance,
    at: datetime,
    *,
    transaction_status: str = "granted",
    name: str | None = None,
    metadata: list[dict[str, Any]] | None = None,
) -> WalletTransaction:
    """Credit the wallet now (free credits, or a purchase settled on the spot)."""
    row = record_transaction(
        session,
        wallet,
        part,
        status="settled",
        transaction_status=transaction_status,
        at=at,
        name=name,
        metadata=metadata,
    )
    _set_balance(wallet, balance_of(wallet) + part)
    wallet.last_balance_sync_at = at
    return row


def void(
    session: AsyncSession,
    wallet: Wallet,
    credits: Decimal,
    at: datetime,
    *,
    name: str | None = None,
    metadata: list[dict[str, Any]] | None = None,
) -> WalletTransaction:
    """Remove `credits` (and their value) from the wallet; ValueError when it lacks them."""
    part = voiding(balance_of(wallet), credits)
    row = record_transaction(
        session,
        wallet,
        part,
        status="settled",
        transaction_status="voided",
        at=at,
        name=name,
        metadata=metadata,
    )
    _set_balance(wallet, balance_of(wallet) - part)
    wallet.last_balance_sync_at = at
    return row


def terminate(session: AsyncSession, wallet: Wallet, at: datetime) -> None:
    """Void what is left and close the wallet (the caller holds its lock)."""
    if wallet.status != "active":
        return
    if wallet.credits_balance > 0 or wallet.balance_cents > 0:
        void(session, wallet, wallet.credits_balance, at)
    wallet.status = "terminated"
    wallet.terminated_at = at


def expire_if_due(session: AsyncSession, wallet: Wallet, now: datetime) -> bool:
    """Terminate a locked wallet whose expiration has passed, as of that instant."""
    if wallet.status != "active" or not is_expired(wallet.expiration_at, now):
        return False
    assert wallet.expiration_at is not None
    terminate(session, wallet, wallet.expiration_at)
    return True


async def refresh_expiry(session: AsyncSession, wallet: Wallet, now: datetime) -> bool:
    """Apply a due expiry to a wallet being read; True when the caller must commit."""
    if wallet.status != "active" or not is_expired(wallet.expiration_at, now):
        return False
    locked = await lock_wallet(session, wallet.id)
    return expire_if_due(session, locked, now)


async def _invoiced_transaction(
    session: AsyncSession, invoice_id: uuid.UUID
) -> WalletTransaction | None:
    row: WalletTransaction | None = await session.scalar(
        select(WalletTransaction)
        .where(
            WalletTransaction.invoice_id == invoice_id,
            WalletTransaction.transaction_status == "invoiced",
        )
        .execution_options(populate_existing=True)
    )
    return row


async def apply_prepaid_credits(session: AsyncSession, invoice: Invoice, at: datetime) -> int:
    """Consume the customer's active wallet credits against the invoice being finalized.

    Called inside the finalizing transaction after credit notes were applied, with
    `invoice.total_amount_cents` already net of them. Reduces the invoice's total by what
    it consumes, sets `invoice.prepaid_credit_amount_cents`, records the wallet
    transactions, and returns the amount consumed in cents (0 when nothing applies).
    """
    if invoice.invoice_type == "credit":  # a top-up is never paid with its own credits
        return 0
    done = await _invoiced_transaction(session, invoice.id)
    if done is not None:
        return done.amount_cents
    wallet = await session.scalar(
        select(Wallet)
        .where(
            Wallet.customer_id == invoice.customer_id,
            Wallet.status == "active",
            Wallet.currency == invoice.currency,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if wallet is None:
        return 0
    done = await _invoiced_transaction(session, invoice.id)  # raced while we waited
    if done is not None:
        return done.amount_cents
    if expire_if_due(session, wallet, at):
        return 0
    part = consumption(balance_of(wallet), amount_due(invoice))
    if part.cents == 0:
        return 0
    record_transaction(
        session,
        wallet,
        part,
        status="settled",
        transaction_status="invoiced",
        at=at,
        invoice_id=invoice.id,
    )
    _set_balance(wallet, balance_of(wallet) - part)
    wallet.consumed_credits += part.credits
    wallet.consumed_amount_cents += part.cents
    wallet.last_consumed_credit_at = at
    invoice.prepaid_credit_amount_cents += part.cents
    invoice.total_amount_cents -= part.cents
    return part.cents


async def recredit_voided_invoice(
    session: AsyncSession, invoice: Invoice, at: datetime
) -> WalletTransaction | None:
    """Give a voided invoice's prepaid credits back to the wallet that paid them (Lago's
    recredit): a `granted` transaction linked to the voided invoice, and the wallet's
    consumption undone. Not when that wallet has ended (its credits were voided with it).
    """
    paid = await _invoiced_transaction(session, invoice.id)
    if paid is None or paid.amount_cents <= 0:
        return None
    wallet = await lock_wallet(session, paid.wallet_id)
    if expire_if_due(session, wallet, at) or wallet.status != "active":
        return None
    part = Balance(paid.credit_amount, paid.amount_cents)
    row = grant(session, wallet, part, at, name=f"Voided invoice {invoice.number}")
    row.invoice_id = invoice.id  # unique with its status: an invoice is recredited once
    wallet.consumed_credits -= part.credits
    wallet.consumed_amount_cents -= part.cents
    return row


async def _pending_purchase(
    session: AsyncSession, invoice: Invoice
) -> tuple[Wallet, WalletTransaction] | None:
    """The locked wallet and pending purchase a top-up invoice bills, if any."""
    if invoice.invoice_type != "credit":
        return None
    query = select(WalletTransaction).where(
        WalletTransaction.invoice_id == invoice.id,
        WalletTransaction.transaction_status == "purchased",
    )
    purchase = await session.scalar(query)
    if purchase is None or purchase.status != "pending":
        return None
    wallet = await lock_wallet(session, purchase.wallet_id)
    # Read again under the lock: a concurrent caller may have settled it meanwhile.
    purchase = await session.scalar(query.execution_options(populate_existing=True))
    if purchase is None or purchase.status != "pending":
        return None
    return wallet, purchase


async def on_invoice_paid(session: AsyncSession, invoice: Invoice, at: datetime) -> None:
    """An invoice became fully paid: settle the paid top-up it bills, if it is one.

    Called by the payments code in the transaction that marks the invoice paid.
    """
    found = await _pending_purchase(session, invoice)
    if found is None:
        return
    wallet, purchase = found
    expire_if_due(session, wallet, at)
    purchase.status = "settled"
    purchase.settled_at = at
    _set_balance(
        wallet, balance_of(wallet) + Balance(purchase.credit_amount, purchase.amount_cents)
    )
    wallet.last_balance_sync_at = at
    if wallet.status != "active":
        # Paid after the wallet closed: the ledger shows the credits arrive and go at once
        # (a refund is a credit note on the top-up invoice).
        void(session, wallet, wallet.credits_balance, at)


async def on_invoice_voided(session: AsyncSession, invoice: Invoice, at: datetime) -> None:
    """A top-up invoice was voided before being paid: its purchase failed."""
    found = await _pending_purchase(session, invoice)
    if found is None:
        return
    _, purchase = found
    purchase.status = "failed"
    purchase.failed_at = at
