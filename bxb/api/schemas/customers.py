"""Customer requests.

Unknown fields (shipping_address, integration_customers, ...) are ignored, so requests made
for a newer Lago still work. `test_clock_id` is a bxb extension.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from babel import Locale, UnknownLocaleError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from bxb.api.schemas.metadata import merge_metadata_entries
from bxb.api.schemas.taxes import Code
from bxb.inputs.validation import (
    Country,
    Currency,
    Timezone,
    check_email,
)

# Lago's limits on customer metadata.
MAX_METADATA = 5
MAX_METADATA_KEY = 20
MAX_METADATA_VALUE = 100
MAX_DAYS = 365


def check_emails(value: str) -> str:
    """Lago accepts several addresses separated by commas; each must look like one."""
    for address in value.split(","):
        check_email(address.strip())
    return value


def check_locale(value: str) -> str:
    try:
        Locale.parse(value, sep="-" if "-" in value else "_")
    except (ValueError, UnknownLocaleError):
        raise ValueError("value_is_invalid") from None
    return value


Text = Annotated[str, Field(max_length=255)]
ShortText = Annotated[str, Field(max_length=64)]
Emails = Annotated[str, Field(max_length=255), AfterValidator(check_emails)]
DocumentLocale = Annotated[str, Field(max_length=16), AfterValidator(check_locale)]
Days = Annotated[int, Field(ge=0, le=MAX_DAYS)]
NullIsFalse = Annotated[bool, BeforeValidator(lambda value: False if value is None else value)]


class MetadataIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID | None = None
    key: Annotated[str, StringConstraints(min_length=1, max_length=MAX_METADATA_KEY)]
    value: Annotated[str, StringConstraints(min_length=1, max_length=MAX_METADATA_VALUE)]
    display_in_invoice: bool = False


def check_metadata(items: list[MetadataIn]) -> list[MetadataIn]:
    if len(items) > MAX_METADATA:
        raise ValueError("invalid_count")
    if len({item.key for item in items}) != len(items):
        raise ValueError("value_already_exist")
    return items


class BillingConfigurationIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    invoice_grace_period: Days | None = None
    # Only Stripe is integrated so far; other Lago providers are refused rather than ignored.
    payment_provider: Literal["stripe"] | None = None
    payment_provider_code: Text | None = None
    provider_customer_id: Text | None = None
    # Create the customer at the provider while provider_customer_id is empty; null is false.
    # (Lago's `sync`, to create it during the request, is ignored: bxb always creates it in
    # the background.)
    sync_with_provider: NullIsFalse = False
    document_locale: DocumentLocale | None = None


class CustomerIn(BaseModel):
    """POST /customers creates or updates: fields left out keep their value, null clears."""

    model_config = ConfigDict(extra="ignore")

    external_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    name: Text | None = None
    firstname: Text | None = None
    lastname: Text | None = None
    customer_type: Literal["company", "individual"] | None = None
    email: Emails | None = None
    phone: ShortText | None = None
    url: Text | None = None
    legal_name: Text | None = None
    legal_number: Text | None = None
    tax_identification_number: Text | None = None
    address_line1: Text | None = None
    address_line2: Text | None = None
    city: Text | None = None
    state: Text | None = None
    zipcode: ShortText | None = None
    country: Country | None = None
    currency: Currency | None = None
    timezone: Timezone | None = None
    net_payment_term: Days | None = None
    metadata: Annotated[list[MetadataIn], AfterValidator(check_metadata)] | None = None
    billing_configuration: BillingConfigurationIn | None = None
    tax_codes: list[Code] | None = None
    # The billing entity that bills the customer; left out: the default one (on create).
    billing_entity_code: Code | None = None
    # bxb extension: the test clock whose time this customer's subscriptions follow.
    test_clock_id: uuid.UUID | None = None
    # Dunning (Lago's customer fields, by code here): the campaign chasing this customer
    # instead of the organization's default (null: the default); or none at all.
    applied_dunning_campaign_code: Code | None = None
    exclude_from_dunning_campaign: NullIsFalse | None = None


class CustomerBody(BaseModel):
    customer: CustomerIn


def merge_metadata(
    existing: Sequence[dict[str, Any]], incoming: Sequence[MetadataIn], now: datetime
) -> list[dict[str, Any]]:
    return merge_metadata_entries(
        existing, incoming, now, lambda entry: {"display_in_invoice": entry.display_in_invoice}
    )
