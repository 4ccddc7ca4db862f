"""Invoice requests: metadata updates, one-off invoices, previews (Lago's shapes).

Unknown fields are ignored (payment_method, invoice_custom_section, billing_entity_code,
integration fields, ...), so requests made for a newer Lago still work.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from bxb.api.schemas.taxes import Code
from bxb.inputs.bounds import AwareInstant as Instant
from bxb.inputs.bounds import Cents, Count, fits
from bxb.inputs.validation import Country, Currency, Timezone
from bxb.models import Customer, Plan, Subscription

# Lago's limit on an invoice metadata value.
MAX_METADATA_VALUE = 140
MAX_METADATA_KEY = 255
MAX_METADATA = 50
MAX_FEES = 100
# Far more units than any one-off line needs, small enough to stay exact as a Decimal.
MAX_UNITS = Decimal(10) ** 12

Text = Annotated[str, Field(max_length=255)]
ExternalId = Annotated[str, fits(Customer.external_id, min_length=1)]


class InvoiceMetadataIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID | None = None
    key: Annotated[str, StringConstraints(min_length=1, max_length=MAX_METADATA_KEY)]
    value: Annotated[str, StringConstraints(max_length=MAX_METADATA_VALUE)]


def _check_metadata(items: list[InvoiceMetadataIn]) -> list[InvoiceMetadataIn]:
    if len(items) > MAX_METADATA:
        raise ValueError("invalid_count")
    if len({item.key for item in items}) != len(items):
        raise ValueError("value_already_exist")
    return items


class InvoiceUpdate(BaseModel):
    """PUT /invoices/{id}: metadata only here (payment_status belongs to payments)."""

    model_config = ConfigDict(extra="ignore")

    metadata: Annotated[list[InvoiceMetadataIn], AfterValidator(_check_metadata)] | None = None


class InvoiceUpdateBody(BaseModel):
    invoice: InvoiceUpdate


def _check_units(value: Decimal | None) -> Decimal | None:
    if value is not None and (not value.is_finite() or value <= 0 or value > MAX_UNITS):
        raise ValueError("value_is_invalid")
    return value


class OneOffFeeIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    add_on_code: Code
    unit_amount_cents: Annotated[int, Field(ge=0, le=10**15)] | None = None
    # Lago sends a decimal string; Lago's Python client sends a float.
    units: Annotated[Decimal, AfterValidator(_check_units)] | None = None
    description: Annotated[str, Field(max_length=1000)] | None = None  # in amount_details
    invoice_display_name: Text | None = None
    tax_codes: list[Code] | None = None
    from_datetime: Instant | None = None
    to_datetime: Instant | None = None


class OneOffInvoiceIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    external_customer_id: ExternalId
    currency: Currency | None = None
    fees: Annotated[list[OneOffFeeIn], Field(max_length=MAX_FEES)]


class OneOffInvoiceBody(BaseModel):
    invoice: OneOffInvoiceIn


class PreviewCustomerIn(BaseModel):
    """The customer of a preview: an existing one by external_id, else described inline."""

    model_config = ConfigDict(extra="ignore")

    external_id: Annotated[str, fits(Customer.external_id)] | None = None
    name: Text | None = None
    currency: Currency | None = None
    timezone: Timezone | None = None
    address_line1: Text | None = None
    address_line2: Text | None = None
    city: Text | None = None
    state: Text | None = None
    zipcode: Annotated[str, fits(Customer.zipcode)] | None = None
    country: Country | None = None
    tax_identification_number: Text | None = None


class PreviewCouponIn(BaseModel):
    """A coupon to preview with: the organization's coupon of that code, else these terms."""

    model_config = ConfigDict(extra="ignore")

    code: Code
    name: Text | None = None
    coupon_type: Literal["fixed_amount", "percentage"] | None = None
    amount_cents: Annotated[Cents, Field(gt=0)] | None = None
    amount_currency: Currency | None = None
    percentage_rate: Annotated[Decimal, Field(ge=0, le=100)] | None = None
    frequency_duration: Annotated[Count, Field(ge=1)] | None = None


class PreviewSubscriptionsIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    external_ids: Annotated[
        list[Annotated[str, fits(Subscription.external_id, min_length=1)]], Field(min_length=1)
    ]
    plan_code: Annotated[str, fits(Plan.code)] | None = None
    terminated_at: Instant | None = None


class InvoicePreviewIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    customer: PreviewCustomerIn
    plan_code: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    subscription_at: Instant | None = None
    billing_time: Literal["calendar", "anniversary"] | None = None
    coupons: list[PreviewCouponIn] | None = None
    subscriptions: PreviewSubscriptionsIn | None = None
