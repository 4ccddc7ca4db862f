"""What a charge model computes: one fee in exact minor units, rounded once, with the
details Lago shows as a fee's ``amount_details``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bxb.billing.money import currency_exponent, major_to_minor_exact, round_minor


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


def round_fee(
    exact_minor: Decimal, units: Decimal, events_count: int, details: ChargeDetails | None
) -> ChargeAmount:
    """The fee of an exact amount, rounded once (half-up) to the currency's minor unit."""
    return ChargeAmount(round_minor(exact_minor), exact_minor, units, events_count, details)


def checked_events_count(
    per_event_values: Sequence[Decimal], events_count: int | None, currency: str
) -> int:
    """The events a fee counts: as given, else one per value (and the two must agree)."""
    currency_exponent(currency)  # fail on an unknown currency even when usage is zero
    if events_count is None:
        return len(per_event_values)
    if events_count < 0:
        raise ValueError("events_count cannot be negative")
    if per_event_values and len(per_event_values) != events_count:
        raise ValueError("events_count disagrees with the number of per_event_values")
    return events_count


def minor_per_unit(price: Decimal, currency: str, *, is_rate: bool) -> Decimal:
    # A rate applies to amounts in major units: 1 % of one unit is 0.01 major units.
    major = price.scaleb(-2) if is_rate else price
    return major_to_minor_exact(major, currency)
