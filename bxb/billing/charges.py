"""Lago's six charge models: from a charge's ``properties`` to one fee amount.

Prices arrive as strings in major units ("0.5" = half a dollar) and rates as percent
strings ("2.5" = 2.5 %). Each model works in exact ``Decimal`` minor units and rounds
exactly once, half-up, at the very end (``money.round_minor``), so a fee never carries
per-unit or per-tier rounding errors. Usage below zero bills nothing: no model returns a
negative fee.

Tiered models (graduated, volume, graduated percentage) use Lago's integer ranges
``0..10, 11..20, 21..null``. Tier *i* holds the units above the previous tier's
``to_value`` up to its own, so 10.5 units put 0.5 units in the second tier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Self

from bxb.billing.money import currency_exponent, major_to_minor_exact, round_minor

_ZERO = Decimal(0)


class ChargeModel(StrEnum):
    STANDARD = "standard"
    GRADUATED = "graduated"
    VOLUME = "volume"
    PACKAGE = "package"
    PERCENTAGE = "percentage"
    GRADUATED_PERCENTAGE = "graduated_percentage"


class ChargePropertiesError(ValueError):
    """Invalid charge properties; ``errors`` maps field → Lago error codes (422 details)."""

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        self.errors: dict[str, list[str]] = {field: list(codes) for field, codes in errors.items()}
        super().__init__(f"invalid charge properties: {self.errors}")


# --- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TierBreakdown:
    """One tier reached by the usage, like Lago's fee ``amount_details`` ranges.

    Prices (``per_unit_amount``, ``flat_amount``) are as configured, in major units; the
    ``*_minor`` amounts are exact and unrounded, in minor units.
    """

    from_value: int
    to_value: int | None
    units: Decimal
    flat_amount: Decimal
    flat_amount_minor: Decimal
    per_unit_total_minor: Decimal
    per_unit_amount: Decimal | None = None
    rate: Decimal | None = None

    @property
    def total_minor(self) -> Decimal:
        return self.flat_amount_minor + self.per_unit_total_minor


@dataclass(frozen=True)
class TieredDetails:
    tiers: tuple[TierBreakdown, ...]


@dataclass(frozen=True)
class PackageDetails:
    free_units: Decimal
    paid_units: Decimal
    package_size: int
    packages: int
    per_package_amount: Decimal


@dataclass(frozen=True)
class PercentageDetails:
    """Breakdown of a percentage fee; ``*_minor`` amounts are exact, unrounded minor units.

    ``free_units`` is the transaction amount exempt from the rate; ``bounds_adjustment_minor``
    is what the per-transaction min/max clamps added (positive) or removed (negative).
    """

    rate: Decimal
    units: Decimal
    free_units: Decimal
    paid_units: Decimal
    free_events: int
    paid_events: int
    rate_amount_minor: Decimal
    fixed_fee_unit_amount: Decimal
    fixed_fee_total_minor: Decimal
    bounds_adjustment_minor: Decimal


ChargeDetails = TieredDetails | PackageDetails | PercentageDetails


@dataclass(frozen=True)
class ChargeAmount:
    """A computed fee: ``amount_cents == round_minor(exact_amount_minor)``, rounded once."""

    amount_cents: int
    exact_amount_minor: Decimal
    units: Decimal
    events_count: int
    details: ChargeDetails | None = None


def _finish(
    exact_minor: Decimal, units: Decimal, events_count: int, details: ChargeDetails | None
) -> ChargeAmount:
    return ChargeAmount(round_minor(exact_minor), exact_minor, units, events_count, details)


def _events_count(
    per_event_values: Sequence[Decimal], events_count: int | None, currency: str
) -> int:
    currency_exponent(currency)  # fail on an unknown currency even when usage is zero
    if events_count is None:
        return len(per_event_values)
    if events_count < 0:
        raise ValueError("events_count cannot be negative")
    if per_event_values and len(per_event_values) != events_count:
        raise ValueError("events_count disagrees with the number of per_event_values")
    return events_count


# --- property parsing --------------------------------------------------------------------


class _Errors:
    """Collects every problem so one 422 lists them all, not just the first."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, code: str) -> None:
        codes = self.by_field.setdefault(field, [])
        if code not in codes:
            codes.append(code)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ChargePropertiesError(self.by_field)


