"""Recurring top-ups (pure): anniversaries, credits a rule tops up; several wallets
paying one invoice (allocate)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bxb.billing.wallet_rules import RuleTerms, TopUpCredits, latest_anniversary, top_up_credits
from bxb.billing.wallets import FeeShare, WalletScope, allocate

JAN31 = datetime(2030, 1, 31, 10, tzinfo=UTC)


def test_monthly_anniversaries_clamp_to_the_months_last_day() -> None:
    now = datetime(2030, 2, 28, 10, tzinfo=UTC)
    assert latest_anniversary(JAN31, "monthly", now, include_anchor=False) == now
    before = datetime(2030, 2, 28, 9, tzinfo=UTC)
    assert latest_anniversary(JAN31, "monthly", before, include_anchor=False) is None
    assert latest_anniversary(JAN31, "monthly", before, include_anchor=True) == JAN31
    assert latest_anniversary(
        JAN31, "quarterly", datetime(2030, 6, 1, tzinfo=UTC), include_anchor=False
    ) == datetime(2030, 4, 30, 10, tzinfo=UTC)
    assert latest_anniversary(
        JAN31, "yearly", datetime(2031, 2, 1, tzinfo=UTC), include_anchor=False
    ) == datetime(2031, 1, 31, 10, tzinfo=UTC)
    assert latest_anniversary(
        JAN31, "weekly", datetime(2030, 2, 15, tzinfo=UTC), include_anchor=False
    ) == datetime(2030, 2, 14, 10, tzinfo=UTC)


def _terms(**overrides: object) -> RuleTerms:
    values: dict[str, object] = {
        "method": "fixed",
        "trigger": "threshold",
        "paid_credits": Decimal(10),
        "granted_credits": Decimal(0),
        "threshold_credits": Decimal(5),
        "target_ongoing_balance": None,
        "grants_target_top_up": False,
        "ignore_limits": False,
    }
    values.update(overrides)
    return RuleTerms(**values)  # type: ignore[arg-type]


def test_fixed_threshold_tops_up_enough_to_cross_the_threshold() -> None:
    # Lago: gap = threshold - balance - granted - pending; paid × (floor(gap/paid) + 1).
    assert top_up_credits(_terms(), Decimal(4), Decimal(0), None, None) == TopUpCredits(
        Decimal(10), Decimal(0)
    )
    deep = _terms(threshold_credits=Decimal(35))
    assert top_up_credits(deep, Decimal(4), Decimal(0), None, None).paid == Decimal(40)
    assert top_up_credits(deep, Decimal(4), Decimal(0), None, Decimal(25)).paid == Decimal(25)


def test_target_tops_up_the_gap() -> None:
    target = _terms(method="target", target_ongoing_balance=Decimal(50), ignore_limits=True)
    assert top_up_credits(target, Decimal("12.5"), Decimal(0), None, None).paid == Decimal("37.5")
    granted = _terms(method="target", target_ongoing_balance=Decimal(50), grants_target_top_up=True)
    assert top_up_credits(granted, Decimal(60), Decimal(0), None, None) == TopUpCredits(
        Decimal(0), Decimal(0)
    )
    assert top_up_credits(granted, Decimal(20), Decimal(0), None, None).granted == Decimal(30)


def test_allocate_follows_order_and_limits() -> None:
    shares = [FeeShare("subscription", None, 4000), FeeShare("charge", "calls", 2050)]
    wallets = [
        WalletScope(3000, metric_codes=frozenset({"calls"})),
        WalletScope(2500, fee_types=frozenset({"subscription"})),
        WalletScope(10_000),
    ]
    assert allocate(6050, shares, wallets) == [2050, 2500, 1500]
    # One unrestricted wallet pays min(balance, amount due), whatever the fees say.
    assert allocate(700, [], [WalletScope(500)]) == [500]
    assert allocate(300, [], [WalletScope(500)]) == [300]
    # A restricted wallet pays nothing the invoice has none of.
    assert allocate(1000, [FeeShare("add_on", None, 1000)], wallets[:2]) == [0, 0]
