"""/api/v1/fees (Lago-compatible): list and read fees, update a fee's payment status.

Every fee of the organization is listed: those on invoices, and the fees of
non-invoiceable pay-in-advance charges, which are on no invoice and carry their own
payment status. Only those can be updated (`PUT` with a `payment_status`, as Lago: a fee
on an invoice follows its invoice: 405 `invoiced_fee`). Marked `succeeded`, a fee of a
charge with `regroup_paid_fees: invoice` is put on the period's `advance_charges` invoice
when the period closes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, func, or_, select

from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.bounds import Instant
from bxb.lago_objects.fees import fee_objects
from bxb.models import Customer, Fee, Invoice, Subscription
from bxb.models.base import utcnow

router = APIRouter(prefix="/api/v1", tags=["fees"])

FEE_TYPES = ("charge", "add_on", "subscription", "credit", "commitment")
PAYMENT_STATUSES = ("pending", "succeeded", "failed", "refunded")


class FeeUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    payment_status: str | None = Field(default=None, max_length=16)  # fees.payment_status


class FeeUpdateBody(BaseModel):
    fee: FeeUpdate


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.utcoffset() is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get("/fees")
async def list_fees(
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    fee_type: Annotated[str | None, Query()] = None,
    payment_status: Annotated[str | None, Query()] = None,
    external_subscription_id: Annotated[str | None, Query()] = None,
    external_customer_id: Annotated[str | None, Query()] = None,
    billable_metric_code: Annotated[str | None, Query()] = None,
    currency: Annotated[str | None, Query()] = None,
    event_transaction_id: Annotated[str | None, Query()] = None,
    created_at_from: Annotated[Instant | None, Query()] = None,
    created_at_to: Annotated[Instant | None, Query()] = None,
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if fee_type is not None and fee_type not in FEE_TYPES:
        errors["fee_type"] = ["value_is_invalid"]
    if payment_status is not None and payment_status not in PAYMENT_STATUSES:
        errors["payment_status"] = ["value_is_invalid"]
    if errors:
        raise validation_error(errors)
    query: Select[Fee] = (
        select(Fee)
        .outerjoin(Invoice, Invoice.id == Fee.invoice_id)
        .outerjoin(Subscription, Subscription.id == Fee.subscription_id)
        .where(Fee.organization_id == org.id)
    )
    if fee_type is not None:
        query = query.where(Fee.fee_type == fee_type)
    if payment_status is not None:
        query = query.where(
            func.coalesce(Fee.payment_status, Invoice.payment_status) == payment_status
        )
    if external_subscription_id is not None:
        query = query.where(Subscription.external_id == external_subscription_id)
    if external_customer_id is not None:
        customers = select(Customer.id).where(
            Customer.organization_id == org.id, Customer.external_id == external_customer_id
        )
        query = query.where(
            or_(Invoice.customer_id.in_(customers), Subscription.customer_id.in_(customers))
        )
    if billable_metric_code is not None:
        query = query.where(Fee.fee_type == "charge", Fee.item_code == billable_metric_code)
    if currency is not None:
        query = query.where(Fee.amount_currency == currency.upper())
    if event_transaction_id is not None:
        query = query.where(Fee.pay_in_advance_event_transaction_id == event_transaction_id)
    if created_at_from is not None:
        query = query.where(Fee.created_at >= _utc(created_at_from))
    if created_at_to is not None:
        query = query.where(Fee.created_at <= _utc(created_at_to))
    rows, meta = await paginate(session, query.order_by(Fee.created_at.desc(), Fee.id), page)
    return {"fees": await fee_objects(session, rows), "meta": meta.model_dump()}


async def _fee(session: SessionDep, org: OrgDep, lago_id: str) -> Fee:
    fee_id = _uuid(lago_id)
    fee = await session.get(Fee, fee_id) if fee_id else None
    if fee is None or fee.organization_id != org.id:
        raise not_found("fee")
    return fee


@router.get("/fees/{lago_id}")
async def get_fee(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    fee = await _fee(session, org, lago_id)
    (data,) = await fee_objects(session, [fee])
    return {"fee": data}


@router.put("/fees/{lago_id}")
async def update_fee(
    lago_id: str, body: FeeUpdateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    fee = await _fee(session, org, lago_id)
    status = body.fee.payment_status
    if status is not None:
        if fee.invoice_id is not None:  # a fee on an invoice follows its invoice
            raise ApiError(405, code="invoiced_fee")
        if status not in PAYMENT_STATUSES:
            raise validation_error({"payment_status": ["value_is_invalid"]})
        now = utcnow()
        fee.payment_status = status
        fee.succeeded_at = now if status == "succeeded" else None
        fee.failed_at = now if status == "failed" else None
        fee.refunded_at = now if status == "refunded" else None
        await session.flush()
    (data,) = await fee_objects(session, [fee])
    await session.commit()
    return {"fee": data}