def _as_decimal(raw: object) -> Decimal | None:
    """A finite, non-negative Decimal from a Lago amount (string, int or float), or None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int | float | str):
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            return None
    else:
        return None
    if not value.is_finite() or value < 0:
        return None
    return value


def _as_int(raw: object) -> int | None:
    """A non-negative int from an int or a digit string, or None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw >= 0 else None
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return None


def _decimal_field(
    props: Mapping[str, Any], key: str, code: str, errors: _Errors, *, required: bool
) -> Decimal | None:
    raw = props.get(key)
    if raw is None:
        if required:
            errors.add(key, code)
        return None
    value = _as_decimal(raw)
    if value is None:
        errors.add(key, code)
    return value


def _int_field(
    props: Mapping[str, Any], key: str, code: str, errors: _Errors, *, minimum: int
) -> int | None:
    raw = props.get(key)
    if raw is None:
        return None
    value = _as_int(raw)
    if value is None or value < minimum:
        errors.add(key, code)
        return None
    return value


# --- tiers shared by graduated, volume and graduated percentage --------------------------


@dataclass(frozen=True)
class Tier:
    """One range; ``price`` is a per-unit amount (major units) or a rate in percent."""

    from_value: int
    to_value: int | None
    price: Decimal
    flat_amount: Decimal

    @property
    def lower_bound(self) -> int:
        # Units above this belong to the tier: 0 for the first, previous to_value otherwise.
        return max(self.from_value - 1, 0)


def _parse_tiers(
    props: Mapping[str, Any], key: str, price_key: str, price_code: str, errors: _Errors
) -> tuple[Tier, ...]:
    raw = props.get(key)
    if raw is None or (isinstance(raw, Sequence) and not raw):
        errors.add(key, f"missing_{key}")
        return ()
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        errors.add(key, f"invalid_{key}")
        return ()
    if not all(isinstance(item, Mapping) for item in raw):
        errors.add(key, f"invalid_{key}")
        return ()
    prices = [_decimal_field(item, price_key, price_code, errors, required=True) for item in raw]
    flats = [
        _decimal_field(item, "flat_amount", "invalid_amount", errors, required=True) for item in raw
    ]
    bounds = [_tier_bounds(item) for item in raw]
    if not _contiguous(bounds):
        errors.add(key, f"invalid_{key}")
        return ()
    return tuple(
        Tier(bound[0], bound[1], price, flat)
        for bound, price, flat in zip(bounds, prices, flats, strict=True)
        if bound is not None and price is not None and flat is not None
    )


def _tier_bounds(item: Mapping[str, Any]) -> tuple[int, int | None] | None:
    """(from_value, to_value) of a range, or None when either is not a valid integer."""
    from_value = _as_int(item.get("from_value"))
    raw_to = item.get("to_value")
    to_value = None if raw_to is None else _as_int(raw_to)
    if from_value is None or (raw_to is not None and to_value is None):
        return None
    return from_value, to_value


def _contiguous(bounds: Sequence[tuple[int, int | None] | None]) -> bool:
    """Lago's rule: start at 0, each next from_value = to_value + 1, each to_value above
    its from_value, and only the last range open-ended (to_value null)."""
    expected_from: int | None = 0
    for index, bound in enumerate(bounds):
        if bound is None or bound[0] != expected_from:
            return False
        from_value, to_value = bound
        is_last = index == len(bounds) - 1
        if (to_value is None) != is_last or (to_value is not None and to_value <= from_value):
            return False
        expected_from = None if to_value is None else to_value + 1
    return True


def _units_in_tier(units: Decimal, tier: Tier) -> Decimal:
    top = units if tier.to_value is None else min(units, Decimal(tier.to_value))
    return max(top - tier.lower_bound, _ZERO)


def _tier_breakdown(
    tier: Tier, units: Decimal, per_unit_minor: Decimal, currency: str, *, is_rate: bool
) -> TierBreakdown:
    return TierBreakdown(
        from_value=tier.from_value,
        to_value=tier.to_value,
        units=units,
        flat_amount=tier.flat_amount,
        flat_amount_minor=major_to_minor_exact(tier.flat_amount, currency),
        per_unit_total_minor=units * per_unit_minor,
        per_unit_amount=None if is_rate else tier.price,
        rate=tier.price if is_rate else None,
    )


