"""Lago's AddOnObject."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bxb.lago_objects.formats import iso
from bxb.lago_objects.taxes import tax_object
from bxb.models import AddOn, Tax


def add_on_object(add_on: AddOn, taxes: Sequence[Tax]) -> dict[str, Any]:
    return {
        "lago_id": str(add_on.id),
        "name": add_on.name,
        "invoice_display_name": add_on.invoice_display_name,
        "code": add_on.code,
        "amount_cents": add_on.amount_cents,
        "amount_currency": add_on.amount_currency,
        "description": add_on.description,
        "created_at": iso(add_on.created_at),
        "taxes": [tax_object(tax) for tax in taxes],
    }
