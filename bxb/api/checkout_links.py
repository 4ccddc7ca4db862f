"""Stripe's hosted pages (Lago): `POST /invoices/{lago_id}/payment_url` and
`POST /customers/{external_customer_id}/checkout_url`.

Lago's refusals are 422 (`no_linked_payment_provider`, `missing_payment_provider_customer`,
`invalid_invoice_status_or_payment_status`...); Stripe refusing the request is Lago's
422 `third_party_error`; Stripe out of reach is a 503 (`payment_provider_unavailable`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bxb.api.customers import find_customer
from bxb.api.deps import OrgDep, SessionDep, SettingsDep
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.api.invoices import find_invoice
from bxb.models import Customer
from bxb.payments.checkout import (
    CheckoutNotPossibleError,
    customer_checkout_url,
    invoice_payment_url,
)
from bxb.payments.provider import ProviderRefusedError, ProviderUnavailableError

router = APIRouter(prefix="/api/v1", tags=["payments"])


def provider_error(error: Exception) -> ApiError:
    """The answer for a failure of bxb.payments.checkout (shared with the portal)."""
    if isinstance(error, CheckoutNotPossibleError):
        return validation_error({error.field: [error.code]})
    if isinstance(error, ProviderRefusedError):
        return ApiError(
            422,
            code="third_party_error",
            error="Unprocessable Entity",
            error_details={"third_party": "Stripe", "thirdparty_error": str(error)},
        )
    if isinstance(error, ProviderUnavailableError):
        return ApiError(503, code="payment_provider_unavailable")
    raise error


PROVIDER_ERRORS = (CheckoutNotPossibleError, ProviderRefusedError, ProviderUnavailableError)


@router.post("/invoices/{lago_id}/payment_url")
async def payment_url(
    lago_id: str, org: OrgDep, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    invoice = await find_invoice(session, org.id, lago_id)
    customer = await session.get(Customer, invoice.customer_id)
    if customer is None or customer.organization_id != org.id:
        raise not_found("invoice")
    try:
        url = await invoice_payment_url(settings, customer, invoice)
    except PROVIDER_ERRORS as error:
        raise provider_error(error) from error
    return {
        "invoice_payment_details": {
            "lago_customer_id": str(customer.id),
            "lago_invoice_id": str(invoice.id),
            "external_customer_id": customer.external_id,
            "payment_provider": customer.payment_provider,
            "payment_url": url,
        }
    }


@router.post("/customers/{external_customer_id}/checkout_url")
async def checkout_url(
    external_customer_id: str, org: OrgDep, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    customer = await find_customer(session, org.id, external_customer_id)
    try:
        url = await customer_checkout_url(settings, customer)
    except PROVIDER_ERRORS as error:
        raise provider_error(error) from error
    return {
        "customer": {
            "lago_customer_id": str(customer.id),
            "external_customer_id": customer.external_id,
            "payment_provider": customer.payment_provider,
            "payment_provider_code": customer.payment_provider_code,
            "checkout_url": url,
        }
    }
