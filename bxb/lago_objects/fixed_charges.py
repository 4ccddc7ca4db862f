"""Lago's FixedChargeObject."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bxb.lago_objects.formats import iso
from bxb.lago_objects.taxes import tax_object
from bxb.models import FixedCharge, Tax


def _units(units: Decimal) -> float:
    return float(units)


def fixed_charge_object(
    fixed: FixedCharge, taxes: Sequence[Tax], *, units: Decimal | None = None
) -> dict[str, Any]:
    """`units` overrides the plan's units (a subscription-scoped read)."""
    add_on = fixed.add_on
    return {
        "lago_id": str(fixed.id),
        "lago_add_on_id": str(fixed.add_on_id),
        "code": fixed.code,
        # Lago's invoices fall back to the add-on's name; so does the object here, as the
        # client reads the field as a string.
        "invoice_display_name": fixed.invoice_display_name
        or add_on.invoice_display_name
        or add_on.name,
        "add_on_code": add_on.code,
        "created_at": iso(fixed.created_at),
        "charge_model": fixed.charge_model,
        "pay_in_advance": fixed.pay_in_advance,
        "prorated": fixed.prorated,
        "properties": fixed.properties,
        "units": _units(fixed.units if units is None else units),
        "lago_parent_id": None if fixed.parent_id is None else str(fixed.parent_id),
        "taxes": [tax_object(tax) for tax in sorted(taxes, key=lambda t: t.code)],
    }
