"""A customer's payment methods (Lago's `/customers/{id}/payment_methods`), kept as rows
synced from Stripe through the SDK.

- `sync_payment_methods` reads the card PaymentMethods attached to the Stripe customer
  (those the portal's SetupIntent/Checkout flows, or the shop, attached) and the
  customer's `invoice_settings.default_payment_method`; new ones get a row, the default
  flag follows Stripe, and rows whose method left Stripe are soft-deleted.
- `set_default` sets Stripe's default (what collection charges first, see
  StripeProvider._payment_method) and the rows' flag; `detach` detaches the method at
  Stripe and soft-deletes the row.

A customer not on Stripe, or bxb without STRIPE_API_KEY, has only the rows it has.
Stripe failures raise ProviderUnavailableError (transient) or ProviderRefusedError.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import stripe
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.core.settings import Settings
from bxb.models import Customer, PaymentMethod
from bxb.payments.provider import ProviderRefusedError, ProviderUnavailableError
from bxb.payments.stripe_provider import _client, _transient, object_id


@contextmanager
def _stripe_errors() -> Iterator[None]:
    try:
        yield
    except stripe.StripeError as error:
        if _transient(error):
            raise ProviderUnavailableError(f"stripe: {error}") from error
        raise ProviderRefusedError(error.user_message or str(error)) from error


def _stripe(settings: Settings, customer: Customer) -> Any | None:
    """The SDK's v1 services when this customer's methods live at Stripe."""
    if (
        settings.stripe_api_key is None
        or customer.payment_provider != "stripe"
        or not customer.provider_customer_id
    ):
        return None
    return _client(settings.stripe_api_key, settings.stripe_api_base).v1


async def live_methods(session: AsyncSession, customer: Customer) -> list[PaymentMethod]:
    rows = await session.scalars(
        select(PaymentMethod)
        .where(PaymentMethod.customer_id == customer.id, PaymentMethod.deleted_at.is_(None))
        .order_by(PaymentMethod.created_at, PaymentMethod.id)
    )
    return list(rows)


async def sync_payment_methods(
    session: AsyncSession, settings: Settings, customer: Customer, at: datetime
) -> None:
    v1 = _stripe(settings, customer)
    if v1 is None:
        return
    provider_customer = customer.provider_customer_id
    with _stripe_errors():
        found = await v1.customers.retrieve_async(provider_customer)
        settings_ = found.invoice_settings
        default = object_id(settings_.default_payment_method) if settings_ else None
        page = await v1.payment_methods.list_async(
            {"customer": provider_customer, "type": "card", "limit": 100}
        )
        at_stripe = [str(method.id) async for method in page.auto_paging_iter()]
    rows = {
        row.provider_method_id: row
        for row in await session.scalars(
            select(PaymentMethod).where(PaymentMethod.customer_id == customer.id)
        )
    }
    for method_id in at_stripe:
        row = rows.get(method_id)
        if row is None:
            row = PaymentMethod(
                organization_id=customer.organization_id,
                customer_id=customer.id,
                provider="stripe",
                provider_method_id=method_id,
            )
            session.add(row)
            rows[method_id] = row
        row.deleted_at = None
        row.is_default = method_id == default
    for method_id, row in rows.items():
        if method_id not in at_stripe and row.deleted_at is None:
            row.deleted_at = at
            row.is_default = False
    await session.flush()


async def set_default(
    session: AsyncSession, settings: Settings, customer: Customer, method: PaymentMethod
) -> None:
    v1 = _stripe(settings, customer)
    if v1 is not None:
        with _stripe_errors():
            await v1.customers.update_async(
                customer.provider_customer_id,
                {"invoice_settings": {"default_payment_method": method.provider_method_id}},
            )
    for row in await live_methods(session, customer):
        row.is_default = row.id == method.id
    await session.flush()


async def detach(
    session: AsyncSession,
    settings: Settings,
    customer: Customer,
    method: PaymentMethod,
    at: datetime,
) -> None:
    v1 = _stripe(settings, customer)
    if v1 is not None:
        with _stripe_errors():
            await v1.payment_methods.detach_async(method.provider_method_id)
    method.deleted_at = at
    method.is_default = False
    await session.flush()
