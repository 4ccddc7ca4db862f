"""/api/v1/customers/{external_customer_id}/payment_methods (Lago-compatible): the
customer's Stripe payment methods, synced from Stripe when listed; set one as the default
(Stripe's invoice_settings.default_payment_method, what collection charges) or detach it.
Stripe unreachable: 503; Stripe refusing: 422 third_party_error (as checkout links)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from bxb.api.checkout_links import provider_error
from bxb.api.customers import find_customer
from bxb.api.deps import OrgDep, SessionDep, SettingsDep
from bxb.api.errors import not_found
from bxb.api.pagination import PageDep, paginate
from bxb.lago_objects.payment_requests import payment_method_object
from bxb.models import Customer, PaymentMethod
from bxb.models.base import utcnow
from bxb.payments.payment_methods import detach, set_default, sync_payment_methods
from bxb.payments.provider import ProviderRefusedError, ProviderUnavailableError

router = APIRouter(prefix="/api/v1", tags=["payment_methods"])

STRIPE_ERRORS = (ProviderRefusedError, ProviderUnavailableError)


async def _method(session: SessionDep, customer: Customer, lago_id: str) -> PaymentMethod:
    try:
        method_id = uuid.UUID(lago_id)
    except ValueError:
        raise not_found("payment_method") from None
    method = await session.get(PaymentMethod, method_id, with_for_update=True)
    if method is None or method.customer_id != customer.id or method.deleted_at is not None:
        raise not_found("payment_method")
    return method


@router.get("/customers/{external_customer_id}/payment_methods")
async def list_payment_methods(
    external_customer_id: str,
    org: OrgDep,
    session: SessionDep,
    settings: SettingsDep,
    page: PageDep,
) -> dict[str, Any]:
    customer = await find_customer(session, org.id, external_customer_id)
    try:
        await sync_payment_methods(session, settings, customer, utcnow())
    except STRIPE_ERRORS as error:
        await session.rollback()
        raise provider_error(error) from error
    await session.commit()
    query = (
        select(PaymentMethod)
        .where(PaymentMethod.customer_id == customer.id, PaymentMethod.deleted_at.is_(None))
        .order_by(PaymentMethod.created_at.desc(), PaymentMethod.id)
    )
    rows, meta = await paginate(session, query, page)
    return {
        "payment_methods": [payment_method_object(row, customer) for row in rows],
        "meta": meta.model_dump(),
    }


@router.put("/customers/{external_customer_id}/payment_methods/{lago_id}/set_as_default")
async def set_payment_method_as_default(
    external_customer_id: str,
    lago_id: str,
    org: OrgDep,
    session: SessionDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    customer = await find_customer(session, org.id, external_customer_id)
    method = await _method(session, customer, lago_id)
    try:
        await set_default(session, settings, customer, method)
    except STRIPE_ERRORS as error:
        await session.rollback()
        raise provider_error(error) from error
    response = {"payment_method": payment_method_object(method, customer)}
    await session.commit()
    return response


@router.delete("/customers/{external_customer_id}/payment_methods/{lago_id}")
async def destroy_payment_method(
    external_customer_id: str,
    lago_id: str,
    org: OrgDep,
    session: SessionDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    customer = await find_customer(session, org.id, external_customer_id)
    method = await _method(session, customer, lago_id)
    try:
        await detach(session, settings, customer, method, utcnow())
    except STRIPE_ERRORS as error:
        await session.rollback()
        raise provider_error(error) from error
    response = {"payment_method": payment_method_object(method, customer)}
    await session.commit()
    return response
