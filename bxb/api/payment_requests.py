"""/api/v1/payment_requests and /api/v1/payment_receipts (Lago-compatible).

A payment request gathers a customer's unpaid invoices (Lago: its overdue ones) into one
payment: created, then collected at once through Stripe when the customer pays there
(bxb.payments.payment_requests); its invoices become paid when the charge succeeds.
Receipts are issued for every succeeded payment (bxb.payments.receipts).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.sql import Select

from bxb.api.customers import find_customer
from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.api.pagination import PageDep, PageParams, paginate
from bxb.api.payments import deliver, tell_collector
from bxb.api.schemas.payments import PaymentRequestBody
from bxb.lago_objects.payment_requests import payment_receipt_object, payment_request_objects
from bxb.models import Customer, Payment, PaymentReceipt, PaymentRequest
from bxb.models.base import utcnow
from bxb.payments.payment_requests import (
    PaymentRequestError,
    collect_payment_request,
    create_payment_request,
)
from bxb.payments.provider import ProviderUnavailableError

router = APIRouter(prefix="/api/v1", tags=["payment_requests"])

RequestStatus = Literal["pending", "succeeded", "failed"]


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@router.post("/payment_requests")
async def create(
    body: PaymentRequestBody,
    org: OrgDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> dict[str, Any]:
    data = body.payment_request
    if not data.lago_invoice_ids:
        raise validation_error({"lago_invoice_ids": ["value_is_mandatory"]})
    customer = await find_customer(session, org.id, data.external_customer_id)
    email = data.email or (customer.email or "").split(",")[0].strip()
    if not email:
        raise validation_error({"email": ["value_is_mandatory"]})
    invoice_ids = [i for i in (_uuid(value) for value in data.lago_invoice_ids) if i is not None]
    try:
        request, webhooks = await create_payment_request(session, customer, email, invoice_ids)
    except PaymentRequestError as error:
        await session.rollback()
        if error.status == 404:
            raise not_found(error.code.removesuffix("_not_found")) from None
        raise ApiError(error.status, code=error.code) from None
    await session.commit()
    # Collected now, in its own transaction: the request stays (pending) whatever Stripe says.
    try:
        collection = await collect_payment_request(session, settings, request.id, utcnow())
    except ProviderUnavailableError:
        await session.rollback()  # still pending: a later collection may charge it
        collection = None
    else:
        await session.commit()
    if collection is not None:
        webhooks += collection.webhook_ids
        for invoice_id in collection.paid_invoice_ids:
            await tell_collector(temporal, session, invoice_id, "succeeded", [])
    if webhooks:
        await deliver(temporal, webhooks)
    await session.refresh(request)
    [data_out] = await payment_request_objects(session, [request])
    return {"payment_request": data_out}


def _request_query(
    org_id: uuid.UUID, payment_status: RequestStatus | None
) -> Select[PaymentRequest]:
    query = select(PaymentRequest).where(PaymentRequest.organization_id == org_id)
    if payment_status is not None:
        query = query.where(PaymentRequest.payment_status == payment_status)
    return query


async def _request_page(
    session: SessionDep, query: Select[PaymentRequest], page: PageParams
) -> dict[str, Any]:
    query = query.order_by(PaymentRequest.created_at.desc(), PaymentRequest.id)
    rows, meta = await paginate(session, query, page)
    return {
        "payment_requests": await payment_request_objects(session, rows),
        "meta": meta.model_dump(),
    }


@router.get("/payment_requests")
async def list_payment_requests(
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    external_customer_id: str | None = None,
    payment_status: RequestStatus | None = None,
    currency: Annotated[str | None, Query(max_length=3)] = None,
) -> dict[str, Any]:
    query = _request_query(org.id, payment_status)
    if external_customer_id is not None:
        query = query.join(Customer, Customer.id == PaymentRequest.customer_id).where(
            Customer.external_id == external_customer_id, Customer.deleted_at.is_(None)
        )
    if currency is not None:
        query = query.where(PaymentRequest.currency == currency.upper())
    return await _request_page(session, query, page)


@router.get("/customers/{external_customer_id}/payment_requests")
async def list_customer_payment_requests(
    external_customer_id: str,
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    payment_status: RequestStatus | None = None,
) -> dict[str, Any]:
    customer = await find_customer(session, org.id, external_customer_id)
    query = _request_query(org.id, payment_status)
    return await _request_page(
        session, query.where(PaymentRequest.customer_id == customer.id), page
    )


@router.get("/payment_requests/{lago_id}")
async def get_payment_request(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    request_id = _uuid(lago_id)
    request = await session.get(PaymentRequest, request_id) if request_id else None
    if request is None or request.organization_id != org.id:
        raise not_found("payment_request")
    [data] = await payment_request_objects(session, [request])
    return {"payment_request": data}


@router.get("/payment_receipts")
async def list_payment_receipts(
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    invoice_id: str | None = None,
) -> dict[str, Any]:
    query = select(PaymentReceipt).where(PaymentReceipt.organization_id == org.id)
    if invoice_id is not None:
        query = query.join(Payment, Payment.id == PaymentReceipt.payment_id).where(
            Payment.invoice_id == _uuid(invoice_id)
        )
    query = query.order_by(PaymentReceipt.created_at.desc(), PaymentReceipt.id)
    rows, meta = await paginate(session, query, page)
    return {
        "payment_receipts": [await payment_receipt_object(session, row) for row in rows],
        "meta": meta.model_dump(),
    }


@router.get("/payment_receipts/{lago_id}")
async def get_payment_receipt(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    receipt_id = _uuid(lago_id)
    receipt = await session.get(PaymentReceipt, receipt_id) if receipt_id else None
    if receipt is None or receipt.organization_id != org.id:
        raise not_found("payment_receipt")
    return {"payment_receipt": await payment_receipt_object(session, receipt)}
