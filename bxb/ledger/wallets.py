"""Wallets (STUB: the wallets work replaces the body, keeping the signature)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bxb.models import Invoice


async def apply_prepaid_credits(session: AsyncSession, invoice: Invoice, at: datetime) -> int:
    """Consume the customer's active wallet credits against the invoice being finalized.

    Called inside the finalizing transaction after credit notes were applied, with
    `invoice.total_amount_cents` already net of them. Reduces the invoice's total by what
    it consumes, sets `invoice.prepaid_credit_amount_cents`, records the wallet
    transactions, and returns the amount consumed in cents (0 when nothing applies).
    """
    return 0


async def on_invoice_paid(session: AsyncSession, invoice: Invoice, at: datetime) -> None:
    """An invoice became fully paid: settle the paid top-up it bills, if it is one.

    Called by the payments code in the transaction that marks the invoice paid.
    """
    return None
