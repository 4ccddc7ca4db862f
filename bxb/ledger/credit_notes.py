"""Credit notes (STUB: the credit notes work replaces the bodies, keeping signatures)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bxb.models import Invoice


async def apply_credit_notes(session: AsyncSession, invoice: Invoice, at: datetime) -> int:
    """Consume the customer's available credit-note balances against the invoice.

    Called inside the finalizing transaction before wallets. Reduces the invoice's total
    by what it consumes, sets `invoice.credit_notes_amount_cents` (adding to what is
    there), and returns the amount consumed in cents.
    """
    return 0
