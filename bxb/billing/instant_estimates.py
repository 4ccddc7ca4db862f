"""What one event alone would cost on a pay-in-advance charge (pure): Lago's
`estimate_instant_fees`, which prices the event's units by themselves, with no usage of the
period before it, for standard and percentage charges only
(`Charges::EstimateInstant::StandardService` and `PercentageService`).

- standard: units x amount;
- percentage: units x rate / 100 + the fixed amount, held between the per-transaction
  minimum and maximum (free units and free events are not applied: they depend on the
  period's usage);
- negative units cost nothing.

The amount is rounded once to the currency (half-up); the unit amount is that rounded
amount over the units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bxb.billing.aggregation import PropertyValue, parse_numeric
from bxb.billing.money import major_to_minor_exact, round_minor

ESTIMABLE_MODELS = frozenset({"standard", "percentage"})


@dataclass(frozen=True)
class InstantEstimate:
    units: Decimal
    amount: Decimal  # exact, major units
    amount_cents: int
    unit_amount_cents: Decimal  # the rounded amount over the units, in minor units


def event_units(field_name: str | None, properties: Mapping[str, PropertyValue]) -> Decimal:
    """The event's units: its field's value, or 1 for a metric that reads no field (Lago:
    `event.properties[field_name] || base_unit`, 0 when the field is missing)."""
    if field_name is None:
        return Decimal(1)
    value = properties.get(field_name)
    return Decimal(0) if value is None else parse_numeric(value)


def _decimal(properties: Mapping[str, Any], key: str) -> Decimal | None:
    value = properties.get(key)
    return None if value in (None, "") else Decimal(str(value))


def estimate_amount(charge_model: str, properties: Mapping[str, Any], units: Decimal) -> Decimal:
    """The exact amount, in major units, of `units` on the charge's properties."""
    if units < 0:
        return Decimal(0)
    if charge_model == "standard":
        return units * (_decimal(properties, "amount") or Decimal(0))
    if charge_model != "percentage":
        raise ValueError(f"{charge_model} charges have no instant estimate")
    amount = units * (_decimal(properties, "rate") or Decimal(0)) / 100
    amount += _decimal(properties, "fixed_amount") or Decimal(0)
    low = _decimal(properties, "per_transaction_min_amount")
    high = _decimal(properties, "per_transaction_max_amount")
    if low is not None and amount < low:
        amount = low
    if high is not None and amount > high:
        amount = high
    return amount


def estimate_instant(
    charge_model: str, properties: Mapping[str, Any], units: Decimal, currency: str
) -> InstantEstimate:
    amount = estimate_amount(charge_model, properties, units)
    amount_cents = round_minor(major_to_minor_exact(amount, currency))
    unit_cents = Decimal(0) if amount_cents == 0 or units == 0 else Decimal(amount_cents) / units
    return InstantEstimate(
        units=units,
        amount=amount,
        amount_cents=amount_cents,
        unit_amount_cents=unit_cents,
    )
