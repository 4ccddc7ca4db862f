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


def as_int(raw: object) -> int | None:
    """A non-negative int from an int or a digit string, or None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw >= 0 else None
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
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
