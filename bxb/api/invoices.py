"""/api/v1/invoices (Lago-compatible): list, read, metadata, PDF, one-off, preview.

Finalize, void, refresh and payment retries live with the invoice collection code; this
router reads invoices, edits their metadata, renders their PDF, issues one-off invoices
and previews what an invoice would be.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from bxb.api.deps import OrgDep, SessionDep, TemporalDep, reads_only
from bxb.api.errors import not_found
from bxb.api.invoice_preview import preview_invoice
from bxb.api.list_filters import parse_filters
from bxb.api.one_off_invoices import create_one_off_invoice
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.invoices import (
    InvoicePreviewIn,
    InvoiceUpdateBody,
    OneOffInvoiceBody,
)
from bxb.api.schemas.metadata import merge_metadata_entries
from bxb.core.invoice_collection import start_invoice_collection
from bxb.documents.invoice_pdf import issuer_of, pdf_filename, render_invoice_pdf
from bxb.inputs.bounds import Day
from bxb.inputs.validation import Currency
from bxb.lago_objects.invoices import invoice_object, invoice_objects
from bxb.ledger.billing_entities import entity_ids_for_codes, issuing_party
from bxb.listings.invoices import (
    InvoiceFilters,
    InvoiceStatus,
    InvoiceType,
    PaymentStatus,
    invoice_query,
)
from bxb.models import Invoice
from bxb.models.base import utcnow
from bxb.webhooks import outbox

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["invoices"])

METADATA_PREFIX = "metadata["
MAX_CENTS = 2**63 - 1  # amounts are BIGINT


async def find_invoice(
    session: AsyncSession, organization_id: uuid.UUID, lago_id: str, *, for_update: bool = False
) -> Invoice:
    """An invoice of the organization by lago_id, or 404 invoice_not_found (bad ids too)."""
    try:
        invoice_id = uuid.UUID(lago_id)
    except ValueError:
        raise not_found("invoice") from None
    query = select(Invoice).where(
        Invoice.id == invoice_id,
        Invoice.organization_id == organization_id,
        Invoice.status != "deleted",  # a deleted draft is gone (Lago's `visible`)
    )
    if for_update:
        query = query.with_for_update()
    invoice = await session.scalar(query.execution_options(populate_existing=True))
    if invoice is None:
        raise not_found("invoice")
    return invoice


def _metadata_filters(request: Request) -> dict[str, str]:
    """Lago's `metadata[key]=value` query parameters."""
    return {
        name[len(METADATA_PREFIX) : -1]: value
        for name, value in request.query_params.items()
        if name.startswith(METADATA_PREFIX) and name.endswith("]")
    }


@router.get("/invoices")
@reads_only
async def list_invoices(
    request: Request,
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    external_customer_id: str | None = None,
    status: InvoiceStatus | None = None,
    statuses: Annotated[list[InvoiceStatus] | None, Query(alias="statuses[]")] = None,
    payment_status: PaymentStatus | None = None,
    payment_statuses: Annotated[
        list[PaymentStatus] | None, Query(alias="payment_statuses[]")
    ] = None,
    payment_overdue: bool | None = None,
    invoice_type: InvoiceType | None = None,
    issuing_date_from: Day | None = None,
    issuing_date_to: Day | None = None,
    currency: Currency | None = None,
    search_term: str | None = None,
    amount_from: Annotated[int, Query(ge=0, le=MAX_CENTS)] | None = None,
    amount_to: Annotated[int, Query(ge=0, le=MAX_CENTS)] | None = None,
    billing_entity_codes: Annotated[list[str] | None, Query(alias="billing_entity_codes[]")] = None,
) -> dict[str, Any]:
    entity_ids = await entity_ids_for_codes(session, org.id, billing_entity_codes)
    filters = parse_filters(
        InvoiceFilters,
        {
            "external_customer_id": external_customer_id,
            "statuses": [*(statuses or []), *([status] if status else [])],
            "payment_statuses": [
                *(payment_statuses or []),
                *([payment_status] if payment_status else []),
            ],
            "payment_overdue": payment_overdue,
            "invoice_type": invoice_type,
            "issuing_date_from": issuing_date_from,
            "issuing_date_to": issuing_date_to,
            "currency": currency,
            "search_term": search_term,
            "amount_from": amount_from,
            "amount_to": amount_to,
            "metadata": _metadata_filters(request),
            "billing_entity_ids": entity_ids,
        },
    )
    query = invoice_query(org.id, filters)
    # Lago's list shows no fees: not loaded (raise if anything reads them).
    query = query.order_by(Invoice.created_at.desc(), Invoice.id.desc()).options(
        raiseload(Invoice.fees)
    )
    invoices, meta = await paginate(session, query, page)
    # Lago's list answers InvoiceObject (customer, metadata, taxes); one invoice, the
    # extended object with its fees and credits.
    objects = await invoice_objects(session, invoices, extended=False)
    return {"invoices": objects, "meta": meta.model_dump()}


@router.get("/invoices/{lago_id}")
@reads_only
async def get_invoice(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    invoice = await find_invoice(session, org.id, lago_id)
    return {"invoice": await invoice_object(session, invoice)}


@router.put("/invoices/{lago_id}")
async def update_invoice(
    lago_id: str, body: InvoiceUpdateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    invoice = await find_invoice(session, org.id, lago_id, for_update=True)
    if body.invoice.metadata is not None:
        invoice.metadata_ = merge_metadata_entries(
            invoice.metadata_, body.invoice.metadata, utcnow()
        )
    await session.commit()
    return {"invoice": await invoice_object(session, invoice)}


@router.get("/invoices/{lago_id}/download", name="download_invoice_pdf")
async def download_invoice_pdf(lago_id: str, org: OrgDep, session: SessionDep) -> Response:
    """The invoice as a PDF; a draft's carries a DRAFT watermark."""
    invoice = await find_invoice(session, org.id, lago_id)
    data = await invoice_object(session, invoice)
    issuer = await issuing_party(session, invoice, org)
    return Response(
        content=render_invoice_pdf(data, issuer_of(issuer)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{pdf_filename(data)}"'},
    )


@router.post("/invoices/{lago_id}/download")
async def download_invoice(
    lago_id: str, request: Request, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    """Lago generates the PDF and answers with the invoice, whose file_url points at it."""
    invoice = await find_invoice(session, org.id, lago_id)
    file_url = str(request.url_for("download_invoice_pdf", lago_id=str(invoice.id)))
    return {"invoice": await invoice_object(session, invoice, file_url=file_url)}


@router.post("/invoices")
async def create_invoice(
    body: OneOffInvoiceBody, org: OrgDep, session: SessionDep, temporal: TemporalDep
) -> dict[str, Any]:
    """A one-off invoice of add-ons, finalized at once."""
    invoice, webhook_ids = await create_one_off_invoice(session, org, body.invoice)
    await session.commit()
    data = await invoice_object(session, invoice)
    try:
        client = await temporal.client()
        await outbox.dispatch(client, webhook_ids)
        await start_invoice_collection(client, invoice.id, at=invoice.finalized_at)
    except Exception:  # the invoice is committed: answering 500 would invite a duplicate
        log.exception("invoice %s: could not start its collection or webhooks", invoice.id)
    return {"invoice": data}


@router.post("/invoices/preview")
async def preview(
    body: InvoicePreviewIn, org: OrgDep, session: SessionDep, request: Request
) -> dict[str, Any]:
    """The invoice a plan or the customer's subscriptions would produce next (not stored)."""
    store = request.app.state.event_pipeline.store
    temporal = request.app.state.temporal
    return {"invoice": await preview_invoice(session, org, body, store, temporal)}
