"""The recurring top-up activity: serve the due recurring rules of wallets, then start
the collection of the top-up invoices it made and deliver their webhooks."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client

from bxb.core.settings import Settings
from bxb.ledger import wallet_topups
from bxb.ledger.wallet_recurring import run_recurring_top_ups
from bxb.ledger.wallet_topups import TopUp


async def after_commit(results: list[TopUp]) -> None:
    """Start the top-up invoices' collections and deliver their webhooks (the client is
    the running activity's, asked for only when there is something to start)."""

    async def client_for() -> Client:
        return activity.client()

    for result in results:
        # None: the running worker's own task queue.
        await wallet_topups.after_commit(client_for, None, result)


class WalletTopUpActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    @activity.defn(name="run_recurring_top_ups")
    async def run_recurring_top_ups(self, customer_id: str | None = None) -> int:
        """Serve what is due (one customer's wallets, or all); the number of top-ups."""
        results = await run_recurring_top_ups(
            self.sessions, customer_id=uuid.UUID(customer_id) if customer_id else None
        )
        await after_commit(results)
        return len(results)
