"""Fixed charges: a number of units of an add-on, priced by a charge model, every period.

Lago's fixed charges take the standard, graduated or volume model. Billed in advance
they cover the period that starts; in arrears the period that ends. A prorated fixed
charge bills the days of the window over the period's full days: its units are weighted
by that ratio (rounded to six places, as Lago's prorated aggregation does) and priced
per unit for the standard model; graduated and volume tiers are chosen by the full units
and their amount weighted by the same ratio, rounded once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bxb.billing.charges import StandardCharge, charge_from_properties
from bxb.billing.money import major_to_minor_exact, round_minor

FIXED_CHARGE_MODELS = ("standard", "graduated", "volume")
_UNITS_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class FixedFee:
    amount_cents: int
    exact_amount_minor: Decimal
    units: Decimal  # the units billed (weighted by the days when prorated)
    unit_amount_minor: Decimal


def fixed_fee(
    charge_model: str,
    properties: Mapping[str, Any],
    units: Decimal,
    currency: str,
    *,
    days: int,
    full_days: int,
    prorated: bool,
) -> FixedFee:
    """The fee of `units` for a window of `days` out of a period of `full_days`."""
    units = max(units, Decimal(0))
    ratio = Decimal(days) / Decimal(full_days) if prorated and full_days else Decimal(1)
    ratio = min(max(ratio, Decimal(0)), Decimal(1))
    model = charge_from_properties(charge_model, properties)
    if isinstance(model, StandardCharge):
        billed = (units * ratio).quantize(_UNITS_PLACES, rounding=ROUND_HALF_UP)
        per_unit = major_to_minor_exact(model.amount, currency)
        exact = billed * per_unit
        return FixedFee(round_minor(exact), exact, billed, per_unit)
    full = model.compute(units, currency)
    exact = full.exact_amount_minor * ratio
    billed = (units * ratio).quantize(_UNITS_PLACES, rounding=ROUND_HALF_UP)
    unit_amount = exact / billed if billed else Decimal(0)
    return FixedFee(round_minor(exact), exact, billed, unit_amount)
