"""Wallets: moving prepaid credits in and out, under the wallet's row lock.

Every change of a wallet's balance is a settled transaction written in the same database
transaction, while the wallet row is locked (SELECT ... FOR UPDATE): concurrent invoices
and top-ups queue on that lock, so a wallet is never overdrawn and nothing is counted twice.

A customer may hold several active wallets: an invoice is paid by them in Lago's order
(priority, then creation), each limited to the fees its `applies_to` allows
(bxb.billing.wallets.allocate). On a traceable wallet every outbound transaction records
which inbound ones it drew from, oldest grants first (Lago's consumption order), in
`wallet_transaction_consumptions`, written in the same transaction.

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

from bxb.billing.wallets import (
    Balance,
    FeeShare,
    WalletScope,
    allocate,
    consumption,
    is_expired,
    voiding,
)
from bxb.ledger.amounts import amount_due
from bxb.ledger.billing_parties import active_wallets, may_hold
from bxb.ledger.wallet_consumptions import track_consumption
from bxb.models import (
    BillableMetric,
    Charge,
    Fee,
    Invoice,
    Wallet,
    WalletTransaction,
)


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
    source: str = "manual",
    invoice_requires_successful_payment: bool = False,
    trigger_key: str | None = None,
) -> WalletTransaction:
    inbound = transaction_status in ("purchased", "granted")
    remaining = part.cents if inbound and status == "settled" and wallet.traceable else None
    row = WalletTransaction(
        id=uuid.uuid4(),
        organization_id=wallet.organization_id,
        wallet_id=wallet.id,
        invoice_id=invoice_id,
        status=status,
        transaction_status=transaction_status,
        transaction_type="inbound" if inbound else "outbound",
        source=source,
        credit_amount=part.credits,
        amount_cents=part.cents,
        name=name,
        metadata_=metadata or [],
        settled_at=at if status == "settled" else None,
        created_at=at,
        remaining_amount_cents=remaining,
        priority=50,
        invoice_requires_successful_payment=invoice_requires_successful_payment,
        trigger_key=trigger_key,
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
    source: str = "manual",
    trigger_key: str | None = None,
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
        source=source,
        trigger_key=trigger_key,
    )
    _set_balance(wallet, balance_of(wallet) + part)
    wallet.last_balance_sync_at = at
    return row


async def void(
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
    await track_consumption(session, wallet, row)
    return row


async def terminate(session: AsyncSession, wallet: Wallet, at: datetime) -> None:
    """Void what is left and close the wallet (the caller holds its lock)."""
    if wallet.status != "active":
        return
    if wallet.credits_balance > 0 or wallet.balance_cents > 0:
        await void(session, wallet, wallet.credits_balance, at)
    wallet.status = "terminated"
    wallet.terminated_at = at


async def expire_if_due(session: AsyncSession, wallet: Wallet, now: datetime) -> bool:
    """Terminate a locked wallet whose expiration has passed, as of that instant."""
    if wallet.status != "active" or not is_expired(wallet.expiration_at, now):
        return False
    assert wallet.expiration_at is not None
    await terminate(session, wallet, wallet.expiration_at)
    return True


async def refresh_expiry(session: AsyncSession, wallet: Wallet, now: datetime) -> bool:
    """Apply a due expiry to a wallet being read; True when the caller must commit."""
    if wallet.status != "active" or not is_expired(wallet.expiration_at, now):
        return False
    locked = await lock_wallet(session, wallet.id)
    return await expire_if_due(session, locked, now)


async def _invoiced_transactions(
    session: AsyncSession, invoice_id: uuid.UUID
) -> list[WalletTransaction]:
    rows = await session.scalars(
        select(WalletTransaction)
        .where(
            WalletTransaction.invoice_id == invoice_id,
            WalletTransaction.transaction_status == "invoiced",
        )
        .order_by(WalletTransaction.created_at, WalletTransaction.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def _fee_shares(session: AsyncSession, invoice: Invoice) -> list[FeeShare]:
    """The invoice's fees as Lago groups them for wallets: type, metric, and the amount
    after coupons with taxes."""
    rows = await session.execute(
        select(
            Fee.fee_type,
            BillableMetric.code,
            Fee.amount_cents - Fee.coupons_amount_cents + Fee.taxes_amount_cents,
        )
        .outerjoin(Charge, Charge.id == Fee.charge_id)
        .outerjoin(BillableMetric, BillableMetric.id == Charge.billable_metric_id)
        .where(Fee.invoice_id == invoice.id)
    )
    return [FeeShare(fee_type, code, int(cents)) for fee_type, code, cents in rows]


def scope_of(wallet: Wallet) -> WalletScope:
    return WalletScope(
        wallet.balance_cents,
        frozenset(wallet.allowed_fee_types or ()),
        frozenset(wallet.billable_metric_codes or ()),
    )


async def apply_prepaid_credits(
    session: AsyncSession, invoice: Invoice, at: datetime, *, written_now: bool = False
) -> int:
    """Consume the customer's active wallets' credits against the invoice being finalized.

    Called inside the finalizing transaction after credit notes were applied, with
    `invoice.total_amount_cents` already net of them. The wallets in the invoice's
    currency pay in Lago's order (priority, then creation), each within its applies_to
    limits (bxb.billing.wallets.allocate). Reduces the invoice's total by what they pay,
    sets `invoice.prepaid_credit_amount_cents`, records one `invoiced` transaction per
    wallet (and, on traceable wallets, the fundings it drew from), and returns the amount
    consumed in cents (0 when nothing applies). Idempotent per invoice (an invoice
    `written_now` by this transaction has nothing applied yet: not asked).
    """
    if invoice.invoice_type == "credit":  # a top-up is never paid with its own credits
        return 0
    if not written_now:
        done = await _invoiced_transactions(session, invoice.id)
        if done:
            return sum(row.amount_cents for row in done)
    if not may_hold(session, invoice.customer_id, "wallets"):
        return 0
    # One lock order for every caller (priority, creation, id): no deadlock between two
    # invoices of one customer.
    wallets = list(
        await session.scalars(
            select(Wallet)
            .where(*active_wallets(invoice.customer_id), Wallet.currency == invoice.currency)
            .order_by(Wallet.priority, Wallet.created_at, Wallet.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    if not wallets:
        return 0
    if not written_now:
        done = await _invoiced_transactions(session, invoice.id)  # raced while we waited
        if done:
            return sum(row.amount_cents for row in done)
    live = [w for w in wallets if not await expire_if_due(session, w, at)]
    live = [w for w in live if w.balance_cents > 0]
    if not live:
        return 0
    restricted = any(not scope_of(w).unrestricted for w in live)
    shares = await _fee_shares(session, invoice) if restricted else []
    amounts = allocate(amount_due(invoice), shares, [scope_of(w) for w in live])
    total = 0
    for wallet, cents in zip(live, amounts, strict=True):
        part = consumption(balance_of(wallet), cents)
        if part.cents == 0:
            continue
        row = record_transaction(
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
        await track_consumption(session, wallet, row)
        total += part.cents
    invoice.prepaid_credit_amount_cents += total
    invoice.total_amount_cents -= total
    return total


async def recredit_voided_invoice(
    session: AsyncSession, invoice: Invoice, at: datetime
) -> list[WalletTransaction]:
    """Give a voided invoice's prepaid credits back to the wallets that paid them (Lago's
    recredit): a `granted` transaction per wallet linked to the voided invoice, and each
    wallet's consumption undone. Not to a wallet that has ended (its credits were voided
    with it).
    """
    rows: list[WalletTransaction] = []
    for paid in await _invoiced_transactions(session, invoice.id):
        if paid.amount_cents <= 0:
            continue
        wallet = await lock_wallet(session, paid.wallet_id)
        if await expire_if_due(session, wallet, at) or wallet.status != "active":
            continue
        part = Balance(paid.credit_amount, paid.amount_cents)
        row = grant(session, wallet, part, at, name=f"Voided invoice {invoice.number}")
        row.invoice_id = invoice.id  # unique with its status: an invoice is recredited once
        wallet.consumed_credits -= part.credits
        wallet.consumed_amount_cents -= part.cents
        rows.append(row)
    return rows


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
    await expire_if_due(session, wallet, at)
    purchase.status = "settled"
    purchase.settled_at = at
    if wallet.traceable:
        purchase.remaining_amount_cents = purchase.amount_cents
    _set_balance(
        wallet, balance_of(wallet) + Balance(purchase.credit_amount, purchase.amount_cents)
    )
    wallet.last_balance_sync_at = at
    if wallet.status != "active":
        # Paid after the wallet closed: the ledger shows the credits arrive and go at once
        # (a refund is a credit note on the top-up invoice).
        await void(session, wallet, wallet.credits_balance, at)


async def on_invoice_voided(session: AsyncSession, invoice: Invoice, at: datetime) -> None:
    """A top-up invoice was voided before being paid: its purchase failed."""
    found = await _pending_purchase(session, invoice)
    if found is None:
        return
    _, purchase = found
    purchase.status = "failed"
    purchase.failed_at = at