def _graduated(
    tiers: Sequence[Tier], units: Decimal, currency: str, *, is_rate: bool
) -> tuple[Decimal, TieredDetails]:
    """Price units tier by tier; a tier's flat amount is due once usage enters the tier."""
    reached: list[TierBreakdown] = []
    for tier in tiers:
        if units <= tier.lower_bound:
            break
        per_unit_minor = _per_unit_minor(tier.price, currency, is_rate=is_rate)
        reached.append(
            _tier_breakdown(
                tier, _units_in_tier(units, tier), per_unit_minor, currency, is_rate=is_rate
            )
        )
    total = sum((tier.total_minor for tier in reached), _ZERO)
    return total, TieredDetails(tuple(reached))


def _per_unit_minor(price: Decimal, currency: str, *, is_rate: bool) -> Decimal:
    # A rate applies to amounts in major units: 1 % of one unit is 0.01 major units.
    major = price.scaleb(-2) if is_rate else price
    return major_to_minor_exact(major, currency)


# --- the six models ----------------------------------------------------------------------


@dataclass(frozen=True)
class StandardCharge:
    """``amount`` per unit."""

    amount: Decimal

    @classmethod
    def from_properties(cls, props: Mapping[str, Any]) -> Self:
        errors = _Errors()
        amount = _decimal_field(props, "amount", "invalid_amount", errors, required=True)
        errors.raise_if_any()
        assert amount is not None
        return cls(amount)

    def compute(
        self,
        units: Decimal,
        currency: str,
        *,
        per_event_values: Sequence[Decimal] = (),
        events_count: int | None = None,
    ) -> ChargeAmount:
        count = _events_count(per_event_values, events_count, currency)
        billable = max(units, _ZERO)
        return _finish(billable * major_to_minor_exact(self.amount, currency), units, count, None)


@dataclass(frozen=True)
class GraduatedCharge:
    """Each tier prices the units inside it; flat amounts add up for every tier reached."""

    ranges: tuple[Tier, ...]

    @classmethod
    def from_properties(cls, props: Mapping[str, Any]) -> Self:
        errors = _Errors()
        tiers = _parse_tiers(props, "graduated_ranges", "per_unit_amount", "invalid_amount", errors)
        errors.raise_if_any()
        return cls(tiers)

    def compute(
        self,
        units: Decimal,
        currency: str,
        *,
        per_event_values: Sequence[Decimal] = (),
        events_count: int | None = None,
    ) -> ChargeAmount:
        count = _events_count(per_event_values, events_count, currency)
        total, details = _graduated(self.ranges, units, currency, is_rate=False)
        return _finish(total, units, count, details)


@dataclass(frozen=True)
class VolumeCharge:
    """All units at the price of the one tier the total falls into, plus its flat amount."""

    ranges: tuple[Tier, ...]

    @classmethod
    def from_properties(cls, props: Mapping[str, Any]) -> Self:
        errors = _Errors()
        tiers = _parse_tiers(props, "volume_ranges", "per_unit_amount", "invalid_amount", errors)
        errors.raise_if_any()
        return cls(tiers)

    def tier_for(self, units: Decimal) -> Tier:
        """The tier whose (previous to_value, to_value] holds ``units``."""
        for tier in self.ranges[:-1]:
            if tier.to_value is not None and units <= tier.to_value:
                return tier
        return self.ranges[-1]  # validated ranges end with an open tier

    def compute(
        self,
        units: Decimal,
        currency: str,
        *,
        per_event_values: Sequence[Decimal] = (),
        events_count: int | None = None,
    ) -> ChargeAmount:
        count = _events_count(per_event_values, events_count, currency)
        if units <= 0:  # no usage, no tier entered: not even the first flat amount is due
            return _finish(_ZERO, units, count, TieredDetails(()))
        tier = self.tier_for(units)
        per_unit_minor = major_to_minor_exact(tier.price, currency)
        breakdown = _tier_breakdown(tier, units, per_unit_minor, currency, is_rate=False)
        return _finish(breakdown.total_minor, units, count, TieredDetails((breakdown,)))


