"""Re-rating a period already invoiced: what changed, and how the difference is settled.

Late events (timestamps inside a finalized invoice's usage window, arriving after it was
computed) change what its usage fees amount to. The fees are recomputed by the same code
the period close uses; this module compares them with what was billed so far (the
invoice, plus earlier re-ratings) fee by fee:

- a fee that went down is credited by a credit note on the invoice (billed too much);
- a fee that went up is billed by a corrective invoice (billed too little).

Both can come out of one re-rating (one charge up, another down): they are not netted,
so each document says which fee it corrects. The corrective fee is discounted at the rate
the original fee was discounted (its coupons over its amount), the same proportion a
credit note gives back, so a late event followed by its reversal nets to nothing; coupons
are never consumed again by a correction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from bxb.billing.money import round_minor


@dataclass(frozen=True)
class RatedFee:
    """A usage fee as rated: its amount in minor units, units and events."""

    amount_cents: int
    units: Decimal = Decimal(0)
    events_count: int = 0


@dataclass(frozen=True)
class Change:
    """How much one fee moved: amount_cents > 0 (its direction is the list it is in);
    units and events_count are signed (now minus before)."""

    key: str
    amount_cents: int
    units: Decimal
    events_count: int


@dataclass(frozen=True)
class Rerating:
    decreases: tuple[Change, ...]  # to credit
    increases: tuple[Change, ...]  # to bill

    @property
    def changed(self) -> bool:
        return bool(self.decreases or self.increases)


def compare(billed: Mapping[str, RatedFee], rated: Mapping[str, RatedFee]) -> Rerating:
    """Fee by fee, what `rated` (now) differs from `billed` (so far); keys in order of
    `billed` then of the keys only `rated` has. A fee missing on one side counts as 0."""
    zero = RatedFee(0)
    decreases: list[Change] = []
    increases: list[Change] = []
    for key in [*billed, *(k for k in rated if k not in billed)]:
        before, now = billed.get(key, zero), rated.get(key, zero)
        delta = now.amount_cents - before.amount_cents
        change = Change(
            key, abs(delta), now.units - before.units, now.events_count - before.events_count
        )
        if delta < 0:
            decreases.append(change)
        elif delta > 0:
            increases.append(change)
    return Rerating(tuple(decreases), tuple(increases))


def corrective_coupons(
    increase_cents: int, original_amount_cents: int, original_coupons_cents: int
) -> int:
    """The discount of a corrective fee: the original fee's rate of discount, rounded once
    half-up, never more than the increase (none when the original fee billed nothing)."""
    if original_amount_cents <= 0 or original_coupons_cents <= 0 or increase_cents <= 0:
        return 0
    exact = Decimal(increase_cents * original_coupons_cents) / original_amount_cents
    return min(round_minor(exact), increase_cents)
