"""Lago's six charge models: from a charge's ``properties`` to one fee amount.

Prices arrive as strings in major units ("0.5" = half a dollar) and rates as percent
strings ("2.5" = 2.5 %). Each model works in exact ``Decimal`` minor units and rounds
exactly once, half-up, at the very end (``money.round_minor``), so a fee never carries
per-unit or per-tier rounding errors. Usage below zero bills nothing: no model returns a
negative fee.

Their parts: reading properties (charge_properties), the fee and its details
(charge_amounts), tiered ranges (tiers), and the percentage model (percentage_charge).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Self

from bxb.billing.charge_amounts import (
    ChargeAmount,
    PackageDetails,
    TieredDetails,
    checked_events_count,
    round_fee,
)
from bxb.billing.charge_properties import (
    ChargePropertiesError,
    PropertyErrors,
    decimal_field,
    int_field,
)
from bxb.billing.money import major_to_minor_exact
from bxb.billing.percentage_charge import PercentageCharge
from bxb.billing.tiers import Tier, graduated_total, parse_tiers, tier_breakdown

_ZERO = Decimal(0)


class ChargeModel(StrEnum):
    STANDARD = "standard"
    GRADUATED = "graduated"
    VOLUME = "volume"
    PACKAGE = "package"
    PERCENTAGE = "percentage"
    GRADUATED_PERCENTAGE = "graduated_percentage"


@dataclass(frozen=True)
class StandardCharge:
    """``amount`` per unit."""

    amount: Decimal

    @classmethod
    def from_properties(cls, props: Mapping[str, Any]) -> Self:
        errors = PropertyErrors()
        amount = decimal_field(props, "amount", "invalid_amount", errors, required=True)
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
        count = checked_events_count(per_event_values, events_count, currency)
        billable = max(units, _ZERO)
        return round_fee(billable * major_to_minor_exact(self.amount, currency), units, count, None)


@dataclass(frozen=True)
class _Graduated:
    """Tier by tier: each tier prices what is inside it, and its flat amount is due once
    usage enters it. Subclasses name their ranges and whether the price is a rate."""

    ranges: tuple[Tier, ...]

    RANGES_KEY: ClassVar[str]
    PRICE_KEY: ClassVar[str]
    PRICE_CODE: ClassVar[str]
    IS_RATE: ClassVar[bool]

    @classmethod
    def from_properties(cls, props: Mapping[str, Any]) -> Self:
        errors = PropertyErrors()
        tiers = parse_tiers(props, cls.RANGES_KEY, cls.PRICE_KEY, cls.PRICE_CODE, errors)
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
        count = checked_events_count(per_event_values, events_count, currency)
        total, details = graduated_total(self.ranges, units, currency, is_rate=self.IS_RATE)
        return round_fee(total, units, count, details)


@dataclass(frozen=True)
class GraduatedCharge(_Graduated):
    """Each tier prices the units inside it; flat amounts add up for every tier reached."""

    RANGES_KEY = "graduated_ranges"
    PRICE_KEY = "per_unit_amount"
    PRICE_CODE = "invalid_amount"
    IS_RATE = False


@dataclass(frozen=True)
class VolumeCharge:
    """All units at the price of the one tier the total falls into, plus its flat amount."""

    ranges: tuple[Tier, ...]

    @classmethod
    def from_properties(cls, props: Mapping[str, Any]) -> Self:
        errors = PropertyErrors()
        tiers = parse_tiers(props, "volume_ranges", "per_unit_amount", "invalid_amount", errors)
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
        count = checked_events_count(per_event_values, events_count, currency)
        if units <= 0:  # no usage, no tier entered: not even the first flat amount is due
            return round_fee(_ZERO, units, count, TieredDetails(()))
        tier = self.tier_for(units)
        per_unit_minor = major_to_minor_exact(tier.price, currency)
        breakdown = tier_breakdown(tier, units, per_unit_minor, currency, is_rate=False)
        return round_fee(breakdown.total_minor, units, count, TieredDetails((breakdown,)))


@dataclass(frozen=True)
class PackageCharge:
    """``amount`` per started package of ``package_size`` units beyond ``free_units``."""

    amount: Decimal
    package_size: int
    free_units: int = 0

    @classmethod
    def from_properties(cls, props: Mapping[str, Any]) -> Self:
        errors = PropertyErrors()
        amount = decimal_field(props, "amount", "invalid_amount", errors, required=True)
        size = int_field(props, "package_size", "invalid_package_size", errors, minimum=1)
        if props.get("package_size") is None:
            errors.add("package_size", "invalid_package_size")
        free = int_field(props, "free_units", "invalid_free_units", errors, minimum=0)
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
        count = checked_events_count(per_event_values, events_count, currency)
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
        return round_fee(exact, units, count, details)


@dataclass(frozen=True)
class GraduatedPercentageCharge(_Graduated):
    """Graduated tiers whose price is a rate in percent of the amount inside the tier."""

    RANGES_KEY = "graduated_percentage_ranges"
    PRICE_KEY = "rate"
    PRICE_CODE = "invalid_rate"
    IS_RATE = True


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
