// Invoices: filters of GET /api/v1/invoices (status, payment status, customer, issuing
// dates), server paged; each row links to the invoice.
import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { api, unwrap, type Schemas } from "../../api/client";
import { Badge, Td } from "../../components/fin-kit";
import { Button, ErrorNote, Field, PageHeader, Pager, SelectField, Table } from "../../components/ui";
import { formatDate } from "../../lib/dates";
import { formatMoney } from "../../lib/money";
import { useAsync } from "../../lib/useAsync";
import { useMe } from "../session";

type Status = NonNullable<Schemas["InvoiceBaseObject"]["status"]>;
type PaymentStatus = NonNullable<Schemas["InvoiceBaseObject"]["payment_status"]>;
type ListStatus = Exclude<Status, "deleted">;

const STATUSES: ListStatus[] = ["draft", "finalized", "voided", "failed", "pending"];
const PAYMENT_STATUSES: PaymentStatus[] = ["pending", "succeeded", "failed"];

interface Filters {
  status: ListStatus | "";
  payment_status: PaymentStatus | "";
  external_customer_id: string;
  issuing_date_from: string;
  issuing_date_to: string;
}

const EMPTY: Filters = { status: "", payment_status: "", external_customer_id: "", issuing_date_from: "", issuing_date_to: "" };

export default function Invoices() {
  const me = useMe();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [page, setPage] = useState(1);
  const list = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/invoices", {
          params: {
            query: {
              page,
              per_page: 20,
              ...(filters.status ? { status: filters.status } : {}),
              ...(filters.payment_status ? { payment_status: filters.payment_status } : {}),
              ...(filters.external_customer_id.trim() ? { external_customer_id: filters.external_customer_id.trim() } : {}),
              ...(filters.issuing_date_from ? { issuing_date_from: filters.issuing_date_from } : {}),
              ...(filters.issuing_date_to ? { issuing_date_to: filters.issuing_date_to } : {}),
            },
          },
        }),
      ),
    [page, filters],
  );
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setPage(1);
    setFilters({ ...draft });
  };
  const set = (patch: Partial<Filters>) => setDraft((d) => ({ ...d, ...patch }));

  return (
    <div>
      <PageHeader title="Invoices" />
      <form onSubmit={apply} aria-label="Invoice filters" className="mb-4 grid grid-cols-2 items-end gap-3 md:grid-cols-6">
        <SelectField label="Status" value={draft.status} onChange={(e) => set({ status: e.target.value as Filters["status"] })}>
          <option value="">Any</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </SelectField>
        <SelectField
          label="Payment status"
          value={draft.payment_status}
          onChange={(e) => set({ payment_status: e.target.value as Filters["payment_status"] })}
        >
          <option value="">Any</option>
          {PAYMENT_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </SelectField>
        <Field label="Customer external id" value={draft.external_customer_id} onChange={(e) => set({ external_customer_id: e.target.value })} />
        <Field label="Issued from" type="date" value={draft.issuing_date_from} onChange={(e) => set({ issuing_date_from: e.target.value })} />
        <Field label="Issued to" type="date" value={draft.issuing_date_to} onChange={(e) => set({ issuing_date_to: e.target.value })} />
        <div className="flex gap-2">
          <Button type="submit">Apply filters</Button>
          <Button
            variant="secondary"
            onClick={() => {
              setDraft(EMPTY);
              setFilters(EMPTY);
              setPage(1);
            }}
          >
            Clear
          </Button>
        </div>
      </form>
      <ErrorNote error={list.error} />
      <Table label="Invoices" head={["Number", "Customer", "Status", "Payment status", "Total", "Issuing date"]}>
        {list.data?.invoices.map((inv) => (
          <tr key={inv.lago_id}>
            <Td>
              <Link to={`/invoices/${inv.lago_id}`} className="text-indigo-800 underline">
                {inv.number || inv.lago_id}
              </Link>
            </Td>
            <Td>{inv.customer ? `${inv.customer.name ?? ""} (${inv.customer.external_id})` : "—"}</Td>
            <Td>
              <Badge value={inv.status} />
            </Td>
            <Td>
              <Badge value={inv.payment_status} />
              {inv.payment_overdue ? <span className="ml-1 text-xs text-red-700">overdue</span> : null}
            </Td>
            <Td className="text-right tabular-nums">{formatMoney(inv.total_amount_cents, inv.currency)}</Td>
            <Td>{formatDate(inv.issuing_date, me.organization.timezone)}</Td>
          </tr>
        ))}
      </Table>
      {list.loading && <p className="mt-2 text-sm text-slate-500">Loading…</p>}
      {list.data && list.data.invoices.length === 0 && <p className="mt-2 text-sm text-slate-500">No invoices match.</p>}
      <Pager meta={list.data?.meta} onPage={setPage} />
    </div>
  );
}
