"""Lago's MRR spread of one subscription fee over months (bxb.analytics.lago_mrr.spread)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bxb.analytics.lago_mrr import spread

DAY = 86_400


def test_quarterly_in_advance_issued_mid_month() -> None:
    # 300.00 for 90 days issued Jan 16: billed months = 90 / 30.44; a month is worth
    # 30000 * 30.44 / 90 = 10146.67; January has 16 of its 31 days left.
    shares = spread(Decimal(30_000), date(2026, 1, 16), 90 * DAY, True)
    per_month = Decimal(30_000) / (Decimal(90) / Decimal("30.44"))
    assert [month for month, _ in shares] == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert shares[0][1] == per_month * (Decimal(16) / Decimal(31))
    assert shares[1][1] == per_month
    assert shares[2][1] == Decimal(30_000) - per_month * (1 + Decimal(16) / Decimal(31))
    assert round(sum(share for _, share in shares), 12) == Decimal(30_000)
    assert round(per_month, 2) == Decimal("10146.67")


def test_quarterly_in_arrears_spreads_backward_from_the_issuing_month() -> None:
    # 90 days billed Apr 1: Lago puts a third in April, March and February each.
    shares = spread(Decimal(30_000), date(2026, 4, 1), 90 * DAY, False)
    per_month = Decimal(30_000) / (Decimal(90) / Decimal("30.44"))
    assert [(month, share) for month, share in shares[:2]] == [
        (date(2026, 4, 1), per_month),
        (date(2026, 3, 1), per_month),
    ]
    assert shares[2] == (date(2026, 2, 1), Decimal(30_000) - 2 * per_month)


def test_yearly_in_advance_on_the_first_covers_twelve_months() -> None:
    shares = spread(Decimal(120_000), date(2026, 1, 1), 365 * DAY, True)
    assert len(shares) == 12
    assert round(shares[0][1], 12) == round(Decimal(120_000) * Decimal("30.44") / 365, 12)
    assert shares[-1][0] == date(2026, 12, 1)
    assert round(sum(share for _, share in shares), 12) == Decimal(120_000)


def test_a_fee_without_a_period_counts_in_its_month() -> None:
    assert spread(Decimal(500), date(2026, 5, 20), 0, True) == [(date(2026, 5, 1), Decimal(500))]