@dataclass(frozen=True)
class PackageCharge:
    """``amount`` per started package of ``package_size`` units beyond ``free_units``."""

    amount: Decimal
    package_size: int
    free_units: int = 0

    @classmethod
    def from_properties(cls, props: Mapping[str, Any]) -> Self:
        errors = _Errors()
        amount = _decimal_field(props, "amount", "invalid_amount", errors, required=True)
        size = _int_field(props, "package_size", "invalid_package_size", errors, minimum=1)
        if props.get("package_size") is None:
            errors.add("package_size", "invalid_package_size")
        free = _int_field(props, "free_units", "invalid_free_units", errors, minimum=0)
        errors.raise_if_any()
        assert amount is not None
        assert size is not None
        return cls(amount, size, free or 0)

    def compute(
        self,
        units: Decimal,
        currency: str,
        *,
        per_event_values: Sequence[Decimal] = (),
        events_count: int | None = None,
    ) -> ChargeAmount:
        count = _events_count(per_event_values, events_count, currency)
        paid_units = max(units - self.free_units, _ZERO)
        whole, rest = divmod(paid_units, Decimal(self.package_size))
        packages = int(whole) + (1 if rest > 0 else 0)  # a started package is a whole package
        exact = packages * major_to_minor_exact(self.amount, currency)
        details = PackageDetails(
            free_units=min(max(units, _ZERO), Decimal(self.free_units)),
            paid_units=paid_units,
            package_size=self.package_size,
            packages=packages,
            per_package_amount=self.amount,
        )
        return _finish(exact, units, count, details)


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
        errors = _Errors()

        def decimal(key: str, *, required: bool = False) -> Decimal | None:
            return _decimal_field(props, key, f"invalid_{key}", errors, required=required)

        rate = decimal("rate", required=True)
        fixed = decimal("fixed_amount")
        free_events = _int_field(
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
        count = _events_count(values, events_count, currency)
        if values and sum(values, _ZERO) != units:
            raise ValueError("per_event_values must sum to units")
        free_events = min(self.free_units_per_events, count)
        free_units = min(self._exempt_amount(units, values, count, free_events), max(units, _ZERO))
        rate_minor = _per_unit_minor(self.rate, currency, is_rate=True)
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
        return _finish(total, units, count, details)

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


@dataclass(frozen=True)
class GraduatedPercentageCharge:
    """Graduated tiers whose price is a rate in percent of the amount inside the tier."""

    ranges: tuple[Tier, ...]

    @classmethod
    def from_properties(cls, props: Mapping[str, Any]) -> Self:
        errors = _Errors()
        tiers = _parse_tiers(props, "graduated_percentage_ranges", "rate", "invalid_rate", errors)
        errors.raise_if_any()
        return cls(tiers)

    def compute(
        self,
        units: Decimal,
        currency: str,
        *,
        per_event_values: Sequence[Decimal] = (),
        events_count: int | None = None,
    ) -> ChargeAmount:
        count = _events_count(per_event_values, events_count, currency)
        total, details = _graduated(self.ranges, units, currency, is_rate=True)
        return _finish(total, units, count, details)


Charge = (
    StandardCharge
    | GraduatedCharge
    | VolumeCharge
    | PackageCharge
    | PercentageCharge
    | GraduatedPercentageCharge
)

_MODELS: dict[ChargeModel, type[Charge]] = {
    ChargeModel.STANDARD: StandardCharge,
    ChargeModel.GRADUATED: GraduatedCharge,
    ChargeModel.VOLUME: VolumeCharge,
    ChargeModel.PACKAGE: PackageCharge,
    ChargeModel.PERCENTAGE: PercentageCharge,
    ChargeModel.GRADUATED_PERCENTAGE: GraduatedPercentageCharge,
}


def charge_from_properties(model: ChargeModel | str, props: Mapping[str, Any]) -> Charge:
    """Build and validate the charge for a Lago ``charge_model`` and its ``properties``."""
    try:
        charge_model = ChargeModel(model)
    except ValueError:
        raise ChargePropertiesError({"charge_model": ["value_is_invalid"]}) from None
    return _MODELS[charge_model].from_properties(props)
