"""A credit note as a PDF (fpdf2), drawn from Lago's credit note object, in the invoice
PDF's layout: who credits whom, the note's number, its invoice and reason, one line per
credited fee, then the totals (before taxes, taxes, total) and how the total is given
back (credited to the customer's balance, refunded)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bxb.documents.invoice_pdf import (
    COLUMNS,
    CONTENT,
    GREY,
    LINE,
    MARGIN,
    InvoicePdf,
    fee_label,
    parties,
)
from bxb.documents.text import latin1, money


def _details(pdf: InvoicePdf, note: Mapping[str, Any]) -> None:
    rows = [
        ("Credit note number", note.get("number") or ""),
        ("Invoice number", note.get("invoice_number") or ""),
        ("Issuing date", note.get("issuing_date") or ""),
        ("Reason", str(note.get("reason") or "").replace("_", " ")),
        ("Credit status", str(note.get("credit_status") or "-")),
        ("Refund status", str(note.get("refund_status") or "-")),
    ]
    for label, value in rows:
        pdf.write_cell(45, label, color=GREY)
        pdf.write_cell(CONTENT - 45, str(value), next_line=True)
    if note.get("description"):
        pdf.write_cell(45, "Description", color=GREY)
        pdf.multi_cell(CONTENT - 45, LINE, latin1(str(note["description"])), align="L")
    pdf.ln(LINE)


def _lines(pdf: InvoicePdf, note: Mapping[str, Any]) -> None:
    description, _, amount = COLUMNS
    width = description + COLUMNS[1]
    currency = str(note["currency"])
    pdf.set_draw_color(*GREY)
    pdf.write_cell(width, "Credited item", bold=True)
    pdf.write_cell(amount, "Amount", bold=True, align="R", next_line=True)
    pdf.line(MARGIN, pdf.get_y(), MARGIN + CONTENT, pdf.get_y())
    for item in note.get("items") or []:
        pdf.write_cell(width, fee_label(item.get("fee") or {}))
        pdf.write_cell(amount, money(int(item["amount_cents"]), currency), align="R")
        pdf.ln(LINE)
    pdf.line(MARGIN, pdf.get_y(), MARGIN + CONTENT, pdf.get_y())
    pdf.ln(2)


def _totals(pdf: InvoicePdf, note: Mapping[str, Any]) -> None:
    currency = str(note["currency"])
    rows: list[tuple[str, int, bool]] = [
        ("Subtotal excluding taxes", int(note["sub_total_excluding_taxes_amount_cents"]), False),
        ("Taxes", int(note["taxes_amount_cents"]), False),
        ("Total", int(note["total_amount_cents"]), True),
    ]
    if note.get("credit_amount_cents"):
        rows.append(("Credited to the balance", int(note["credit_amount_cents"]), False))
    if note.get("refund_amount_cents"):
        rows.append(("Refunded", int(note["refund_amount_cents"]), False))
    label_width = 70
    for label, amount, bold in rows:
        pdf.set_x(MARGIN + CONTENT - label_width - COLUMNS[2])
        pdf.write_cell(label_width, label, bold=bold)
        pdf.write_cell(COLUMNS[2], money(amount, currency), bold=bold, align="R", next_line=True)


def render_credit_note_pdf(note: Mapping[str, Any], issuer: Mapping[str, Any]) -> bytes:
    """The PDF of Lago's credit note object `note`, issued by `issuer` (invoice_pdf.issuer_of)."""
    pdf = InvoicePdf(draft=False)
    pdf.set_title(latin1(f"Credit note {note.get('number') or ''}"))
    pdf.set_author(latin1(str(issuer.get("name") or "")))
    pdf.add_page()
    pdf.write_cell(CONTENT / 2, "Credit note", bold=True, size=20)
    pdf.write_cell(CONTENT / 2, str(note.get("number") or ""), size=12, align="R", next_line=True)
    pdf.ln(LINE)
    parties(pdf, issuer, note.get("customer") or {})
    _details(pdf, note)
    _lines(pdf, note)
    _totals(pdf, note)
    if note.get("voided_at"):
        pdf.ln(LINE)
        pdf.write_cell(CONTENT, "The remaining credit of this note was voided.", color=GREY)
    return bytes(pdf.output())
