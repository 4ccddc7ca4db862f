"""Lago's ChargeFilterFullObject (a filter of a charge, addressed on its own)."""

from __future__ import annotations

from typing import Any

from bxb.lago_objects.formats import iso
from bxb.models import Charge, ChargeFilter


def charge_filter_object(charge: Charge, charge_filter: ChargeFilter) -> dict[str, Any]:
    return {
        "lago_id": str(charge_filter.id),
        "charge_code": charge.code,
        "invoice_display_name": charge_filter.invoice_display_name,
        "properties": charge_filter.properties,
        "values": charge_filter.values,
        "created_at": iso(charge_filter.created_at),
    }
