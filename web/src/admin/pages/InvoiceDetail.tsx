// One invoice: its fees, taxes, totals and credits, its payments and credit notes, and the
// actions the member's role allows (each behind can(operationId)). After an action the
// invoice is read again, so its new status shows.
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, unwrap, type Schemas } from "../../api/client";
import { CreditNoteForm, feeLabel } from "../../components/billing-credit-note-form";
import { Badge, FormPanel, Td, errorText } from "../../components/fin-kit";
import { Button, Card, CheckboxField, ErrorNote, PageHeader, Table } from "../../components/ui";
import { formatDate, formatDateTime } from "../../lib/dates";
import { formatMoney } from "../../lib/money";
import { useAsync } from "../../lib/useAsync";
import { useMe, useSession } from "../session";

type Invoice = Schemas["InvoiceObjectExtended"];

function Totals({ invoice }: { invoice: Invoice }) {
  const c = invoice.currency;
  const rows: [string, number | null | undefined][] = [
    ["Fees", invoice.fees_amount_cents],
    ["Coupons", invoice.coupons_amount_cents ? -invoice.coupons_amount_cents : 0],
    ["Credit notes", invoice.credit_notes_amount_cents ? -invoice.credit_notes_amount_cents : 0],
    ["Progressive billing credit", invoice.progressive_billing_credit_amount_cents ? -invoice.progressive_billing_credit_amount_cents : 0],
    ["Sub total excluding taxes", invoice.sub_total_excluding_taxes_amount_cents],
    ["Taxes", invoice.taxes_amount_cents],
    ["Sub total including taxes", invoice.sub_total_including_taxes_amount_cents],
    ["Prepaid credits", invoice.prepaid_credit_amount_cents ? -invoice.prepaid_credit_amount_cents : 0],
    ["Total", invoice.total_amount_cents],
  ];
  return (
    <dl className="grid max-w-md grid-cols-2 gap-x-4 gap-y-1 text-sm">
      {rows.map(([label, cents]) => (
        <div key={label} className="contents">
          <dt className={label === "Total" ? "font-semibold" : "text-slate-600"}>{label}</dt>
          <dd className={`text-right tabular-nums ${label === "Total" ? "font-semibold" : ""}`}>{formatMoney(cents ?? 0, c)}</dd>
        </div>
      ))}
    </dl>
  );
}

function VoidPanel({ onVoid, onCancel, busy }: { onVoid: (generateCreditNote: boolean) => void; onCancel: () => void; busy: boolean }) {
  const [generate, setGenerate] = useState(false);
  return (
    <FormPanel title="Void invoice">
      <p className="mb-2 text-sm text-slate-700">
        Voiding ends collection of this invoice. An invoice that was paid, even in part, is voided only with a credit note for what was paid.
      </p>
      <CheckboxField label="Generate a credit note for what was paid" checked={generate} onChange={(e) => setGenerate(e.target.checked)} />
      <div className="mt-3 flex gap-2">
        <Button variant="danger" disabled={busy} onClick={() => onVoid(generate)}>
          Confirm void
        </Button>
        <Button variant="secondary" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </FormPanel>
  );
}

