"""Which inbound transactions an outbound one drew from (Lago's consumption tracking).

On a traceable wallet every settled inbound transaction keeps `remaining_amount_cents`,
and every outbound one (an invoice's consumption, a void, a termination) draws from them
in Lago's order, each draw a `wallet_transaction_consumptions` row written in the same
transaction. The sum of what the inbound transactions have left is the balance.
"""

from __future__ import annotations

import uuid

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.models import Wallet, WalletTransaction, WalletTransactionConsumption


async def track_consumption(
    session: AsyncSession, wallet: Wallet, outbound: WalletTransaction
) -> None:
    """Record which inbound transactions an outbound one draws from (Lago's
    TrackConsumptionService): settled inbound ones with something left, by priority,
    granted before purchased, oldest first. The caller holds the wallet's lock."""
    if not wallet.traceable or outbound.amount_cents <= 0:
        return
    await session.flush()
    inbounds = await session.scalars(
        select(WalletTransaction)
        .where(
            WalletTransaction.wallet_id == wallet.id,
            WalletTransaction.transaction_type == "inbound",
            WalletTransaction.status == "settled",
            WalletTransaction.remaining_amount_cents > 0,
        )
        .order_by(
            WalletTransaction.priority,
            case((WalletTransaction.transaction_status == "granted", 0), else_=1),
            WalletTransaction.created_at,
            WalletTransaction.id,
        )
        .execution_options(populate_existing=True)
    )
    left = outbound.amount_cents
    for inbound in inbounds:
        if left <= 0:
            break
        assert inbound.remaining_amount_cents is not None
        part = min(inbound.remaining_amount_cents, left)
        inbound.remaining_amount_cents -= part
        left -= part
        session.add(
            WalletTransactionConsumption(
                id=uuid.uuid4(),
                organization_id=wallet.organization_id,
                inbound_wallet_transaction_id=inbound.id,
                outbound_wallet_transaction_id=outbound.id,
                consumed_amount_cents=part,
                created_at=outbound.created_at,
            )
        )
    # Never: the balance is the sum of what the inbound transactions have left.
    assert left == 0, f"wallet {wallet.id}: outbound {outbound.id} exceeds its fundings"
