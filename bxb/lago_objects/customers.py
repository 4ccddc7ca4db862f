"""Lago's CustomerObject."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bxb.lago_objects.billing_entities import customer_billing_entity_code
from bxb.lago_objects.formats import iso
from bxb.lago_objects.taxes import tax_object
from bxb.models import Customer, Organization, Tax


def customer_object(
    customer: Customer, organization: Organization, taxes: Sequence[Tax]
) -> dict[str, Any]:
    return {
        "lago_id": str(customer.id),
        "sequential_id": customer.sequential_id,
        "slug": f"{organization.document_number_prefix}-{customer.sequential_id:03d}",
        "external_id": customer.external_id,
        "billing_entity_code": customer_billing_entity_code(customer),
        "account_type": "customer",
        "name": customer.name,
        "firstname": customer.firstname,
        "lastname": customer.lastname,
        "customer_type": customer.customer_type,
        "email": customer.email,
        "phone": customer.phone,
        "url": customer.url,
        "logo_url": None,
        "legal_name": customer.legal_name,
        "legal_number": customer.legal_number,
        "tax_identification_number": customer.tax_identification_number,
        "address_line1": customer.address_line1,
        "address_line2": customer.address_line2,
        "city": customer.city,
        "state": customer.state,
        "zipcode": customer.zipcode,
        "country": customer.country,
        "currency": customer.currency,
        "timezone": customer.timezone,
        "applicable_timezone": customer.timezone or organization.timezone,
        "net_payment_term": customer.net_payment_term,
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
        "billing_configuration": {
            "invoice_grace_period": customer.invoice_grace_period,
            "payment_provider": customer.payment_provider,
            "payment_provider_code": customer.payment_provider_code,
            "provider_customer_id": customer.provider_customer_id,
            "sync_with_provider": customer.sync_with_provider,
            "document_locale": customer.document_locale,
        },
        "metadata": [
            {
                "lago_id": item["lago_id"],
                "key": item["key"],
                "value": item["value"],
                "display_in_invoice": item["display_in_invoice"],
                "created_at": item["created_at"],
            }
            for item in customer.metadata_
        ],
        "taxes": [tax_object(tax) for tax in taxes],
        "integration_customers": [],
        "applicable_invoice_custom_sections": [],
        "test_clock_id": str(customer.test_clock_id) if customer.test_clock_id else None,
        # Dunning campaigns (Lago's customer fields; the campaign by its code).
        "applied_dunning_campaign_code": (
            customer.applied_dunning_campaign.code if customer.applied_dunning_campaign else None
        ),
        "exclude_from_dunning_campaign": customer.exclude_from_dunning_campaign,
        "last_dunning_campaign_attempt": customer.last_dunning_campaign_attempt,
        "last_dunning_campaign_attempt_at": iso(customer.last_dunning_campaign_attempt_at),
    }
