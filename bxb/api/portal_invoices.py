"""/api/v1/portal/invoices: the portal customer's invoices (list, show, PDF, pay now).

Drafts are not shown (they are the organization's work in progress); another customer's
invoice, or another organization's, is simply not found.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Response
from sqlalchemy import select

from bxb.api.deps import SettingsDep, TemporalDep
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.core.workflow_calls import WorkflowRequestError
from bxb.documents.invoice_pdf import issuer_of, pdf_filename, render_invoice_pdf
from bxb.lago_objects.invoices import invoice_object, invoice_objects
from bxb.ledger.billing_entities import issuing_party
from bxb.models import Invoice
from bxb.portal.auth import PortalCustomer, PortalCustomerDep, PortalSessionDep
from bxb.portal.pay_now import pay_now
from bxb.portal.shapes import VISIBLE_INVOICE_STATUSES, invoice_detail, invoice_summary

router = APIRouter(prefix="/api/v1/portal", tags=["portal"])


async def _find(session: PortalSessionDep, portal: PortalCustomer, lago_id: str) -> Invoice:
    try:
        invoice_id = uuid.UUID(lago_id)
    except ValueError:
        raise not_found("invoice") from None
    invoice = await session.scalar(
        select(Invoice)
        .where(
            Invoice.id == invoice_id,
            Invoice.organization_id == portal.organization.id,
            Invoice.customer_id == portal.customer.id,
            Invoice.status.in_(VISIBLE_INVOICE_STATUSES),
        )
        .execution_options(populate_existing=True)
    )
    if invoice is None:
        raise not_found("invoice")
    return invoice


@router.get("/invoices")
async def list_invoices(
    portal: PortalCustomerDep,
    session: PortalSessionDep,
    page: PageDep,
    status: Literal["finalized", "voided"] | None = None,
    payment_status: Literal["pending", "succeeded", "failed"] | None = None,
) -> dict[str, Any]:
    query = select(Invoice).where(
        Invoice.organization_id == portal.organization.id,
        Invoice.customer_id == portal.customer.id,
        Invoice.status.in_([status] if status else VISIBLE_INVOICE_STATUSES),
    )
    if payment_status is not None:
        query = query.where(Invoice.payment_status == payment_status)
    query = query.order_by(Invoice.issuing_date.desc(), Invoice.created_at.desc(), Invoice.id)
    invoices, meta = await paginate(session, query, page)
    objects = await invoice_objects(session, invoices)
    return {"invoices": [invoice_summary(o) for o in objects], "meta": meta.model_dump()}


@router.get("/invoices/{lago_id}")
async def get_invoice(
    lago_id: str, portal: PortalCustomerDep, session: PortalSessionDep
) -> dict[str, Any]:
    invoice = await _find(session, portal, lago_id)
    return {"invoice": invoice_detail(await invoice_object(session, invoice))}


@router.get("/invoices/{lago_id}/download")
async def download_invoice_pdf(
    lago_id: str, portal: PortalCustomerDep, session: PortalSessionDep
) -> Response:
    """The invoice's PDF (the token may come as ?token= so that a plain link works)."""
    invoice = await _find(session, portal, lago_id)
    data = await invoice_object(session, invoice)
    issuer = await issuing_party(session, invoice, portal.organization)
    return Response(
        content=render_invoice_pdf(data, issuer_of(issuer)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{pdf_filename(data)}"'},
    )


@router.post("/invoices/{lago_id}/pay")
async def pay_invoice(
    lago_id: str,
    portal: PortalCustomerDep,
    session: PortalSessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Pay now: start the next payment attempt (idempotent; nothing is charged twice)."""
    invoice = await _find(session, portal, lago_id)
    if invoice.status != "finalized":
        raise ApiError(405, code="invoice_not_payable")
    if portal.customer.payment_provider is None:
        raise validation_error({"payment_provider": ["customer_has_no_payment_provider"]})
    try:
        await pay_now(
            session,
            await temporal.client(),
            settings.temporal_task_queue,
            portal.customer,
            invoice,
            wait=temporal.wait,
        )
    except WorkflowRequestError:
        raise ApiError(405, code="invoice_not_payable") from None
    invoice = await _find(session, portal, lago_id)
    return {"invoice": invoice_detail(await invoice_object(session, invoice))}
