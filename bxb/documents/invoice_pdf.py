"""An invoice as a PDF (fpdf2, built-in Helvetica), drawn from Lago's invoice object.

The document shows who bills whom, the invoice's number and dates, one line per fee, and
the totals in Lago's order: fees, coupons, taxes by rate, credit notes, prepaid credits,
total, what was paid and what is due. A draft carries a DRAFT watermark: its amounts can
still change and it has no number yet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bxb.documents.text import latin1, money, percent, units
from bxb.models import BillingEntity, Organization

PAGE_WIDTH = 210  # A4, millimetres
MARGIN = 15
CONTENT = PAGE_WIDTH - 2 * MARGIN
LINE = 5.5
GREY = (110, 110, 110)
BLACK = (0, 0, 0)
# Line items: description, units, amount.
COLUMNS = (120, 20, 40)

_ADDRESS_KEYS = ("address_line1", "address_line2")


def issuer_of(organization: Organization | BillingEntity) -> dict[str, Any]:
    """What the PDF shows of who issues the invoice: its billing entity (or organization)."""
    return {
        "name": organization.legal_name or organization.name,
        "address_line1": organization.address_line1,
        "address_line2": organization.address_line2,
        "city": organization.city,
        "state": organization.state,
        "zipcode": organization.zipcode,
        "country": organization.country,
        "email": organization.email,
        "tax_identification_number": organization.tax_identification_number,
        "legal_number": organization.legal_number,
        "invoice_footer": organization.invoice_footer,
    }


def pdf_filename(invoice: Mapping[str, Any]) -> str:
    """A safe file name: the invoice number, or draft-<id> before it has one."""
    name = invoice.get("number") or f"draft-{invoice.get('lago_id') or 'preview'}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(name)) + ".pdf"


def _address(party: Mapping[str, Any]) -> list[str]:
    lines = [str(party[key]) for key in _ADDRESS_KEYS if party.get(key)]
    city = " ".join(str(party[k]) for k in ("zipcode", "city") if party.get(k))
    region = ", ".join(part for part in (city, party.get("state") or "") if part)
    lines += [region] if region else []
    lines += [str(party["country"])] if party.get("country") else []
    lines += [str(party["email"])] if party.get("email") else []
    if party.get("tax_identification_number"):
        lines.append(f"Tax ID: {party['tax_identification_number']}")
    return lines


def _customer_name(customer: Mapping[str, Any]) -> str:
    full = " ".join(p for p in (customer.get("firstname"), customer.get("lastname")) if p)
    return str(
        customer.get("legal_name") or customer.get("name") or full or customer.get("external_id")
    )


class InvoicePdf(FPDF):
    def __init__(self, *, draft: bool) -> None:
        super().__init__(format="A4", unit="mm")
        self.draft = draft
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN)

    def header(self) -> None:
        """Called by fpdf2 on every new page: a draft is marked on each of them."""
        if self.draft:
            self.watermark("DRAFT")

    def write_cell(
        self,
        width: float,
        text: str,
        *,
        bold: bool = False,
        size: int = 10,
        align: str = "L",
        next_line: bool = False,
        color: tuple[int, int, int] = BLACK,
    ) -> None:
        self.set_font("Helvetica", "B" if bold else "", size)
        self.set_text_color(*color)
        self.cell(
            width,
            LINE,
            latin1(text),
            align=align,
            new_x=XPos.LMARGIN if next_line else XPos.RIGHT,
            new_y=YPos.NEXT if next_line else YPos.TOP,
        )

    def watermark(self, text: str) -> None:
        self.set_font("Helvetica", "B", 90)
        self.set_text_color(225, 225, 225)
        with self.rotation(45, PAGE_WIDTH / 2, 148):
            self.text(PAGE_WIDTH / 2 - 55, 160, text)
        self.set_text_color(*BLACK)


def parties(pdf: InvoicePdf, issuer: Mapping[str, Any], customer: Mapping[str, Any]) -> None:
    half = CONTENT / 2
    left = [str(issuer.get("name") or ""), *_address(issuer)]
    right = [_customer_name(customer), *_address(customer)]
    pdf.write_cell(half, "From", bold=True, color=GREY)
    pdf.write_cell(half, "Bill to", bold=True, color=GREY, next_line=True)
    for index in range(max(len(left), len(right))):
        pdf.write_cell(half, left[index] if index < len(left) else "", bold=index == 0)
        pdf.write_cell(
            half, right[index] if index < len(right) else "", bold=index == 0, next_line=True
        )
    pdf.ln(LINE)


def _details(pdf: InvoicePdf, invoice: Mapping[str, Any]) -> None:
    rows = [
        ("Invoice number", invoice.get("number") or "(assigned when finalized)"),
        ("Issuing date", invoice.get("issuing_date") or ""),
        ("Payment due date", invoice.get("payment_due_date") or "-"),
        ("Status", str(invoice.get("status", ""))),
        ("Payment status", str(invoice.get("payment_status", ""))),
    ]
    for label, value in rows:
        pdf.write_cell(45, label, color=GREY)
        pdf.write_cell(CONTENT - 45, str(value), next_line=True)
    pdf.ln(LINE)


def fee_label(fee: Mapping[str, Any]) -> str:
    item = fee.get("item") or {}
    label = str(item.get("invoice_display_name") or item.get("name") or fee.get("description"))
    if item.get("filter_invoice_display_name"):
        label = f"{label} - {item['filter_invoice_display_name']}"
    if fee.get("from_date") and fee.get("to_date"):
        label = f"{label} ({str(fee['from_date'])[:10]} to {str(fee['to_date'])[:10]})"
    return label


def _lines(pdf: InvoicePdf, fees: Sequence[Mapping[str, Any]], currency: str) -> None:
    description, quantity, amount = COLUMNS
    pdf.set_draw_color(*GREY)
    pdf.write_cell(description, "Description", bold=True)
    pdf.write_cell(quantity, "Units", bold=True, align="R")
    pdf.write_cell(amount, "Amount", bold=True, align="R", next_line=True)
    pdf.line(MARGIN, pdf.get_y(), MARGIN + CONTENT, pdf.get_y())
    for fee in fees:
        if fee.get("item", {}).get("type") == "credit":
            continue  # credits reduce the total below, with the credit notes
        y = pdf.get_y()
        pdf.set_font("Helvetica", "", 10)
        pdf.set_text_color(*BLACK)
        pdf.multi_cell(description, LINE, latin1(fee_label(fee)), align="L")
        bottom = pdf.get_y()
        pdf.set_xy(MARGIN + description, y)
        pdf.write_cell(quantity, units(fee.get("units")), align="R")
        pdf.write_cell(amount, money(int(fee["amount_cents"]), currency), align="R")
        pdf.set_xy(MARGIN, max(bottom, y + LINE))
    pdf.line(MARGIN, pdf.get_y(), MARGIN + CONTENT, pdf.get_y())
    pdf.ln(2)


def _totals(pdf: InvoicePdf, invoice: Mapping[str, Any]) -> None:
    currency = str(invoice["currency"])
    rows: list[tuple[str, int, bool]] = [("Subtotal", int(invoice["fees_amount_cents"]), False)]
    if invoice.get("progressive_billing_credit_amount_cents"):
        billed = -int(invoice["progressive_billing_credit_amount_cents"])
        rows.append(("Usage already billed", billed, False))
    if invoice.get("coupons_amount_cents"):
        rows.append(("Coupons", -int(invoice["coupons_amount_cents"]), False))
    rows.append(
        ("Subtotal excluding taxes", int(invoice["sub_total_excluding_taxes_amount_cents"]), False)
    )
    for tax in invoice.get("applied_taxes") or []:
        label = f"{tax.get('tax_name') or tax['tax_code']} ({percent(tax['tax_rate'])})"
        rows.append((label, int(tax["amount_cents"]), False))
    if not invoice.get("applied_taxes"):
        rows.append(("Taxes", int(invoice["taxes_amount_cents"]), False))
    rows.append(
        ("Subtotal including taxes", int(invoice["sub_total_including_taxes_amount_cents"]), False)
    )
    if invoice.get("credit_notes_amount_cents"):
        rows.append(("Credit notes", -int(invoice["credit_notes_amount_cents"]), False))
    if invoice.get("prepaid_credit_amount_cents"):
        rows.append(("Prepaid credits", -int(invoice["prepaid_credit_amount_cents"]), False))
    rows.append(("Total", int(invoice["total_amount_cents"]), True))
    if invoice.get("total_paid_amount_cents"):
        rows.append(("Paid", -int(invoice["total_paid_amount_cents"]), False))
    rows.append(("Total due", int(invoice["total_due_amount_cents"]), True))
    label_width = 70
    for label, amount, bold in rows:
        pdf.set_x(MARGIN + CONTENT - label_width - COLUMNS[2])
        pdf.write_cell(label_width, label, bold=bold)
        pdf.write_cell(COLUMNS[2], money(amount, currency), bold=bold, align="R", next_line=True)


def render_invoice_pdf(invoice: Mapping[str, Any], issuer: Mapping[str, Any]) -> bytes:
    """The PDF of Lago's invoice object `invoice`, issued by `issuer` (see issuer_of)."""
    pdf = InvoicePdf(draft=invoice.get("status") == "draft")
    number = invoice.get("number")
    pdf.set_title(latin1(f"Invoice {number}" if number else "Draft invoice"))
    pdf.set_author(latin1(str(issuer.get("name") or "")))
    pdf.add_page()
    pdf.write_cell(CONTENT / 2, "Invoice", bold=True, size=20)
    pdf.write_cell(CONTENT / 2, str(number or "Draft"), size=12, align="R", next_line=True)
    pdf.ln(LINE)
    parties(pdf, issuer, invoice.get("customer") or {})
    _details(pdf, invoice)
    _lines(pdf, invoice.get("fees") or [], str(invoice["currency"]))
    _totals(pdf, invoice)
    if issuer.get("invoice_footer"):
        pdf.ln(LINE)
        pdf.set_font("Helvetica", "", 8)
        pdf.set_text_color(*GREY)
        pdf.multi_cell(CONTENT, 4, latin1(str(issuer["invoice_footer"])), align="L")
    return bytes(pdf.output())
