"""/api/v1/fees (Lago-compatible): list and read fees, update a fee's payment status.

Every fee of the organization is listed: those on invoices, and the fees of
non-invoiceable pay-in-advance charges, which are on no invoice and carry their own
payment status. Only those can be updated (`PUT` with a `payment_status`, as Lago: a fee
on an invoice follows its invoice: 405 `invoiced_fee`) or deleted (`DELETE`, idem; its
event stays billed: bxb.ledger.instant_fees.delete_fee). Marked `succeeded`, a fee of a
charge with `regroup_paid_fees: invoice` is put on the period's `advance_charges` invoice
when the period closes.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from bxb.api.deps import OrgDep, SessionDep, reads_only
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.api.list_filters import parse_filters
from bxb.api.pagination import PageDep, paginate
from bxb.inputs.bounds import Instant
from bxb.lago_objects.fees import fee_objects
from bxb.ledger.instant_fees import delete_fee
from bxb.listings.fees import FeeFilters, FeePaymentStatus, fee_query
from bxb.models import Fee, Invoice
from bxb.models.base import utcnow

router = APIRouter(prefix="/api/v1", tags=["fees"])

PAYMENT_STATUSES = get_args(FeePaymentStatus)


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


@router.get("/fees")
@reads_only
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
    filters = parse_filters(
        FeeFilters,
        {
            "fee_type": fee_type,
            "payment_status": payment_status,
            "external_subscription_id": external_subscription_id,
            "external_customer_id": external_customer_id,
            "billable_metric_code": billable_metric_code,
            "currency": currency,
            "event_transaction_id": event_transaction_id,
            "created_at_from": created_at_from,
            "created_at_to": created_at_to,
        },
    )
    query = fee_query(org.id, filters)
    rows, meta = await paginate(session, query.order_by(Fee.created_at.desc(), Fee.id), page)
    return {"fees": await fee_objects(session, rows), "meta": meta.model_dump()}


async def _fee(session: SessionDep, org: OrgDep, lago_id: str) -> Fee:
    fee_id = _uuid(lago_id)
    fee = await session.get(Fee, fee_id) if fee_id else None
    if fee is None or fee.organization_id != org.id:
        raise not_found("fee")
    if fee.invoice_id is not None:
        invoice = await session.get(Invoice, fee.invoice_id)
        if invoice is not None and invoice.status == "deleted":  # gone with its draft
            raise not_found("fee")
    return fee


@router.get("/fees/{lago_id}")
@reads_only
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


@router.delete("/fees/{lago_id}")
async def destroy_fee(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    """Delete a fee not on an invoice (a non-invoiceable pay-in-advance charge's), as Lago;
    a fee on an invoice follows its invoice: 405 `invoiced_fee`."""
    fee = await _fee(session, org, lago_id)
    if fee.invoice_id is not None:
        raise ApiError(405, code="invoiced_fee")
    (data,) = await fee_objects(session, [fee])
    await delete_fee(session, fee)
    await session.commit()
    return {"fee": data}
