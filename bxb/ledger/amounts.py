"""What an invoice still owes (read by collection, wallets, payments and the API), and a
fee's priced amounts."""

from __future__ import annotations

from bxb.billing.invoice import AssembledFee
from bxb.models import Fee, Invoice


def amount_due(invoice: Invoice) -> int:
    return max(invoice.total_amount_cents - invoice.total_paid_amount_cents, 0)


def set_fee_prices(fee: Fee, priced: AssembledFee) -> None:
    """A fee's coupons and taxes as the invoice's assembly priced them (rounded and precise)."""
    fee.coupons_amount_cents = priced.coupons_amount_cents
    fee.precise_coupons_amount_cents = priced.precise_coupons_amount_cents
    fee.taxes_amount_cents = priced.tax.taxes_amount_cents
    fee.taxes_precise_amount_cents = priced.tax.precise_taxes_amount_cents
    fee.taxes_rate = priced.tax.taxes_rate
