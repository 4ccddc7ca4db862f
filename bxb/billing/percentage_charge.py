"""The percentage charge model: a rate of the transaction amounts, with fixed fees, free
allowances and per-transaction bounds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Self

from bxb.billing.charge_amounts import (
    ChargeAmount,
    PercentageDetails,
    checked_events_count,
    minor_per_unit,
    round_fee,
)
from bxb.billing.charge_properties import PropertyErrors, decimal_field, int_field
from bxb.billing.money import major_to_minor_exact

_ZERO = Decimal(0)


@dataclass(frozen=True)
class PercentageCharge:
    """``rate`` % of the transaction amounts, plus ``fixed_amount`` per transaction.

    Order of application (Lago's documented semantics, made exact; transactions are taken
    in chronological order):

    1. Exemption from the rate: ``free_units_per_total_aggregation`` (X) alone exempts the
       first X of amount; ``free_units_per_events`` (N) alone exempts the amounts of the
       first N transactions; with both, the smaller of the two (Lago's docs: "the first 3
       events or $500 are free": the free allowance ends when either runs out). The
       exemption is consumed by the transactions in order.
    2. Fixed fee: every transaction after the first N pays ``fixed_amount``.
    3. A transaction's fee is ``rate`` % of its amount not covered by the exemption, plus
       its fixed fee from step 2.
    4. With ``per_transaction_min_amount`` / ``per_transaction_max_amount``, each
       transaction's fee is then clamped into [min, max]; a transaction that costs nothing
       because it is among the first N or wholly exempt stays free (no minimum applies).
    5. The exact sum of the transaction fees is rounded once.

    Without min/max this sum is ``rate`` % × (total − exemption) + fixed × paid events, so
    the aggregated total suffices, except that the exemption of step 1 needs the amounts of
    the first N transactions. Min/max need every transaction's amount: pass
    ``per_event_values`` (as ``AggregationResult.per_event_values`` gives them).
    """

    rate: Decimal
    fixed_amount: Decimal = _ZERO
    free_units_per_events: int = 0
    free_units_per_total_aggregation: Decimal | None = None
    per_transaction_min_amount: Decimal | None = None
    per_transaction_max_amount: Decimal | None = None

    @classmethod
    def from_properties(cls, props: Mapping[str, Any]) -> Self:
        errors = PropertyErrors()

        def decimal(key: str, *, required: bool = False) -> Decimal | None:
            return decimal_field(props, key, f"invalid_{key}", errors, required=required)

        rate = decimal("rate", required=True)
        fixed = decimal("fixed_amount")
        free_events = int_field(
            props, "free_units_per_events", "invalid_free_units_per_events", errors, minimum=0
        )
        free_total = decimal("free_units_per_total_aggregation")
        min_amount = decimal("per_transaction_min_amount")
        max_amount = decimal("per_transaction_max_amount")
        if min_amount is not None and max_amount is not None and max_amount < min_amount:
            errors.add("per_transaction_max_amount", "per_transaction_max_lower_than_min")
        errors.raise_if_any()
        assert rate is not None
        return cls(
            rate=rate,
            fixed_amount=fixed or _ZERO,
            free_units_per_events=free_events or 0,
            free_units_per_total_aggregation=free_total,
            per_transaction_min_amount=min_amount,
            per_transaction_max_amount=max_amount,
        )

    @property
    def has_transaction_bounds(self) -> bool:
        return (
            self.per_transaction_min_amount is not None
            or self.per_transaction_max_amount is not None
        )

    def compute(
        self,
        units: Decimal,
        currency: str,
        *,
        per_event_values: Sequence[Decimal] = (),
        events_count: int | None = None,
    ) -> ChargeAmount:
        values = tuple(per_event_values)
        count = checked_events_count(values, events_count, currency)
        if values and sum(values, _ZERO) != units:
            raise ValueError("per_event_values must sum to units")
        free_events = min(self.free_units_per_events, count)
        free_units = min(self._exempt_amount(units, values, count, free_events), max(units, _ZERO))
        rate_minor = minor_per_unit(self.rate, currency, is_rate=True)
        fixed_minor = major_to_minor_exact(self.fixed_amount, currency)
        rate_amount = max(units - free_units, _ZERO) * rate_minor
        fixed_total = (count - free_events) * fixed_minor
        total = rate_amount + fixed_total
        if self.has_transaction_bounds and count > free_events:
            if not values:
                raise ValueError("per-transaction min/max amounts need per_event_values")
            total = self._bounded_total(
                values, free_events, free_units, rate_minor, fixed_minor, currency
            )
        details = PercentageDetails(
            rate=self.rate,
            units=units,
            free_units=free_units,
            paid_units=max(units - free_units, _ZERO),
            free_events=free_events,
            paid_events=count - free_events,
            rate_amount_minor=rate_amount,
            fixed_fee_unit_amount=self.fixed_amount,
            fixed_fee_total_minor=fixed_total,
            bounds_adjustment_minor=total - rate_amount - fixed_total,
        )
        return round_fee(total, units, count, details)

    def _exempt_amount(
        self, units: Decimal, values: Sequence[Decimal], count: int, free_events: int
    ) -> Decimal:
        """Amount exempt from the rate (step 2 of the class docstring)."""
        by_total = self.free_units_per_total_aggregation
        if free_events == 0:
            return by_total if by_total is not None else _ZERO
        if count == free_events:
            by_events = units  # every transaction is free
        elif values:
            by_events = sum(values[:free_events], _ZERO)
        else:
            raise ValueError("free_units_per_events needs per_event_values")
        return by_events if by_total is None else min(by_events, by_total)

    def _bounded_total(
        self,
        values: Sequence[Decimal],
        free_events: int,
        free_units: Decimal,
        rate_minor: Decimal,
        fixed_minor: Decimal,
        currency: str,
    ) -> Decimal:
        low = self._bound_minor(self.per_transaction_min_amount, currency)
        high = self._bound_minor(self.per_transaction_max_amount, currency)
        exemption_left = free_units
        total = _ZERO
        for index, value in enumerate(values):
            amount = max(value, _ZERO)  # a refund is not paid back by a transaction fee
            exempt = min(amount, exemption_left)
            exemption_left -= exempt
            fixed = fixed_minor if index >= free_events else _ZERO
            fee = (amount - exempt) * rate_minor + fixed
            if fee == 0 and (index < free_events or exempt > 0):
                continue
            if low is not None:
                fee = max(fee, low)
            if high is not None:
                fee = min(fee, high)
            total += fee
        return total

    @staticmethod
    def _bound_minor(amount: Decimal | None, currency: str) -> Decimal | None:
        return None if amount is None else major_to_minor_exact(amount, currency)
