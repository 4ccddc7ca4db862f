"""What an invoice still owes (read by collection, wallets, payments and the API)."""

from __future__ import annotations

from bxb.models import Invoice


def amount_due(invoice: Invoice) -> int:
    return max(invoice.total_amount_cents - invoice.total_paid_amount_cents, 0)
