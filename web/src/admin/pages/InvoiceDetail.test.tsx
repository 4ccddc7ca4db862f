import { cleanup, fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

// openapi-fetch keeps the fetch and Request it finds when the client is created: both are
// replaced before the page (and ../../api/client) is imported.
const fetchMock = vi.hoisted(() => {
  const Base = globalThis.Request;
  class SameOriginRequest extends Base {
    constructor(input: RequestInfo | URL, init?: RequestInit) {
      super(typeof input === "string" ? new URL(input, "http://localhost/").href : input, init);
    }
  }
  globalThis.Request = SameOriginRequest as typeof Request;
  const mock = vi.fn<(request: Request) => Promise<Response>>();
  globalThis.fetch = mock as unknown as typeof fetch;
  return mock;
});

import InvoiceDetail from "./InvoiceDetail";
import { emptyMeta, json, makeMe, renderPage } from "./testing";

const INVOICE_ID = "5d1c0a2e-0000-4000-8000-0000000000aa";
const FEE_ID = "7e2f1b3c-0000-4000-8000-0000000000bb";

function invoice(status: string) {
  return {
    lago_id: INVOICE_ID,
    billing_entity_code: null,
    number: "ACME-001-001",
    issuing_date: "2026-02-01",
    invoice_type: "subscription",
    status,
    payment_status: "succeeded",
    currency: "USD",
    fees_amount_cents: 5000,
    coupons_amount_cents: 0,
    credit_notes_amount_cents: 0,
    sub_total_excluding_taxes_amount_cents: 5000,
    taxes_amount_cents: 0,
    sub_total_including_taxes_amount_cents: 5000,
    prepaid_credit_amount_cents: 0,
    progressive_billing_credit_amount_cents: 0,
    total_amount_cents: 5000,
    version_number: 4,
    created_at: "2026-02-01T00:00:00Z",
    updated_at: "2026-02-01T00:00:00Z",
    customer: { external_id: "cus_1", name: "Globex" },
    applied_taxes: [],
    credits: [],
    fees: [
      {
        lago_id: FEE_ID,
        item: { type: "subscription", code: "startup", name: "Startup", invoice_display_name: "Startup plan" },
        amount_cents: 5000,
        amount_currency: "USD",
        taxes_amount_cents: 0,
        taxes_rate: 0,
        total_amount_cents: 5000,
        total_amount_currency: "USD",
        units: "1.0",
        pay_in_advance: true,
        invoiceable: true,
        payment_status: "succeeded",
      },
    ],
  };
}

function fakeApi(allowed: string[]) {
  const posted: { path: string; body: unknown }[] = [];
  fetchMock.mockImplementation(async (request: Request) => {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === "/api/v1/auth/me") return json(makeMe(allowed));
    if (path === `/api/v1/invoices/${INVOICE_ID}` && request.method === "GET") return json({ invoice: invoice("finalized") });
    if (path === "/api/v1/payments") return json({ payments: [], meta: emptyMeta });
    if (path === "/api/v1/credit_notes" && request.method === "GET") return json({ credit_notes: [], meta: emptyMeta });
    if (request.method === "POST") {
      const body: unknown = await request.json();
      posted.push({ path, body });
      if (path === "/api/v1/credit_notes/estimate")
        return json({
          estimated_credit_note: {
            lago_invoice_id: INVOICE_ID,
            invoice_number: "ACME-001-001",
            currency: "USD",
            taxes_amount_cents: 0,
            precise_taxes_amount_cents: 0,
            taxes_rate: 0,
            sub_total_excluding_taxes_amount_cents: 1230,
            max_creditable_amount_cents: 1230,
            max_refundable_amount_cents: 1230,
            max_offsettable_amount_cents: 0,
            coupons_adjustment_amount_cents: 0,
            precise_coupons_adjustment_amount_cents: 0,
            items: [{ amount_cents: 1230, lago_fee_id: FEE_ID }],
            applied_taxes: [],
          },
        });
      if (path === "/api/v1/credit_notes") return json({ credit_note: { lago_id: "cn1", number: "ACME-001-001-CN1" } });
    }
    return json({ status: 404, error: "Not Found", code: "not_found" }, 404);
  });
  return posted;
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
});

const route = { path: "/invoices/:lagoId", route: `/invoices/${INVOICE_ID}` };

describe("InvoiceDetail", () => {
  it("issues a credit note with 12.30 USD as 1230 cents", async () => {
    const posted = fakeApi(["findInvoice", "createCreditNote", "findAllPayments", "findAllCreditNotes", "voidInvoice"]);
    renderPage(<InvoiceDetail />, route);
    fireEvent.click(await screen.findByRole("button", { name: "Issue credit note" }));
    fireEvent.change(screen.getByLabelText("Reason"), { target: { value: "order_change" } });
    fireEvent.change(screen.getByLabelText("Amount to credit for Startup plan"), { target: { value: "12.30" } });
    fireEvent.click(screen.getByRole("button", { name: "Issue credit note" }));

    await waitFor(() => expect(posted.map((p) => p.path)).toEqual(["/api/v1/credit_notes/estimate", "/api/v1/credit_notes"]));
    expect(posted[0]?.body).toEqual({ credit_note: { invoice_id: INVOICE_ID, items: [{ fee_id: FEE_ID, amount_cents: 1230 }] } });
    expect(posted[1]?.body).toEqual({
      credit_note: {
        invoice_id: INVOICE_ID,
        reason: "order_change",
        description: null,
        items: [{ fee_id: FEE_ID, amount_cents: 1230 }],
        credit_amount_cents: 1230,
        refund_amount_cents: 0,
      },
    });
    expect(await screen.findByText("Credit note issued.")).toBeTruthy();
  });

  it("refuses an amount with more decimals than the currency before sending", async () => {
    const posted = fakeApi(["findInvoice", "createCreditNote"]);
    renderPage(<InvoiceDetail />, route);
    fireEvent.click(await screen.findByRole("button", { name: "Issue credit note" }));
    const amount = screen.getByLabelText("Amount to credit for Startup plan");
    fireEvent.change(amount, { target: { value: "12.305" } });
    fireEvent.click(screen.getByRole("button", { name: "Issue credit note" }));
    await waitFor(() => expect(amount.getAttribute("aria-invalid")).toBe("true"));
    expect(posted).toHaveLength(0);
  });

  it("shows a finance viewer the invoice without any action", async () => {
    fakeApi(["findInvoice", "findAllPayments", "findAllCreditNotes"]);
    renderPage(<InvoiceDetail />, route);
    await screen.findByRole("heading", { name: "Invoice ACME-001-001" });
    expect(screen.getAllByText("$50.00").length).toBeGreaterThan(0);
    expect(screen.queryAllByRole("button")).toHaveLength(0);
  });
});
