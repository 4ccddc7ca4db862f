"""Seed steps written in the database: the outcome of something that takes time or an
outside party in bxb, which the conformance seeds cannot wait for."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.models import Invoice


async def mark_overdue(sessions: async_sessionmaker[AsyncSession], lago_id: str) -> None:
    """The invoice is overdue: in bxb, what a dunning campaign ending with keep_past_due
    makes of an unpaid invoice (a payment request asks only for overdue invoices)."""
    async with transaction(sessions) as session:
        await session.execute(
            update(Invoice).where(Invoice.id == uuid.UUID(lago_id)).values(payment_overdue=True)
        )
