"""Lago's BillingEntityObject (V1::BillingEntitySerializer), and the code a customer shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm.base import NO_VALUE

from bxb.lago_objects.formats import iso
from bxb.lago_objects.taxes import tax_object
from bxb.models import BillingEntity, Customer, Tax


def billing_entity_object(
    entity: BillingEntity, taxes: Sequence[Tax] | None = None
) -> dict[str, Any]:
    """The entity; with `taxes` (show and update), Lago's extended object."""
    data: dict[str, Any] = {
        "lago_id": str(entity.id),
        "code": entity.code,
        "name": entity.name,
        "default_currency": entity.default_currency,
        "created_at": iso(entity.created_at),
        "updated_at": iso(entity.updated_at),
        "country": entity.country,
        "address_line1": entity.address_line1,
        "address_line2": entity.address_line2,
        "phone": None,
        "city": entity.city,
        "state": entity.state,
        "zipcode": entity.zipcode,
        "einvoicing": False,
        "email": entity.email,
        "legal_name": entity.legal_name,
        "legal_number": entity.legal_number,
        "timezone": entity.timezone,
        "net_payment_term": entity.net_payment_term,
        "email_settings": list(entity.email_settings),
        "document_numbering": entity.document_numbering,
        "document_number_prefix": entity.document_number_prefix,
        "tax_identification_number": entity.tax_identification_number,
        "finalize_zero_amount_invoice": entity.finalize_zero_amount_invoice,
        "invoice_footer": entity.invoice_footer,
        "invoice_grace_period": entity.invoice_grace_period,
        "subscription_invoice_issuing_date_adjustment": (
            entity.subscription_invoice_issuing_date_adjustment
        ),
        "subscription_invoice_issuing_date_anchor": entity.subscription_invoice_issuing_date_anchor,
        "document_locale": entity.document_locale,
        "is_default": entity.is_default,
        "eu_tax_management": entity.eu_tax_management,
        "logo_url": None,
    }
    if taxes is not None:
        data["taxes"] = [tax_object(tax) for tax in taxes]
        data["selected_invoice_custom_sections"] = []
    return data


def customer_billing_entity_code(customer: Customer) -> str | None:
    """The code of the customer's entity when it is loaded (never a lazy load: async)."""
    # The state's dict, as AttributeState.loaded_value reads it: `attrs` would build a
    # state for every attribute of the customer first (a measurable cost per page).
    entity = inspect(customer).dict.get("billing_entity", NO_VALUE)
    if entity is NO_VALUE or entity is None:
        return None
    code: str = entity.code
    return code
