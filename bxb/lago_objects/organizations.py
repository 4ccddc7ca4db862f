"""Lago's OrganizationObject."""

from __future__ import annotations

from typing import Any

from bxb.lago_objects.formats import iso
from bxb.models import Organization


def organization_object(org: Organization) -> dict[str, Any]:
    return {
        "lago_id": str(org.id),
        "name": org.name,
        "created_at": iso(org.created_at),
        "webhook_url": None,
        "webhook_urls": [],
        "country": org.country,
        "default_currency": org.default_currency,
        "address_line1": org.address_line1,
        "address_line2": org.address_line2,
        "state": org.state,
        "zipcode": org.zipcode,
        "email": org.email,
        "city": org.city,
        "legal_name": org.legal_name,
        "legal_number": org.legal_number,
        "document_numbering": org.document_numbering,
        "document_number_prefix": org.document_number_prefix,
        "net_payment_term": org.net_payment_term,
        "tax_identification_number": org.tax_identification_number,
        "timezone": org.timezone,
        "logo_url": org.logo_url,
        "brand_color": org.brand_color,
        "email_settings": list(org.email_settings),
        "finalize_zero_amount_invoice": org.finalize_zero_amount_invoice,
        "billing_configuration": {
            "invoice_footer": org.invoice_footer,
            "invoice_grace_period": org.invoice_grace_period,
            "document_locale": org.document_locale,
            "dunning_retry_days": list(org.dunning_retry_days),
            "dunning_outcome": org.dunning_outcome,
            "late_events_rerating": org.late_events_rerating,
        },
        "events_store": "postgres",
        "api_log_bodies": org.api_log_bodies,
    }
