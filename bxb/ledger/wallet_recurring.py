"""Recurring top-ups: running a wallet's rule when it is due, once per period or crossing.

- `interval` rules top up on each anniversary of their `started_at` (else the wallet's
  creation) in the customer's time; the latest anniversary not yet served is served once
  (trigger key `<rule>:interval:<date>`); missed older ones are not made up (as Lago's
  daily job).
- `threshold` rules top up when the balance (with credits bought but unpaid) is at or
  below `threshold_credits`, once per crossing: the key counts the wallet's outbound
  transactions so far (`<rule>:threshold:<n>`), so only a new consumption or void is a
  new crossing.

A unique index on (wallet, trigger key, transaction status) makes a repeat a no-op even
when two runs race. Run by the `run_recurring_top_ups` activity: right after an invoice
consumed credits (finalize_invoice) and by an hourly Temporal Schedule.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.billing.money import from_minor_units
from bxb.billing.wallet_rules import RuleTerms, latest_anniversary, top_up_credits
from bxb.core.customer_clock import customer_now
from bxb.core.db import transaction
from bxb.ledger.wallet_topups import TopUp, TopUpRequest, amount_errors, top_up
from bxb.ledger.wallets import balance_of, expire_if_due, lock_wallet
from bxb.models import Customer, RecurringTransactionRule, Wallet, WalletTransaction

log = logging.getLogger(__name__)


def _limit_credits(wallet: Wallet, cents: int | None) -> Decimal | None:
    if cents is None:
        return None
    return (from_minor_units(cents, wallet.currency) / wallet.rate_amount).quantize(
        Decimal("0.00001")
    )


async def _trigger_key(
    session: AsyncSession, wallet: Wallet, rule: RecurringTransactionRule, now: datetime
) -> str | None:
    if rule.trigger == "interval":
        assert rule.interval is not None
        anchor = rule.started_at or wallet.created_at
        include_anchor = (
            rule.started_at is not None and rule.started_at.date() != wallet.created_at.date()
        )
        due = latest_anniversary(anchor, rule.interval, now, include_anchor=include_anchor)
        if due is None or due.date() < rule.created_at.date():
            return None
        return f"{rule.id}:interval:{due.date().isoformat()}"
    pending = await _pending_credits(session, wallet)
    assert rule.threshold_credits is not None
    if wallet.credits_balance + pending > rule.threshold_credits:
        return None
    # The crossing is named by how many outbound transactions the wallet has had: a new
    # consumption or void is a new crossing, a repeated run (the wallet locked) is not.
    outbound = await session.scalar(
        select(func.count(WalletTransaction.id)).where(
            WalletTransaction.wallet_id == wallet.id,
            WalletTransaction.transaction_type == "outbound",
        )
    )
    return f"{rule.id}:threshold:{outbound or 0}"


async def _pending_credits(session: AsyncSession, wallet: Wallet) -> Decimal:
    total = await session.scalar(
        select(func.coalesce(func.sum(WalletTransaction.credit_amount), 0)).where(
            WalletTransaction.wallet_id == wallet.id, WalletTransaction.status == "pending"
        )
    )
    return Decimal(total or 0)


async def top_up_wallet(
    session: AsyncSession, wallet_id: uuid.UUID, at: datetime | None = None
) -> list[TopUp]:
    """Serve the wallet's due rules (the wallet is locked here); what was topped up."""
    wallet = await lock_wallet(session, wallet_id)
    customer = await session.get(Customer, wallet.customer_id)
    assert customer is not None
    now = at or await customer_now(session, customer)
    if await expire_if_due(session, wallet, now) or wallet.status != "active":
        return []
    rules = await session.scalars(
        select(RecurringTransactionRule).where(
            RecurringTransactionRule.wallet_id == wallet.id,
            RecurringTransactionRule.status == "active",
        )
    )
    results: list[TopUp] = []
    for rule in list(rules):
        if rule.expiration_at is not None and rule.expiration_at <= now:
            continue
        key = await _trigger_key(session, wallet, rule, now)
        if key is None:
            continue
        served = await session.scalar(
            select(WalletTransaction.id).where(
                WalletTransaction.wallet_id == wallet.id, WalletTransaction.trigger_key == key
            )
        )
        if served is not None:
            continue
        terms = RuleTerms(
            method=rule.method,
            trigger=rule.trigger,
            paid_credits=rule.paid_credits,
            granted_credits=rule.granted_credits,
            threshold_credits=rule.threshold_credits,
            target_ongoing_balance=rule.target_ongoing_balance,
            grants_target_top_up=bool(rule.grants_target_top_up),
            ignore_limits=rule.method == "target" or rule.ignore_paid_top_up_limits,
        )
        credits = top_up_credits(
            terms,
            wallet.credits_balance,
            await _pending_credits(session, wallet),
            _limit_credits(wallet, wallet.paid_top_up_min_amount_cents),
            _limit_credits(wallet, wallet.paid_top_up_max_amount_cents),
        )
        request = TopUpRequest(
            paid_credits=credits.paid,
            granted_credits=credits.granted,
            name=rule.transaction_name,
            metadata=list(rule.transaction_metadata),
            ignore_paid_top_up_limits=terms.ignore_limits,
            invoice_requires_successful_payment=rule.invoice_requires_successful_payment,
            source=rule.trigger,
            trigger_key=key,
        )
        if credits.paid <= 0 and credits.granted <= 0:
            continue
        errors = amount_errors(
            wallet.rate_amount,
            wallet.currency,
            request,
            balance_of(wallet),
            minimum=wallet.paid_top_up_min_amount_cents,
            maximum=wallet.paid_top_up_max_amount_cents,
        )
        if errors:
            log.warning("wallet %s: rule %s top-up refused: %s", wallet.id, rule.id, errors)
            continue
        results.append(await top_up(session, wallet, customer, request, now))
    return results


async def run_recurring_top_ups(
    sessions: async_sessionmaker[AsyncSession],
    *,
    customer_id: uuid.UUID | None = None,
) -> list[TopUp]:
    """Serve the due rules of every active wallet with rules (or one customer's), each
    wallet in its own transaction, each at its customer's now."""
    async with sessions() as session:
        query = (
            select(Wallet.id)
            .join(RecurringTransactionRule, RecurringTransactionRule.wallet_id == Wallet.id)
            .where(Wallet.status == "active", RecurringTransactionRule.status == "active")
            .distinct()
        )
        if customer_id is not None:
            query = query.where(Wallet.customer_id == customer_id)
        wallet_ids = list(await session.scalars(query))
    results: list[TopUp] = []
    for wallet_id in wallet_ids:
        try:
            async with transaction(sessions) as session:
                results += await top_up_wallet(session, wallet_id)
        except IntegrityError:  # a concurrent run served the same trigger first
            log.info("wallet %s: recurring top-up served concurrently", wallet_id)
    return results
