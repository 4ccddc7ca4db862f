"""Billing entity requests (Lago's BillingEntityCreateInput / BillingEntityUpdateInput).

Fields Lago accepts that bxb does not keep (`einvoicing`, `phone`, `logo`,
`invoice_custom_section_codes`) are ignored, as are unknown ones. The code is chosen at
creation and never changes (Lago's update does not accept it).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from bxb.api.schemas.customers import MAX_DAYS, DocumentLocale
from bxb.api.schemas.taxes import Code
from bxb.inputs.validation import Country, Currency, Email, Timezone

Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Text = Annotated[str, Field(max_length=255)]
Days = Annotated[int, Field(ge=0, le=MAX_DAYS)]
Prefix = Annotated[str, StringConstraints(min_length=1, max_length=10)]
EMAIL_SETTINGS = frozenset({"invoice.finalized", "credit_note.created", "payment_receipt.created"})


def _check_email_settings(settings: list[str]) -> list[str]:
    if not set(settings) <= EMAIL_SETTINGS:
        raise ValueError("unsupported_value")  # Lago's code
    return settings


class BillingConfigurationIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    invoice_footer: Annotated[str, Field(max_length=600)] | None = None
    document_locale: DocumentLocale | None = None
    invoice_grace_period: Days | None = None
    subscription_invoice_issuing_date_anchor: (
        Literal["current_period_end", "next_period_start"] | None
    ) = None
    subscription_invoice_issuing_date_adjustment: (
        Literal["align_with_finalization_date", "keep_anchor"] | None
    ) = None


class BillingEntityFields(BaseModel):
    """What create and update share; left out keeps the value, null clears what may be empty."""

    model_config = ConfigDict(extra="ignore")

    name: Name | None = None
    default_currency: Currency | None = None
    timezone: Timezone | None = None
    email: Email | None = None
    legal_name: Text | None = None
    legal_number: Text | None = None
    tax_identification_number: Text | None = None
    address_line1: Text | None = None
    address_line2: Text | None = None
    city: Text | None = None
    state: Text | None = None
    zipcode: Annotated[str, Field(max_length=64)] | None = None
    country: Country | None = None
    net_payment_term: Days | None = None
    document_numbering: Literal["per_customer", "per_billing_entity"] | None = None
    document_number_prefix: Prefix | None = None
    finalize_zero_amount_invoice: bool | None = None
    email_settings: (
        Annotated[
            list[Annotated[str, Field(max_length=64)]],
            Field(max_length=3),
            AfterValidator(_check_email_settings),
        ]
        | None
    ) = None
    eu_tax_management: bool | None = None
    billing_configuration: BillingConfigurationIn | None = None


class BillingEntityCreate(BillingEntityFields):
    code: Name
    name: Name  # required on create


class BillingEntityUpdate(BillingEntityFields):
    tax_codes: Annotated[list[Code], Field(max_length=100)] | None = None


class BillingEntityCreateBody(BaseModel):
    billing_entity: BillingEntityCreate


class BillingEntityUpdateBody(BaseModel):
    billing_entity: BillingEntityUpdate
