"""A customer's invoices, payments and subscriptions (Lago's
`/customers/{external_customer_id}/invoices|payments|subscriptions`): the top-level lists
with their filters, scoped to the customer; an unknown customer (or another
organization's) is a 404 customer_not_found. Credit notes: bxb.api.credit_notes;
payment requests: bxb.api.payment_requests."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from bxb.api.customers import find_customer
from bxb.api.deps import OrgDep, SessionDep
from bxb.api.invoices import MAX_CENTS, list_invoices
from bxb.api.pagination import PageDep
from bxb.api.payments import list_payments
from bxb.api.subscriptions import list_subscriptions
from bxb.inputs.bounds import Day
from bxb.listings.invoices import InvoiceStatus, InvoiceType, PaymentStatus

router = APIRouter(prefix="/api/v1", tags=["customers"])


@router.get("/customers/{external_customer_id}/invoices")
async def list_customer_invoices(
    external_customer_id: str,
    request: Request,
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    status: InvoiceStatus | None = None,
    payment_status: PaymentStatus | None = None,
    payment_overdue: bool | None = None,
    invoice_type: InvoiceType | None = None,
    issuing_date_from: Day | None = None,
    issuing_date_to: Day | None = None,
    search_term: str | None = None,
    amount_from: Annotated[int, Query(ge=0, le=MAX_CENTS)] | None = None,
    amount_to: Annotated[int, Query(ge=0, le=MAX_CENTS)] | None = None,
) -> dict[str, Any]:
    customer = await find_customer(session, org.id, external_customer_id)
    return await list_invoices(
        request,
        org,
        session,
        page,
        external_customer_id=customer.external_id,
        status=status,
        statuses=None,
        payment_status=payment_status,
        payment_statuses=None,
        payment_overdue=payment_overdue,
        invoice_type=invoice_type,
        issuing_date_from=issuing_date_from,
        issuing_date_to=issuing_date_to,
        currency=None,
        search_term=search_term,
        amount_from=amount_from,
        amount_to=amount_to,
    )


@router.get("/customers/{external_customer_id}/payments")
async def list_customer_payments(
    external_customer_id: str,
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    invoice_id: str | None = None,
) -> dict[str, Any]:
    customer = await find_customer(session, org.id, external_customer_id)
    return await list_payments(
        org, session, page, external_customer_id=customer.external_id, invoice_id=invoice_id
    )


@router.get("/customers/{external_customer_id}/subscriptions")
async def list_customer_subscriptions(
    external_customer_id: str,
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    plan_code: str | None = None,
    status: Annotated[list[str] | None, Query(alias="status[]")] = None,
) -> dict[str, Any]:
    customer = await find_customer(session, org.id, external_customer_id)
    return await list_subscriptions(
        org,
        session,
        page,
        external_customer_id=customer.external_id,
        plan_code=plan_code,
        status=status,
    )