export default function InvoiceDetail() {
  const { lagoId = "" } = useParams();
  const { can } = useSession();
  const me = useMe();
  const tz = me.organization.timezone;
  const [panel, setPanel] = useState<"void" | "credit_note" | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);

  const invoiceCall = useAsync(
    () => unwrap(api.GET("/api/v1/invoices/{lago_id}", { params: { path: { lago_id: lagoId } } })).then((d) => d.invoice),
    [lagoId],
  );
  const payments = useAsync(
    () =>
      can("findAllPayments")
        ? unwrap(api.GET("/api/v1/payments", { params: { query: { invoice_id: lagoId, per_page: 100 } } })).then((d) => d.payments)
        : Promise.resolve(null),
    [lagoId],
  );
  const invoice = invoiceCall.data;
  const invoiceNumber = invoice?.number;
  const creditNotes = useAsync(
    () =>
      invoiceNumber && can("findAllCreditNotes")
        ? unwrap(api.GET("/api/v1/credit_notes", { params: { query: { invoice_number: invoiceNumber, per_page: 100 } } })).then((d) =>
            d.credit_notes.filter((n) => n.lago_invoice_id === lagoId),
          )
        : Promise.resolve(null),
    [lagoId, invoiceNumber],
  );

  const reloadAll = () => {
    invoiceCall.reload();
    payments.reload();
    creditNotes.reload();
  };

  const act = async (label: string, call: () => Promise<unknown>) => {
    setBusy(true);
    setMessage(null);
    setActionError(null);
    try {
      await call();
      const fresh = await unwrap(api.GET("/api/v1/invoices/{lago_id}", { params: { path: { lago_id: lagoId } } }));
      setMessage(`${label}. The invoice is now ${fresh.invoice.status}, payment ${fresh.invoice.payment_status}.`);
      setPanel(null);
      reloadAll();
    } catch (err) {
      setActionError(`${label} failed: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };

  const path = { params: { path: { lago_id: lagoId } } };
  if (invoiceCall.error) return <ErrorNote error={invoiceCall.error} />;
  if (!invoice) return <p className="text-sm text-slate-500">Loading…</p>;

  const finalized = invoice.status === "finalized";
  const canDownload = (can("downloadInvoicePdf") || can("downloadInvoice")) && invoice.status !== "draft";
  const actions = (
    <>
      {canDownload && (
        <a
          href={`/api/v1/invoices/${encodeURIComponent(invoice.lago_id)}/download`}
          target="_blank"
          rel="noreferrer"
          className="rounded border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-100"
        >
          Download PDF
        </a>
      )}
      {invoice.status === "draft" && can("refreshInvoice") && (
        <Button variant="secondary" disabled={busy} onClick={() => void act("Invoice refreshed", () => unwrap(api.PUT("/api/v1/invoices/{lago_id}/refresh", path)))}>
          Refresh
        </Button>
      )}
      {invoice.status === "draft" && can("finalizeInvoice") && (
        <Button disabled={busy} onClick={() => void act("Invoice finalized", () => unwrap(api.PUT("/api/v1/invoices/{lago_id}/finalize", path)))}>
          Finalize
        </Button>
      )}
      {finalized && invoice.payment_status !== "succeeded" && can("retryPayment") && (
        <Button
          variant="secondary"
          disabled={busy}
          onClick={() => void act("Payment retried", () => unwrap(api.POST("/api/v1/invoices/{lago_id}/retry_payment", path)))}
        >
          Retry payment
        </Button>
      )}
      {finalized && invoice.invoice_type !== "credit" && can("createCreditNote") && panel !== "credit_note" && (
        <Button variant="secondary" onClick={() => setPanel("credit_note")}>
          Issue credit note
        </Button>
      )}
      {finalized && can("voidInvoice") && panel !== "void" && (
        <Button variant="danger" onClick={() => setPanel("void")}>
          Void
        </Button>
      )}
    </>
  );

  return (
    <div className="space-y-4">
      <p className="text-sm">
        <Link to="/invoices" className="text-indigo-800 underline">
          ← Invoices
        </Link>
      </p>
      <PageHeader title={`Invoice ${invoice.number || invoice.lago_id}`} actions={actions} />
      <div role="status" aria-live="polite" className="text-sm text-green-800">
        {message}
      </div>
      {actionError && (
        <p role="alert" className="rounded border border-red-300 bg-red-50 p-2 text-sm text-red-800">
          {actionError}
        </p>
      )}
      {panel === "void" && (
        <VoidPanel
          busy={busy}
          onCancel={() => setPanel(null)}
          onVoid={(generate) =>
            void act("Invoice voided", () =>
              unwrap(api.POST("/api/v1/invoices/{lago_id}/void", { ...path, body: { generate_credit_note: generate } })),
            )
          }
        />
      )}
      {panel === "credit_note" && (
        <CreditNoteForm
          invoice={invoice}
          onCancel={() => setPanel(null)}
          onDone={() => {
            setPanel(null);
            setMessage("Credit note issued.");
            reloadAll();
          }}
        />
      )}

      <Card>
        <dl className="grid grid-cols-2 gap-x-6 gap-y-1 text-sm md:grid-cols-4">
          <dt className="text-slate-600">Status</dt>
          <dd>
            <Badge value={invoice.status} />
          </dd>
          <dt className="text-slate-600">Payment status</dt>
          <dd>
            <Badge value={invoice.payment_status} />
            {invoice.payment_overdue ? <span className="ml-1 text-xs text-red-700">overdue</span> : null}
          </dd>
          <dt className="text-slate-600">Customer</dt>
          <dd>
            {invoice.customer ? (
              <Link to={`/customers/${encodeURIComponent(invoice.customer.external_id)}`} className="text-indigo-800 underline">
                {invoice.customer.name || invoice.customer.external_id}
              </Link>
            ) : (
              "—"
            )}
          </dd>
          <dt className="text-slate-600">Type</dt>
          <dd>{invoice.invoice_type.replaceAll("_", " ")}</dd>
          <dt className="text-slate-600">Issuing date</dt>
          <dd>{formatDate(invoice.issuing_date, tz)}</dd>
          <dt className="text-slate-600">Payment due</dt>
          <dd>{formatDate(invoice.payment_due_date, tz)}</dd>
          <dt className="text-slate-600">Total</dt>
          <dd className="font-semibold">{formatMoney(invoice.total_amount_cents, invoice.currency)}</dd>
          <dt className="text-slate-600">Updated</dt>
          <dd>{formatDateTime(invoice.updated_at, tz)}</dd>
        </dl>
      </Card>

      <Card title="Fees">
        <Table label="Fees" head={["Item", "Period", "Units", "Amount", "Taxes", "Total"]}>
          {(invoice.fees ?? []).map((fee, i) => (
            <tr key={fee.lago_id ?? i}>
              <Td>{feeLabel(fee)}</Td>
              <Td>
                {fee.from_date ? `${formatDate(fee.from_date, tz)} – ${formatDate(fee.to_date, tz)}` : "—"}
              </Td>
              <Td className="tabular-nums">{fee.units}</Td>
              <Td className="text-right tabular-nums">{formatMoney(fee.amount_cents, fee.amount_currency)}</Td>
              <Td className="text-right tabular-nums">
                {formatMoney(fee.taxes_amount_cents, fee.amount_currency)} <span className="text-xs text-slate-500">({fee.taxes_rate}%)</span>
              </Td>
              <Td className="text-right tabular-nums">{formatMoney(fee.total_amount_cents, fee.total_amount_currency)}</Td>
            </tr>
          ))}
        </Table>
      </Card>

      <div className="grid gap-4 md:grid-cols-2">
        <Card title="Totals">
          <Totals invoice={invoice} />
        </Card>
        <Card title="Taxes">
          {(invoice.applied_taxes ?? []).length === 0 ? (
            <p className="text-sm text-slate-500">No taxes.</p>
          ) : (
            <Table label="Taxes" head={["Tax", "Rate", "Amount"]}>
              {(invoice.applied_taxes ?? []).map((t, i) => (
                <tr key={t.lago_id ?? i}>
                  <Td>
                    {t.tax_name} ({t.tax_code})
                  </Td>
                  <Td>{t.tax_rate}%</Td>
                  <Td className="text-right tabular-nums">{formatMoney(t.amount_cents, t.amount_currency)}</Td>
                </tr>
              ))}
            </Table>
          )}
        </Card>
      </div>

      <Card title="Credits">
        {(invoice.credits ?? []).length === 0 ? (
          <p className="text-sm text-slate-500">No coupons, credit notes or invoice credits applied.</p>
        ) : (
          <Table label="Credits" head={["Kind", "Item", "Amount"]}>
            {(invoice.credits ?? []).map((cr) => (
              <tr key={cr.lago_id}>
                <Td>{cr.item.type.replaceAll("_", " ")}</Td>
                <Td>{cr.item.name || cr.item.code}</Td>
                <Td className="text-right tabular-nums">{formatMoney(cr.amount_cents, cr.amount_currency)}</Td>
              </tr>
            ))}
          </Table>
        )}
      </Card>

      <Card title="Payments">
        <ErrorNote error={payments.error} />
        {payments.data === null && <p className="text-sm text-slate-500">Your role cannot list payments.</p>}
        {payments.data && payments.data.length === 0 && <p className="text-sm text-slate-500">No payments yet.</p>}
        {payments.data && payments.data.length > 0 && (
          <Table label="Payments of this invoice" head={["Created", "Type", "Status", "Amount", "Reference"]}>
            {payments.data.map((p) => (
              <tr key={p.lago_id}>
                <Td>{formatDateTime(p.created_at, tz)}</Td>
                <Td>{p.type}</Td>
                <Td>
                  <Badge value={p.payment_status} />
                </Td>
                <Td className="text-right tabular-nums">{formatMoney(p.amount_cents, p.amount_currency)}</Td>
                <Td>{p.reference || p.provider_payment_id || "—"}</Td>
              </tr>
            ))}
          </Table>
        )}
      </Card>

      <Card title="Credit notes">
        <ErrorNote error={creditNotes.error} />
        {creditNotes.data && creditNotes.data.length === 0 && <p className="text-sm text-slate-500">No credit notes.</p>}
        {creditNotes.data && creditNotes.data.length > 0 && (
          <Table label="Credit notes of this invoice" head={["Number", "Reason", "Credit", "Refund", "Total", "Credit status", "Refund status"]}>
            {creditNotes.data.map((n) => (
              <tr key={n.lago_id}>
                <Td>
                  <Link to={`/credit_notes?note=${n.lago_id}`} className="text-indigo-800 underline">
                    {n.number}
                  </Link>
                </Td>
                <Td>{n.reason.replaceAll("_", " ")}</Td>
                <Td className="text-right tabular-nums">{formatMoney(n.credit_amount_cents, n.currency)}</Td>
                <Td className="text-right tabular-nums">{formatMoney(n.refund_amount_cents, n.currency)}</Td>
                <Td className="text-right tabular-nums">{formatMoney(n.total_amount_cents, n.currency)}</Td>
                <Td>
                  <Badge value={n.credit_status} />
                </Td>
                <Td>
                  <Badge value={n.refund_status} />
                </Td>
              </tr>
            ))}
          </Table>
        )}
      </Card>
    </div>
  );
}
