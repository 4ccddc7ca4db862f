"""Current usage projected to the end of its period, as Lago's ``projected_usage`` does.

Pure. The period's ratio is Lago's (``Fees::ProjectionService``): the days of the period
started by ``now`` (today counts) over the period's days, both counted in the customer's
timezone; 1 once the period is over, 0 before it starts. Then, per priced part (each
charge filter, and the events no filter matched):

- a **recurring** metric's usage is already the period's: projected = current;
- **standard, graduated, volume, package**: the units are projected
  (``round(units / ratio, 2)``, half-up) and priced with the charge's own model and
  properties, so tiers, flat amounts, packages and free units apply to the projected
  units (Lago's ``compute_projected_amount`` of these four models is the model applied to
  the projected units);
- **percentage, graduated_percentage**: the current amount (before rounding) divided by
  the ratio (a per-transaction fee or a rate on amounts scales with the transactions);
  the units are projected as above, for display.

Each projected part is rounded once, half-up, to the currency's minor unit and never
below zero; a charge's projection is the sum of its parts, the usage's the sum of its
charges. Taxes are not projected (Lago's ``taxes_amount_cents`` is the current one).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bxb.billing.charges import charge_from_properties
from bxb.billing.money import round_minor
from bxb.billing.usage import ChargeUsage, CustomerUsage, FilterUsage, iso_instant, units_text

_ZERO = Decimal(0)
_ONE = Decimal(1)
_PROJECTED_BY_AMOUNT = frozenset({"percentage", "graduated_percentage"})


def _days(start: datetime, end: datetime, tz: ZoneInfo) -> int:
    """Lago's ``date_diff_with_timezone``: whole days, a started day counting as one; an
    end at a local midnight counts the day it opens."""
    local_end = end.astimezone(tz)
    if local_end == local_end.replace(hour=0, minute=0, second=0, microsecond=0):
        end = end + timedelta(seconds=1)
    offset = (start.astimezone(tz).utcoffset() or timedelta()) - (
        end.astimezone(tz).utcoffset() or timedelta()
    )
    seconds = Decimal((end - start - offset).total_seconds())
    return int((seconds / 86400).to_integral_value(rounding="ROUND_CEILING"))


def period_ratio(start: datetime, end: datetime, now: datetime, tz: ZoneInfo) -> Decimal:
    """How much of ``[start, end)`` ``now`` has reached, in Lago's day counting."""
    if now >= end:
        return _ONE
    if now < start:
        return _ZERO
    # Lago's period ends on its last second; ours is the exclusive end.
    total = _days(start, end - timedelta(seconds=1), tz)
    passed = _days(start, now, tz)
    if total <= 0:
        return _ONE
    return min(max(Decimal(passed) / Decimal(total), _ZERO), _ONE)


def projected_units(units: Decimal, ratio: Decimal) -> Decimal:
    if units == 0 or ratio <= 0:
        return _ZERO
    return max((units / ratio).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), _ZERO)


@dataclass(frozen=True)
class ProjectedPart:
    part: FilterUsage
    projected_units: Decimal
    projected_amount_cents: int


@dataclass(frozen=True)
class ProjectedCharge:
    usage: ChargeUsage
    parts: tuple[ProjectedPart, ...]

    @property
    def projected_units(self) -> Decimal:
        return sum((p.projected_units for p in self.parts), _ZERO)

    @property
    def projected_amount_cents(self) -> int:
        return sum(p.projected_amount_cents for p in self.parts)


@dataclass(frozen=True)
class ProjectedUsage:
    usage: CustomerUsage
    ratio: Decimal
    charges: tuple[ProjectedCharge, ...]

    @property
    def projected_amount_cents(self) -> int:
        return sum(c.projected_amount_cents for c in self.charges)

    def to_lago_dict(self) -> dict[str, Any]:
        """Lago's CustomerProjectedUsageObject."""
        usage = self.usage
        return {
            "from_datetime": iso_instant(usage.from_datetime),
            "to_datetime": iso_instant(usage.to_datetime - timedelta(seconds=1)),
            "issuing_date": usage.issuing_date.isoformat(),
            "lago_invoice_id": None,
            "currency": usage.currency,
            "amount_cents": usage.amount_cents,
            "projected_amount_cents": self.projected_amount_cents,
            "taxes_amount_cents": usage.taxes_amount_cents,
            "total_amount_cents": usage.total_amount_cents,
            "charges_usage": [_charge_dict(c, usage.currency) for c in self.charges],
        }


def _project_part(
    usage: ChargeUsage,
    part: FilterUsage,
    properties: Mapping[str, Any],
    ratio: Decimal,
    currency: str,
    recurring: bool,
) -> ProjectedPart:
    if recurring:
        return ProjectedPart(part, part.units, part.amount_cents)
    units = projected_units(part.units, ratio)
    if ratio <= 0 or part.units == 0:
        return ProjectedPart(part, _ZERO, 0)
    model = usage.charge.charge_model
    if model in _PROJECTED_BY_AMOUNT:
        amount = round_minor(part.exact_amount_minor / ratio)
    else:
        amount = charge_from_properties(model, properties).compute(units, currency).amount_cents
    return ProjectedPart(part, units, max(amount, 0))


def project_usage(
    usage: CustomerUsage, ratio: Decimal, recurring_metric_codes: Collection[str] = ()
) -> ProjectedUsage:
    """``usage`` projected to its period's end at ``ratio`` (see ``period_ratio``)."""
    charges = []
    for charge_usage in usage.charges_usage:
        charge = charge_usage.charge
        properties = [f.properties for f in charge.filters] + [charge.properties]
        recurring = charge.billable_metric_code in recurring_metric_codes
        parts = tuple(
            _project_part(charge_usage, part, props, ratio, usage.currency, recurring)
            for part, props in zip(charge_usage.parts, properties, strict=True)
        )
        charges.append(ProjectedCharge(charge_usage, parts))
    return ProjectedUsage(usage, ratio, tuple(charges))


# --- Lago's JSON -------------------------------------------------------------------------


def _filter_dict(projected: ProjectedPart) -> dict[str, Any]:
    part = projected.part
    return {
        "invoice_display_name": part.invoice_display_name,
        # The events no filter matched: Lago sends null, which its schema (an object)
        # and its Python client refuse; bxb sends an empty object.
        "values": {} if part.values is None else {k: list(v) for k, v in part.values.items()},
        "units": units_text(part.units),
        "projected_units": units_text(projected.projected_units),
        "events_count": part.events_count,
        "amount_cents": part.amount_cents,
        "projected_amount_cents": projected.projected_amount_cents,
    }


def _charge_dict(projected: ProjectedCharge, currency: str) -> dict[str, Any]:
    usage = projected.usage
    charge = usage.charge
    return {
        "units": units_text(usage.units),
        "projected_units": units_text(projected.projected_units),
        "events_count": usage.events_count,
        "amount_cents": usage.amount_cents,
        "projected_amount_cents": projected.projected_amount_cents,
        "amount_currency": currency,
        "charge": {
            "lago_id": charge.charge_id,
            "charge_model": charge.charge_model,
            "invoice_display_name": charge.invoice_display_name,
        },
        "billable_metric": {
            "lago_id": charge.billable_metric_id,
            "name": charge.billable_metric_name,
            "code": charge.billable_metric_code,
            "aggregation_type": str(charge.aggregation_type),
        },
        "filters": [_filter_dict(p) for p in projected.parts] if usage.filters else [],
        "grouped_usage": [],
    }
