"""Minimums: a plan's minimum commitment and a charge's minimum amount, as true-up fees.

Both follow Lago. When what a period billed falls short of its minimum, a true-up fee
bills the difference; for a partial period the minimum is prorated by its days.

- Plan ``minimum_commitment`` (Lago's ``Commitments::Minimum::CalculateTrueUpFeeService``):
  the commitment, prorated as ``amount × days / full days`` of the period and rounded once
  half-up, minus the period's fees (subscription fee and every usage fee of the period).
- Charge ``min_amount_cents`` (Lago's ``Fees::CreateTrueUpService``): the minimum prorated
  unrounded (``min × days / full days``), minus the charge's fees of the period; the
  true-up is that difference rounded once, its precise amount kept.

Days are whole local days (see proration): a partial first period from the 15th of a
31-day month counts 17 of 31 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bxb.billing.money import round_minor
from bxb.billing.proration import prorate


@dataclass(frozen=True)
class TrueUp:
    amount_cents: int
    precise_amount_cents: Decimal
    minimum_cents: Decimal  # the (prorated) minimum it makes up to


def _check_days(days: int, full_days: int) -> None:
    if full_days <= 0 or not 0 <= days <= full_days:
        raise ValueError(f"days must lie within 0..{full_days}: {days}")


def commitment_true_up(
    commitment_cents: int,
    days: int,
    full_days: int,
    fees_amount_cents: int,
    fees_precise_amount_cents: Decimal | None = None,
) -> TrueUp | None:
    """The commitment fee for a period whose fees came to ``fees_amount_cents``, or None."""
    _check_days(days, full_days)
    precise_fees = (
        Decimal(fees_amount_cents)
        if fees_precise_amount_cents is None
        else fees_precise_amount_cents
    )
    minimum = prorate(commitment_cents, days, full_days)
    if commitment_cents <= 0 or fees_amount_cents >= minimum:
        return None
    return TrueUp(
        minimum - fees_amount_cents,
        max(Decimal(minimum) - precise_fees, Decimal(0)),
        Decimal(minimum),
    )


def charge_true_up(
    min_amount_cents: int,
    days: int,
    full_days: int,
    used_amount_cents: int,
    used_precise_amount_cents: Decimal | None = None,
) -> TrueUp | None:
    """The true-up of a charge whose fees of the period came to ``used_amount_cents``."""
    _check_days(days, full_days)
    if min_amount_cents <= 0:
        return None
    minimum = Decimal(min_amount_cents) * days / full_days
    used_precise = (
        Decimal(used_amount_cents)
        if used_precise_amount_cents is None
        else used_precise_amount_cents
    )
    if used_amount_cents >= minimum:
        return None
    amount = round_minor(minimum - used_amount_cents)
    if amount <= 0:
        return None
    return TrueUp(amount, minimum - used_precise, minimum)
