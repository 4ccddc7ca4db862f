"""GET/PUT /api/v1/organizations: the caller's own organization (Lago's OrganizationObject).

Lago has only PUT; GET is bxb's identity check: it answers with the organization the
API key belongs to, so a client can verify its key and URL.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from bxb.api.deps import OrgDep, SessionDep
from bxb.api.schemas.webhooks import WebhookUrl
from bxb.inputs.bounds import Count
from bxb.inputs.validation import (
    Country,
    Currency,
    Email,
    Timezone,
)
from bxb.lago_objects.organizations import organization_object
from bxb.ledger.billing_entities import sync_default_entity

router = APIRouter(prefix="/api/v1/organizations", tags=["organizations"])

# Lago's email_settings: "invoice.finalized", "credit_note.created", ...
EmailSetting = Annotated[str, StringConstraints(max_length=64)]


def _check_retry_days(days: list[int]) -> list[int]:
    if any(day < 1 or day > 365 for day in days) or days != sorted(set(days)):
        raise ValueError("invalid_dunning_retry_days")
    return days


class BillingConfigurationIn(BaseModel):
    invoice_footer: str | None = Field(default=None, max_length=600)
    invoice_grace_period: int | None = Field(default=None, ge=0, le=365)
    document_locale: str | None = Field(default=None, max_length=16)
    # bxb: the dunning campaign (days after the first failed payment), then its outcome.
    dunning_retry_days: (
        Annotated[list[Count], Field(max_length=12), AfterValidator(_check_retry_days)] | None
    ) = None
    dunning_outcome: Literal["keep_past_due", "terminate"] | None = None
    # bxb: true (default) re-rates a period already invoiced when a late event arrives
    # (credit note or corrective invoice); false stores such events and ignores them.
    late_events_rerating: bool | None = None


class OrganizationUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    default_currency: Currency | None = None
    timezone: Timezone | None = None
    country: Country | None = None
    email: Email | None = None
    legal_name: str | None = Field(default=None, max_length=255)
    legal_number: str | None = Field(default=None, max_length=255)
    tax_identification_number: str | None = Field(default=None, max_length=255)
    address_line1: str | None = Field(default=None, max_length=255)
    address_line2: str | None = Field(default=None, max_length=255)
    city: str | None = Field(default=None, max_length=255)
    state: str | None = Field(default=None, max_length=255)
    zipcode: str | None = Field(default=None, max_length=64)
    net_payment_term: int | None = Field(default=None, ge=0, le=365)
    document_numbering: Literal["per_customer", "per_organization"] | None = None
    document_number_prefix: str | None = Field(default=None, min_length=1, max_length=10)
    finalize_zero_amount_invoice: bool | None = None
    email_settings: Annotated[list[EmailSetting], Field(max_length=16)] | None = None
    billing_configuration: BillingConfigurationIn | None = None
    # bxb: API logs keep request and response bodies (secrets redacted) when true.
    api_log_bodies: bool | None = None
    # bxb: the customer portal's branding: a logo (an http(s) address) and a colour.
    logo_url: WebhookUrl | None = None
    brand_color: (
        Annotated[str, StringConstraints(max_length=7, pattern=r"^#[0-9a-fA-F]{6}$")] | None
    ) = None


class OrganizationUpdateBody(BaseModel):
    organization: OrganizationUpdate


@router.get("")
async def get_organization(org: OrgDep) -> dict[str, Any]:
    return {"organization": organization_object(org)}


@router.put("")
async def update_organization(
    body: OrganizationUpdateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    changes = body.organization.model_dump(exclude_unset=True, exclude={"billing_configuration"})
    billing = body.organization.billing_configuration
    if billing is not None:
        changes |= {
            key: value
            for key, value in billing.model_dump(exclude_unset=True).items()
            if value is not None
        }
    org = await session.merge(org)
    for key, value in changes.items():
        if value is not None or key in _NULLABLE:
            setattr(org, key, value)
    await sync_default_entity(session, org, changes)
    await session.commit()
    return {"organization": organization_object(org)}


_NULLABLE = {
    "country",
    "email",
    "legal_name",
    "legal_number",
    "tax_identification_number",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zipcode",
    "logo_url",
    "brand_color",
}
