"""Ranges shared by the graduated, volume and graduated percentage charge models.

Lago's integer ranges ``0..10, 11..20, 21..null``: tier *i* holds the units above the
previous tier's ``to_value`` up to its own, so 10.5 units put 0.5 units in the second tier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bxb.billing.charge_amounts import TierBreakdown, TieredDetails, minor_per_unit
from bxb.billing.charge_properties import PropertyErrors, as_int, decimal_field
from bxb.billing.money import major_to_minor_exact

_ZERO = Decimal(0)


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


def parse_tiers(
    props: Mapping[str, Any], key: str, price_key: str, price_code: str, errors: PropertyErrors
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
    prices = [decimal_field(item, price_key, price_code, errors, required=True) for item in raw]
    flats = [
        decimal_field(item, "flat_amount", "invalid_amount", errors, required=True) for item in raw
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
    from_value = as_int(item.get("from_value"))
    raw_to = item.get("to_value")
    to_value = None if raw_to is None else as_int(raw_to)
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


def tier_breakdown(
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


def graduated_total(
    tiers: Sequence[Tier], units: Decimal, currency: str, *, is_rate: bool
) -> tuple[Decimal, TieredDetails]:
    """Price units tier by tier; a tier's flat amount is due once usage enters the tier."""
    reached: list[TierBreakdown] = []
    for tier in tiers:
        if units <= tier.lower_bound:
            break
        per_unit_minor = minor_per_unit(tier.price, currency, is_rate=is_rate)
        reached.append(
            tier_breakdown(
                tier, _units_in_tier(units, tier), per_unit_minor, currency, is_rate=is_rate
            )
        )
    total = sum((tier.total_minor for tier in reached), _ZERO)
    return total, TieredDetails(tuple(reached))
