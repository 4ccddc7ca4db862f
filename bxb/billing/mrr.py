"""Monthly recurring revenue of a plan: its recurring fee normalised to one month.

weekly x 52 / 12, monthly as is, quarterly / 3, semiannual / 6, yearly / 12, rounded
half-up to the currency's minor unit once per subscription. Usage charges are not MRR.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# Months per billing period, as fractions of a month.
_MONTHS = {
    "monthly": Decimal(1),
    "quarterly": Decimal(3),
    "semiannual": Decimal(6),
    "yearly": Decimal(12),
}


def monthly_amount_cents(amount_cents: int, interval: str) -> int:
    """The plan fee `amount_cents` per `interval`, as cents per month."""
    if interval == "weekly":  # exact: x 52 / 12, not x (12/52)^-1 in rounded decimals
        value = Decimal(amount_cents) * 52 / 12
    else:
        value = Decimal(amount_cents) / _MONTHS[interval]
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def movement_kind(customer_before: int, customer_after: int, churned_before: bool) -> str | None:
    """The customer's movement when its MRR in one currency goes from before to after.

    `churned_before`: the customer had MRR in this currency once (so returning from zero
    is a reactivation, however long ago the churn was). None: no movement.
    """
    if customer_before == customer_after:
        return None
    if customer_before == 0:
        return "reactivation" if churned_before else "new"
    if customer_after == 0:
        return "churn"
    return "expansion" if customer_after > customer_before else "contraction"
