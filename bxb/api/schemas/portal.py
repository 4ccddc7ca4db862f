"""Portal requests. Unknown fields are refused (422 unknown_field): a customer changing
its external id, currency or anything of the organization is told so, not ignored."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from bxb.api.schemas.customers import Emails, ShortText, Text
from bxb.api.schemas.wallets import PaidCredits
from bxb.inputs.validation import Country


class PortalProfileIn(BaseModel):
    """Billing details: fields left out keep their value, null clears."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = None
    firstname: Text | None = None
    lastname: Text | None = None
    email: Emails | None = None
    phone: ShortText | None = None
    legal_name: Text | None = None
    legal_number: Text | None = None
    tax_identification_number: Text | None = None
    address_line1: Text | None = None
    address_line2: Text | None = None
    city: Text | None = None
    state: Text | None = None
    zipcode: ShortText | None = None
    country: Country | None = None


class PortalProfileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: PortalProfileIn


class PortalTopUpIn(BaseModel):
    """Paid credits only: a customer buys credits, it grants or voids none."""

    model_config = ConfigDict(extra="forbid")

    paid_credits: PaidCredits


class PortalTopUpBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    wallet_transaction: PortalTopUpIn


class PortalCouponIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coupon_code: Annotated[str, StringConstraints(min_length=1, max_length=255)]


class PortalCouponBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    applied_coupon: PortalCouponIn
