"""What a customer sees through the portal: every portal response is built here.

Allowlists, not Lago's objects with fields removed: a field added to Lago's objects later
does not reach customers by accident. Left out on purpose: internal ids of the organization
(lago ids of the customer, the organization, subscriptions' plans' internals), provider
keys and provider customer ids, integration data, webhook secrets, metadata the
organization keeps (only entries shown on invoices are shown), test clocks, and anything of
another customer.
"""

from __future__ import annotations

from typing import Any

from bxb.lago_objects.formats import iso
from bxb.models import Customer, Organization

# Billing details a customer may change from the portal (PUT /api/v1/portal/profile).
EDITABLE_PROFILE_FIELDS = (
    "name",
    "firstname",
    "lastname",
    "email",
    "phone",
    "legal_name",
    "legal_number",
    "tax_identification_number",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zipcode",
    "country",
)


def organization_object(organization: Organization) -> dict[str, Any]:
    """The seller as its invoices show it."""
    return {
        "name": organization.name,
        "legal_name": organization.legal_name,
        "email": organization.email,
        "address_line1": organization.address_line1,
        "address_line2": organization.address_line2,
        "city": organization.city,
        "state": organization.state,
        "zipcode": organization.zipcode,
        "country": organization.country,
    }


def profile_object(customer: Customer, organization: Organization) -> dict[str, Any]:
    shown = {field: getattr(customer, field) for field in EDITABLE_PROFILE_FIELDS}
    return {
        "external_id": customer.external_id,
        "customer_type": customer.customer_type,
        **shown,
        "currency": customer.currency,
        "timezone": customer.timezone,
        "applicable_timezone": customer.timezone or organization.timezone,
        "document_locale": customer.document_locale or organization.document_locale,
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
        "organization": organization_object(organization),
    }
