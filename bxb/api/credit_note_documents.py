"""/api/v1/credit_notes/{lago_id}/download: the credit note's PDF, as invoices' download.

`POST` answers the credit note with its `file_url` (Lago generates the file and answers
with the note); `GET` at that address is the PDF itself.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import not_found
from bxb.documents.credit_note_pdf import render_credit_note_pdf
from bxb.documents.invoice_pdf import issuer_of, pdf_filename
from bxb.lago_objects.credit_notes import credit_note_objects
from bxb.models import CreditNote

router = APIRouter(prefix="/api/v1", tags=["credit_notes"])


async def _note_object(session: SessionDep, organization_id: uuid.UUID, lago_id: str) -> Any:
    try:
        note_id = uuid.UUID(lago_id)
    except ValueError:
        raise not_found("credit_note") from None
    note = await session.scalar(
        select(CreditNote).where(
            CreditNote.organization_id == organization_id, CreditNote.id == note_id
        )
    )
    if note is None:
        raise not_found("credit_note")
    (data,) = await credit_note_objects(session, [note])
    return data


@router.get("/credit_notes/{lago_id}/download", name="download_credit_note_pdf")
async def download_credit_note_pdf(lago_id: str, org: OrgDep, session: SessionDep) -> Response:
    data = await _note_object(session, org.id, lago_id)
    return Response(
        content=render_credit_note_pdf(data, issuer_of(org)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{pdf_filename(data)}"'},
    )


@router.post("/credit_notes/{lago_id}/download")
async def download_credit_note(
    lago_id: str, request: Request, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    data = await _note_object(session, org.id, lago_id)
    data["file_url"] = str(request.url_for("download_credit_note_pdf", lago_id=data["lago_id"]))
    return {"credit_note": data}
