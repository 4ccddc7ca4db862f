"""/api/v1/portal/payment_method: the portal customer's card on Stripe (shown, never its
provider ids), and two ways to register one through Stripe's SDK: a SetupIntent (its
client secret is for Stripe.js on the customer's page) or a hosted Checkout page in
setup mode. Errors as `/customers/{id}/checkout_url` (422, 422 third_party_error, 503)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bxb.api.checkout_links import PROVIDER_ERRORS, provider_error
from bxb.api.deps import SettingsDep
from bxb.payments.checkout import (
    customer_checkout_url,
    customer_payment_method,
    customer_setup_intent,
)
from bxb.portal.auth import PortalCustomerDep
from bxb.portal.shapes import portal_payment_method_object

router = APIRouter(prefix="/api/v1/portal", tags=["portal"])


@router.get("/payment_method")
async def get_payment_method(portal: PortalCustomerDep, settings: SettingsDep) -> dict[str, Any]:
    try:
        method = await customer_payment_method(settings, portal.customer)
    except PROVIDER_ERRORS as error:
        raise provider_error(error) from error
    return {"payment_method": portal_payment_method_object(method)}


@router.post("/payment_method/setup_intent")
async def create_setup_intent(portal: PortalCustomerDep, settings: SettingsDep) -> dict[str, Any]:
    try:
        intent = await customer_setup_intent(settings, portal.customer)
    except PROVIDER_ERRORS as error:
        raise provider_error(error) from error
    return {
        "setup_intent": {
            "payment_provider": "stripe",
            "client_secret": intent.client_secret,
            "status": intent.status,
        }
    }


@router.post("/payment_method/checkout_url")
async def create_checkout_url(portal: PortalCustomerDep, settings: SettingsDep) -> dict[str, Any]:
    try:
        url = await customer_checkout_url(settings, portal.customer)
    except PROVIDER_ERRORS as error:
        raise provider_error(error) from error
    return {"payment_method": {"payment_provider": "stripe", "checkout_url": url}}
