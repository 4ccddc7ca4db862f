// Credit notes: server-paged list with filters, one note's detail shown in place (its
// items and taxes), and "Void" for a note with credit left (can("voidCreditNote")).
import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { api, unwrap, type Schemas } from "../../api/client";
import { feeLabel } from "../../components/billing-credit-note-form";
import { Badge, Td, errorText } from "../../components/fin-kit";
import { Button, Card, ErrorNote, Field, PageHeader, Pager, SelectField, Table } from "../../components/ui";
import { formatDate, formatDateTime } from "../../lib/dates";
import { formatMoney } from "../../lib/money";
import { useAsync } from "../../lib/useAsync";
import { useMe, useSession } from "../session";

type CreditStatus = NonNullable<Schemas["CreditNoteObject"]["credit_status"]>;

function NoteDetail({ lagoId, onChanged, onClose }: { lagoId: string; onChanged: () => void; onClose: () => void }) {
  const { can } = useSession();
  const tz = useMe().organization.timezone;
  const note = useAsync(
    () => unwrap(api.GET("/api/v1/credit_notes/{lago_id}", { params: { path: { lago_id: lagoId } } })).then((d) => d.credit_note),
    [lagoId],
  );
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const voidNote = async () => {
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      const r = await unwrap(api.PUT("/api/v1/credit_notes/{lago_id}/void", { params: { path: { lago_id: lagoId } } }));
      setMessage(`Credit note voided: credit status ${r.credit_note.credit_status ?? "—"}.`);
      note.reload();
      onChanged();
    } catch (err) {
      setError(`Void failed: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };
  const n = note.data;
  return (
    <section aria-label="Credit note detail" className="my-4">
      <Card title={n ? `Credit note ${n.number}` : "Credit note"}>
        <ErrorNote error={note.error} />
        {!n && !note.error && <p className="text-sm text-slate-500">Loading…</p>}
        {n && (
          <div className="space-y-3">
            <dl className="grid grid-cols-2 gap-x-6 gap-y-1 text-sm md:grid-cols-4">
              <dt className="text-slate-600">Invoice</dt>
              <dd>
                <Link to={`/invoices/${n.lago_invoice_id}`} className="text-indigo-800 underline">
                  {n.invoice_number}
                </Link>
              </dd>
              <dt className="text-slate-600">Customer</dt>
              <dd>{n.customer ? `${n.customer.name ?? ""} (${n.customer.external_id})` : "—"}</dd>
              <dt className="text-slate-600">Issuing date</dt>
              <dd>{formatDate(n.issuing_date, tz)}</dd>
              <dt className="text-slate-600">Reason</dt>
              <dd>{n.reason.replaceAll("_", " ")}</dd>
              <dt className="text-slate-600">Credit status</dt>
              <dd>
                <Badge value={n.credit_status} />
              </dd>
              <dt className="text-slate-600">Refund status</dt>
              <dd>
                <Badge value={n.refund_status} />
              </dd>
              <dt className="text-slate-600">Sub total excluding taxes</dt>
              <dd className="tabular-nums">{formatMoney(n.sub_total_excluding_taxes_amount_cents, n.currency)}</dd>
              <dt className="text-slate-600">Coupons adjustment</dt>
              <dd className="tabular-nums">{formatMoney(n.coupons_adjustment_amount_cents, n.currency)}</dd>
              <dt className="text-slate-600">Taxes</dt>
              <dd className="tabular-nums">{formatMoney(n.taxes_amount_cents, n.currency)}</dd>
              <dt className="text-slate-600">Total</dt>
              <dd className="font-semibold tabular-nums">{formatMoney(n.total_amount_cents, n.currency)}</dd>
              <dt className="text-slate-600">Credited</dt>
              <dd className="tabular-nums">{formatMoney(n.credit_amount_cents, n.currency)}</dd>
              <dt className="text-slate-600">Refunded</dt>
              <dd className="tabular-nums">{formatMoney(n.refund_amount_cents, n.currency)}</dd>
              <dt className="text-slate-600">Balance left</dt>
              <dd className="tabular-nums">{formatMoney(n.balance_amount_cents, n.currency)}</dd>
              <dt className="text-slate-600">Created</dt>
              <dd>{formatDateTime(n.created_at, tz)}</dd>
            </dl>
            {n.description && <p className="text-sm">{n.description}</p>}
            <Table label="Credit note items" head={["Fee", "Amount"]}>
              {(n.items ?? []).map((item) => (
                <tr key={item.lago_id}>
                  <Td>{feeLabel(item.fee)}</Td>
                  <Td className="text-right tabular-nums">{formatMoney(item.amount_cents, item.amount_currency)}</Td>
                </tr>
              ))}
            </Table>
            {(n.applied_taxes ?? []).length > 0 && (
              <Table label="Credit note taxes" head={["Tax", "Rate", "Amount"]}>
                {(n.applied_taxes ?? []).map((t, i) => (
                  <tr key={t.lago_id ?? i}>
                    <Td>{t.tax_name}</Td>
                    <Td>{t.tax_rate}%</Td>
                    <Td className="text-right tabular-nums">{formatMoney(t.amount_cents, t.amount_currency)}</Td>
                  </tr>
                ))}
              </Table>
            )}
            <div role="status" aria-live="polite" className="text-sm text-green-800">
              {message}
            </div>
            {error && (
              <p role="alert" className="text-sm text-red-700">
                {error}
              </p>
            )}
            <div className="flex gap-2">
              {can("voidCreditNote") && n.credit_status === "available" && n.balance_amount_cents > 0 && (
                <Button variant="danger" disabled={busy} onClick={() => void voidNote()}>
                  Void credit note
                </Button>
              )}
              <Button variant="secondary" onClick={onClose}>
                Close
              </Button>
            </div>
          </div>
        )}
      </Card>
    </section>
  );
}

export default function CreditNotes() {
  const tz = useMe().organization.timezone;
  const [params, setParams] = useSearchParams();
  const selected = params.get("note");
  const [page, setPage] = useState(1);
  const [customer, setCustomer] = useState("");
  const [creditStatus, setCreditStatus] = useState<CreditStatus | "">("");
  const [filters, setFilters] = useState<{ customer: string; creditStatus: CreditStatus | "" }>({ customer: "", creditStatus: "" });
  const list = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/credit_notes", {
          params: {
            query: {
              page,
              per_page: 20,
              ...(filters.customer ? { external_customer_id: filters.customer } : {}),
              ...(filters.creditStatus ? { credit_status: filters.creditStatus } : {}),
            },
          },
        }),
      ),
    [page, filters],
  );
  const select = (id: string | null) => {
    const next = new URLSearchParams(params);
    if (id) next.set("note", id);
    else next.delete("note");
    setParams(next);
  };
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setPage(1);
    setFilters({ customer: customer.trim(), creditStatus });
  };
  return (
    <div>
      <PageHeader title="Credit notes" />
      <form onSubmit={apply} aria-label="Credit note filters" className="mb-4 flex flex-wrap items-end gap-3">
        <Field label="Customer external id" value={customer} onChange={(e) => setCustomer(e.target.value)} />
        <SelectField label="Credit status" value={creditStatus} onChange={(e) => setCreditStatus(e.target.value as CreditStatus | "")}>
          <option value="">Any</option>
          <option value="available">available</option>
          <option value="consumed">consumed</option>
          <option value="voided">voided</option>
        </SelectField>
        <Button type="submit">Apply filters</Button>
      </form>
      {selected && <NoteDetail key={selected} lagoId={selected} onChanged={list.reload} onClose={() => select(null)} />}
      <ErrorNote error={list.error} />
      <Table label="Credit notes" head={["Number", "Invoice", "Customer", "Reason", "Total", "Credit status", "Refund status", "Issued", ""]}>
        {list.data?.credit_notes.map((n) => (
          <tr key={n.lago_id} className={n.lago_id === selected ? "bg-indigo-50" : undefined}>
            <Td>{n.number}</Td>
            <Td>
              <Link to={`/invoices/${n.lago_invoice_id}`} className="text-indigo-800 underline">
                {n.invoice_number}
              </Link>
            </Td>
            <Td>{n.customer?.external_id ?? "—"}</Td>
            <Td>{n.reason.replaceAll("_", " ")}</Td>
            <Td className="text-right tabular-nums">{formatMoney(n.total_amount_cents, n.currency)}</Td>
            <Td>
              <Badge value={n.credit_status} />
            </Td>
            <Td>
              <Badge value={n.refund_status} />
            </Td>
            <Td>{formatDate(n.issuing_date, tz)}</Td>
            <Td>
              <Button variant="secondary" onClick={() => select(n.lago_id)} aria-label={`View ${n.number}`}>
                View
              </Button>
            </Td>
          </tr>
        ))}
      </Table>
      {list.loading && <p className="mt-2 text-sm text-slate-500">Loading…</p>}
      {list.data && list.data.credit_notes.length === 0 && <p className="mt-2 text-sm text-slate-500">No credit notes.</p>}
      <Pager meta={list.data?.meta} onPage={setPage} />
    </div>
  );
}
