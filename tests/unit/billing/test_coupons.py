"""Coupons: terms, applying to a customer, discounting invoices in Lago's order."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bxb.billing.coupon_discounts import (
    FeeDiscount,
    FeeShare,
    apply_coupons,
    split_pro_rata,
)
from bxb.billing.coupons import (
    AppliedCoupon,
    AppliedCouponStatus,
    Coupon,
    CouponError,
    CouponExpiration,
    CouponFrequency,
    CouponType,
    DiscountableFee,
    apply_coupon,
)

JAN = datetime(2024, 1, 1, tzinfo=UTC)
FEB = datetime(2024, 2, 1, tzinfo=UTC)
MAR = datetime(2024, 3, 1, tzinfo=UTC)

FIXED = CouponType.FIXED_AMOUNT
PERCENT = CouponType.PERCENTAGE
ONCE = CouponFrequency.ONCE
RECURRING = CouponFrequency.RECURRING
FOREVER = CouponFrequency.FOREVER
ACTIVE = AppliedCouponStatus.ACTIVE
TERMINATED = AppliedCouponStatus.TERMINATED


def fixed(id_: str, cents: int, frequency: CouponFrequency = ONCE, **kw: Any) -> AppliedCoupon:
    kw.setdefault("created_at", JAN)
    if frequency is RECURRING:
        kw.setdefault("frequency_duration", 3)
    return AppliedCoupon(
        id_, id_, FIXED, frequency, amount_cents=cents, amount_currency="USD", **kw
    )


def percent(id_: str, rate: str, frequency: CouponFrequency = FOREVER, **kw: Any) -> AppliedCoupon:
    kw.setdefault("created_at", JAN)
    if frequency is RECURRING:
        kw.setdefault("frequency_duration", 3)
    return AppliedCoupon(id_, id_, PERCENT, frequency, percentage_rate=Decimal(rate), **kw)


def fees(*amounts: int) -> list[DiscountableFee]:
    return [DiscountableFee(f"fee{i}", amount) for i, amount in enumerate(amounts)]


# --- discounting an invoice --------------------------------------------------------------


def test_fixed_once_larger_than_invoice_keeps_the_rest() -> None:
    coupon = fixed("c", 5000)  # $50 once
    first = apply_coupons(fees(3000, 1000), [coupon], currency="USD", at=FEB)
    # $40 invoice: discount $40 (never below zero), split 3000 / 1000 pro rata
    assert (first.subtotal_cents, first.coupons_amount_cents) == (4000, 4000)
    assert first.subtotal_after_discounts_cents == 0
    assert first.fees == (FeeDiscount("fee0", 3000, 3000), FeeDiscount("fee1", 1000, 1000))
    assert [f.amount_after_discount_cents for f in first.fees] == [0, 0]
    (used,) = first.coupons
    assert used.fee_shares == (FeeShare("fee0", 3000), FeeShare("fee1", 1000))
    # $10 left for the next invoice
    assert (used.updated.amount_cents_remaining, used.updated.status) == (1000, ACTIVE)

    second = apply_coupons(fees(2500), [used.updated], currency="USD", at=MAR)
    # $25 invoice: the remaining $10 is used up and the coupon ends
    assert second.coupons_amount_cents == 1000
    assert (second.coupons[0].updated.amount_cents_remaining, second.coupons[0].updated.status) == (
        0,
        TERMINATED,
    )


def test_fixed_recurring_counts_periods() -> None:
    coupon = fixed("c", 1000, RECURRING, frequency_duration=2)
    first = apply_coupons(fees(10_000), [coupon], currency="USD", at=FEB)
    assert first.coupons_amount_cents == 1000
    assert first.coupons[0].updated.frequency_duration_remaining == 1
    assert first.coupons[0].updated.status is ACTIVE
    second = apply_coupons(fees(500), [first.coupons[0].updated], currency="USD", at=MAR)
    # $10 coupon on a $5 invoice: $5; a recurring coupon's unused part is not carried over
    assert second.coupons_amount_cents == 500
    assert second.coupons[0].updated.frequency_duration_remaining == 0
    assert second.coupons[0].updated.status is TERMINATED
    assert second.coupons[0].updated.amount_cents_remaining is None


def test_fixed_forever_never_ends() -> None:
    coupon = fixed("c", 700, FOREVER)
    result = apply_coupons(fees(1000), [coupon], currency="USD", at=FEB)
    assert result.coupons_amount_cents == 700
    assert result.coupons[0].updated == coupon


def test_percentage_forever_rounds_half_up_once() -> None:
    coupon = percent("c", "15")
    result = apply_coupons(fees(333), [coupon], currency="USD", at=FEB)
    # 15 % of 333 cents = 49.95 → 50
    assert result.coupons_amount_cents == 50
    assert result.coupons[0].updated is coupon


def test_percentage_once_ends_after_one_invoice() -> None:
    result = apply_coupons(fees(1000), [percent("c", "25", ONCE)], currency="USD", at=FEB)
    assert result.coupons_amount_cents == 250
    assert result.coupons[0].updated.status is TERMINATED


def test_percentage_recurring() -> None:
    result = apply_coupons(fees(1000), [percent("c", "10", RECURRING)], currency="USD", at=FEB)
    assert result.coupons[0].updated.frequency_duration_remaining == 2


def test_discount_is_split_pro_rata_with_deterministic_remainder() -> None:
    result = apply_coupons(fees(1999, 1), [percent("c", "10")], currency="USD", at=FEB)
    # 10 % × 2000 = 200; 1999/2000 × 200 = 199.9 and 1/2000 × 200 = 0.1:
    # floors 199 + 0, the leftover cent to the largest remainder (0.9) → 200 + 0
    assert [f.discount_cents for f in result.fees] == [200, 0]

    equal = apply_coupons(fees(1, 1, 1), [fixed("c", 2)], currency="USD", at=FEB)
    # 2 cents over three equal fees: 0.67 each → floors 0, two leftover cents to the first two
    assert [f.discount_cents for f in equal.fees] == [1, 1, 0]


def test_coupons_apply_oldest_first_each_on_what_is_left() -> None:
    pct = percent("pct", "10", created_at=JAN)
    fix = fixed("fix", 2000, FOREVER, created_at=FEB)
    # given in any order, the January percentage coupon goes first:
    # 10 % × $100 = $10, then $20 off the remaining $90 → $30 in total
    result = apply_coupons(fees(10_000), [fix, pct], currency="USD", at=MAR)
    assert [c.applied_coupon_id for c in result.coupons] == ["pct", "fix"]
    assert [c.discount_cents for c in result.coupons] == [1000, 2000]
    assert result.coupons_amount_cents == 3000

    # applied the other way round: $20 off, then 10 % × $80 = $8 → $28
    pct_later = percent("pct", "10", created_at=FEB)
    fix_first = fixed("fix", 2000, FOREVER, created_at=JAN)
    result = apply_coupons(fees(10_000), [pct_later, fix_first], currency="USD", at=MAR)
    assert result.coupons_amount_cents == 2800


def test_same_day_coupons_are_ordered_by_id() -> None:
    result = apply_coupons(fees(100), [fixed("b", 80), fixed("a", 50)], currency="USD", at=FEB)
    # "a" first takes 50; "b" gets the remaining 50 of its 80 and keeps 30
    assert [(c.applied_coupon_id, c.discount_cents) for c in result.coupons] == [
        ("a", 50),
        ("b", 50),
    ]
    assert result.coupons[1].updated.amount_cents_remaining == 30


def test_coupons_never_discount_more_than_the_subtotal() -> None:
    result = apply_coupons(
        fees(6000, 4000),
        [
            fixed("a", 5000, created_at=JAN),
            fixed("b", 8000, created_at=FEB),
            percent("c", "50", created_at=MAR),
        ],
        currency="USD",
        at=MAR,
    )
    # $50 + $50 (capped) = the $100 subtotal; the 50 % coupon finds nothing left
    assert result.coupons_amount_cents == 10_000
    assert result.subtotal_after_discounts_cents == 0
    c = {d.applied_coupon_id: d for d in result.coupons}
    assert (c["a"].discount_cents, c["b"].discount_cents, c["c"].discount_cents) == (5000, 5000, 0)
    # nothing left to discount: the forever coupon is untouched
    assert c["c"].updated == percent("c", "50", created_at=MAR)


def test_zero_invoice_does_not_consume_coupons() -> None:
    coupon = percent("c", "10", ONCE)
    result = apply_coupons(fees(0), [coupon], currency="USD", at=FEB)
    assert result.coupons[0].discount_cents == 0
    assert result.coupons[0].updated == coupon


def test_expired_coupon_is_skipped_and_terminated() -> None:
    coupon = fixed("c", 1000, FOREVER, expiration_at=JAN + timedelta(days=10))
    result = apply_coupons(fees(5000), [coupon], currency="USD", at=FEB)
    assert result.coupons_amount_cents == 0
    assert result.coupons[0].updated.status is TERMINATED
    # valid up to and including its expiration instant
    still = apply_coupons(fees(5000), [coupon], currency="USD", at=JAN + timedelta(days=10))
    assert still.coupons_amount_cents == 1000


def test_terminated_and_other_currency_coupons_are_skipped() -> None:
    done = fixed("done", 1000, status=TERMINATED)
    euros = AppliedCoupon("eur", "eur", FIXED, ONCE, JAN, amount_cents=500, amount_currency="EUR")
    result = apply_coupons(fees(5000), [done, euros], currency="USD", at=FEB)
    assert result.coupons_amount_cents == 0
    assert [c.updated for c in result.coupons] == [done, euros]


def test_limited_coupons_only_discount_their_fees() -> None:
    invoice = [
        DiscountableFee("subscription", 5000, plan_code="pro"),
        DiscountableFee("api", 3000, plan_code="pro", billable_metric_code="api_calls"),
        DiscountableFee("storage", 2000, plan_code="pro", billable_metric_code="storage"),
        DiscountableFee("other-plan", 1000, plan_code="basic"),
    ]
    by_metric = percent("m", "50", billable_metric_codes=frozenset({"api_calls"}))
    by_plan = fixed("p", 100_000, FOREVER, created_at=FEB, plan_codes=frozenset({"basic"}))
    result = apply_coupons(invoice, [by_metric, by_plan], currency="USD", at=MAR)
    # 50 % of the api_calls fee only: 1500; the basic-plan coupon covers only its $10 fee
    assert [(f.fee_id, f.discount_cents) for f in result.fees] == [
        ("subscription", 0),
        ("api", 1500),
        ("storage", 0),
        ("other-plan", 1000),
    ]
    assert result.coupons_amount_cents == 2500


def test_fees_must_be_unique_and_non_negative() -> None:
    with pytest.raises(ValueError, match="unique"):
        apply_coupons(
            [DiscountableFee("a", 1), DiscountableFee("a", 2)], [], currency="USD", at=FEB
        )
    with pytest.raises(ValueError, match="negative"):
        apply_coupons([DiscountableFee("a", -1)], [], currency="USD", at=FEB)


def test_split_pro_rata_checks_its_input() -> None:
    assert split_pro_rata(0, []) == []
    assert split_pro_rata(0, [0, 0]) == [0, 0]
    with pytest.raises(ValueError, match="between 0"):
        split_pro_rata(5, [1, 1])
    with pytest.raises(ValueError, match="between 0"):
        split_pro_rata(1, [3, -1])


# --- catalog coupons and applying them to a customer -------------------------------------


def catalog(**kw: Any) -> Coupon:
    kw.setdefault("code", "startup")
    kw.setdefault("coupon_type", FIXED)
    kw.setdefault("frequency", ONCE)
    if kw["coupon_type"] is FIXED:
        kw.setdefault("amount_cents", 5000)
        kw.setdefault("amount_currency", "USD")
    return Coupon(**kw)


@pytest.mark.parametrize(
    ("kw", "errors"),
    [
        ({"amount_cents": None}, {"amount_cents": ["value_is_mandatory"]}),
        ({"amount_cents": 0}, {"amount_cents": ["value_is_invalid"]}),
        ({"amount_currency": None}, {"amount_currency": ["value_is_mandatory"]}),
        ({"amount_currency": "ZZZ"}, {"amount_currency": ["value_is_invalid"]}),
        ({"coupon_type": PERCENT}, {"percentage_rate": ["value_is_mandatory"]}),
        (
            {"coupon_type": PERCENT, "percentage_rate": Decimal(150)},
            {"percentage_rate": ["value_is_out_of_range"]},
        ),
        ({"frequency": RECURRING}, {"frequency_duration": ["value_is_mandatory"]}),
        (
            {"frequency": RECURRING, "frequency_duration": 0},
            {"frequency_duration": ["value_is_invalid"]},
        ),
        ({"expiration": CouponExpiration.TIME_LIMIT}, {"expiration_at": ["value_is_mandatory"]}),
    ],
)
def test_coupon_validation(kw: dict[str, Any], errors: dict[str, list[str]]) -> None:
    with pytest.raises(CouponError) as info:
        catalog(**kw)
    assert info.value.errors == errors


def test_applied_coupon_validates_its_terms() -> None:
    with pytest.raises(CouponError) as info:
        AppliedCoupon("x", "x", PERCENT, FOREVER, JAN)
    assert info.value.errors == {"percentage_rate": ["value_is_mandatory"]}


def test_apply_fixed_once_coupon() -> None:
    applied = apply_coupon(catalog(), applied_coupon_id="ac1", at=FEB)
    assert applied == AppliedCoupon(
        "ac1",
        "startup",
        FIXED,
        ONCE,
        FEB,
        amount_cents=5000,
        amount_currency="USD",
        amount_cents_remaining=5000,
    )


def test_apply_recurring_coupon_with_overrides() -> None:
    coupon = catalog(
        coupon_type=PERCENT,
        percentage_rate=Decimal(10),
        frequency=RECURRING,
        frequency_duration=6,
        expiration=CouponExpiration.TIME_LIMIT,
        expiration_at=MAR,
        plan_codes=frozenset({"pro"}),
    )
    applied = apply_coupon(
        coupon,
        applied_coupon_id="ac1",
        at=FEB,
        overrides={"percentage_rate": "12.5", "frequency_duration": 2},
    )
    assert applied.percentage_rate == Decimal("12.5")
    assert (applied.frequency_duration, applied.frequency_duration_remaining) == (2, 2)
    assert applied.amount_cents_remaining is None
    assert applied.expiration_at == MAR
    assert applied.plan_codes == frozenset({"pro"})


def test_apply_coupon_override_to_forever() -> None:
    coupon = catalog(frequency=RECURRING, frequency_duration=3)
    applied = apply_coupon(
        coupon, applied_coupon_id="a", at=FEB, overrides={"frequency": "forever"}
    )
    assert (applied.frequency, applied.frequency_duration) == (FOREVER, None)
    assert applied.amount_cents_remaining is None


def test_apply_coupon_rejects_bad_overrides() -> None:
    with pytest.raises(CouponError) as info:
        apply_coupon(catalog(), applied_coupon_id="a", at=FEB, overrides={"code": "x"})
    assert info.value.errors == {"code": ["value_is_invalid"]}
    percentage = catalog(coupon_type=PERCENT, percentage_rate=Decimal(5))
    with pytest.raises(CouponError) as info:
        apply_coupon(percentage, applied_coupon_id="a", at=FEB, overrides={"percentage_rate": "x"})
    assert info.value.errors == {"percentage_rate": ["value_is_invalid"]}
    with pytest.raises(CouponError) as info:
        apply_coupon(catalog(), applied_coupon_id="a", at=FEB, overrides={"frequency": "daily"})
    assert info.value.errors == {"frequency": ["value_is_invalid"]}


def test_expired_coupon_cannot_be_applied() -> None:
    coupon = catalog(expiration=CouponExpiration.TIME_LIMIT, expiration_at=JAN)
    assert coupon.is_expired(FEB)
    assert not coupon.is_expired(JAN)
    with pytest.raises(CouponError) as info:
        apply_coupon(coupon, applied_coupon_id="a", at=FEB)
    assert info.value.errors == {"coupon": ["coupon_is_expired"]}


def test_non_reusable_coupon_applies_once_per_customer() -> None:
    coupon = catalog(reusable=False)
    apply_coupon(coupon, applied_coupon_id="a", at=FEB, customer_coupon_codes={"other"})
    with pytest.raises(CouponError) as info:
        apply_coupon(coupon, applied_coupon_id="b", at=FEB, customer_coupon_codes={"startup"})
    assert info.value.errors == {"coupon": ["coupon_is_not_reusable"]}
    # reusable coupons can be applied again
    apply_coupon(catalog(), applied_coupon_id="c", at=FEB, customer_coupon_codes={"startup"})


# --- properties --------------------------------------------------------------------------

fee_amounts = st.lists(st.integers(min_value=0, max_value=10**7), min_size=0, max_size=8)


@st.composite
def applied_coupons(draw: st.DrawFn) -> list[AppliedCoupon]:
    result: list[AppliedCoupon] = []
    for index in range(draw(st.integers(min_value=0, max_value=4))):
        created = JAN + timedelta(days=draw(st.integers(0, 20)))
        frequency = draw(st.sampled_from(list(CouponFrequency)))
        if draw(st.booleans()):
            cents = draw(st.integers(min_value=1, max_value=10**7))
            result.append(fixed(f"c{index}", cents, frequency, created_at=created))
        else:
            rate = draw(st.decimals(min_value=0, max_value=100, places=2))
            result.append(percent(f"c{index}", str(rate), frequency, created_at=created))
    return result


@given(fee_amounts, applied_coupons())
def test_discounts_never_exceed_subtotal_and_always_add_up(
    amounts: list[int], coupons: list[AppliedCoupon]
) -> None:
    result = apply_coupons(fees(*amounts), coupons, currency="USD", at=FEB)
    assert 0 <= result.coupons_amount_cents <= result.subtotal_cents == sum(amounts)
    assert sum(f.discount_cents for f in result.fees) == result.coupons_amount_cents
    assert all(0 <= f.discount_cents <= f.amount_cents for f in result.fees)
    for coupon in result.coupons:
        assert sum(share.amount_cents for share in coupon.fee_shares) == coupon.discount_cents


@given(
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=10),
    st.data(),
)
def test_split_pro_rata_is_exact_and_bounded(weights: list[int], data: st.DataObject) -> None:
    total = data.draw(st.integers(min_value=0, max_value=sum(weights)))
    shares = split_pro_rata(total, weights)
    assert sum(shares) == total
    assert all(0 <= share <= weight for share, weight in zip(shares, weights, strict=True))
    if sum(weights):
        # each share is within one unit of its exact proportional value
        assert all(
            abs(share * sum(weights) - total * weight) < sum(weights)
            for share, weight in zip(shares, weights, strict=True)
        )
