"""A charge's ``properties`` as Lago sends them (amounts as strings or numbers, counts as
integers or digit strings), read with every problem collected so that one 422 lists all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any


class ChargePropertiesError(ValueError):
    """Invalid charge properties; ``errors`` maps field → Lago error codes (422 details)."""

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        self.errors: dict[str, list[str]] = {field: list(codes) for field, codes in errors.items()}
        super().__init__(f"invalid charge properties: {self.errors}")


class PropertyErrors:
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


# Prices, rates and amounts of charge properties: below 10^15 (major units) with at most
# 15 decimals, so that a fee computed from them stays exact and the period close that
# prices usage never meets a number it cannot hold (NUMERIC(30, 15) and BIGINT cents).
MAX_PROPERTY_AMOUNT = Decimal(10) ** 15
MAX_PROPERTY_DECIMALS = 15
MAX_PROPERTY_INT = 10**15


def _as_decimal(raw: object) -> Decimal | None:
    """A finite, non-negative, bounded Decimal from a Lago amount (string, int or float),
    or None."""
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
    if not value.is_finite() or value < 0 or value >= MAX_PROPERTY_AMOUNT:
        return None
    exponent = value.normalize().as_tuple().exponent  # trailing zeros don't count
    if isinstance(exponent, int) and exponent < -MAX_PROPERTY_DECIMALS:
        return None
    return value


def as_int(raw: object) -> int | None:
    """A non-negative int from an int or a digit string, or None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 <= raw <= MAX_PROPERTY_INT else None
    if isinstance(raw, str) and raw.strip().isdigit() and len(raw.strip()) <= 16:
        value = int(raw.strip())
        return value if value <= MAX_PROPERTY_INT else None
    return None


def decimal_field(
    props: Mapping[str, Any], key: str, code: str, errors: PropertyErrors, *, required: bool
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


def int_field(
    props: Mapping[str, Any], key: str, code: str, errors: PropertyErrors, *, minimum: int
) -> int | None:
    raw = props.get(key)
    if raw is None:
        return None
    value = as_int(raw)
    if value is None or value < minimum:
        errors.add(key, code)
        return None
    return value
