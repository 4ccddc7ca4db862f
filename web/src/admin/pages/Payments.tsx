// Payments (server paged, filtered by customer) and a customer's wallets with top-ups.
import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { api, unwrap } from "../../api/client";
import { Badge, Td } from "../../components/fin-kit";
import { Button, Card, ErrorNote, Field, PageHeader, Pager, Table } from "../../components/ui";
import { WalletsSection } from "../../components/wallets";
import { formatDateTime } from "../../lib/dates";
import { formatMoney } from "../../lib/money";
import { useAsync } from "../../lib/useAsync";
import { useMe, useSession } from "../session";

function PaymentsList() {
  const tz = useMe().organization.timezone;
  const [page, setPage] = useState(1);
  const [customer, setCustomer] = useState("");
  const [filter, setFilter] = useState("");
  const list = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/payments", {
          params: { query: { page, per_page: 20, ...(filter ? { external_customer_id: filter } : {}) } },
        }),
      ),
    [page, filter],
  );
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setPage(1);
    setFilter(customer.trim());
  };
  return (
    <div>
      <form onSubmit={apply} aria-label="Payment filters" className="mb-3 flex items-end gap-3">
        <Field label="Customer external id" value={customer} onChange={(e) => setCustomer(e.target.value)} />
        <Button type="submit">Apply filters</Button>
      </form>
      <ErrorNote error={list.error} />
      <Table label="Payments" head={["Created", "Customer", "Invoices", "Type", "Status", "Amount", "Reference"]}>
        {list.data?.payments.map((p) => (
          <tr key={p.lago_id}>
            <Td>{formatDateTime(p.created_at, tz)}</Td>
            <Td>{p.external_customer_id}</Td>
            <Td>
              {p.invoice_ids.map((id, i) => (
                <Link key={id} to={`/invoices/${id}`} className="mr-2 text-indigo-800 underline">
                  {p.invoice_numbers?.[i] ?? id.slice(0, 8)}
                </Link>
              ))}
            </Td>
            <Td>{p.type}</Td>
            <Td>
              <Badge value={p.payment_status} />
            </Td>
            <Td className="text-right tabular-nums">{formatMoney(p.amount_cents, p.amount_currency)}</Td>
            <Td>{p.reference || p.provider_payment_id || "—"}</Td>
          </tr>
        ))}
      </Table>
      {list.loading && <p className="mt-2 text-sm text-slate-500">Loading…</p>}
      {list.data && list.data.payments.length === 0 && <p className="mt-2 text-sm text-slate-500">No payments.</p>}
      <Pager meta={list.data?.meta} onPage={setPage} />
    </div>
  );
}

function Wallets() {
  const [customer, setCustomer] = useState("");
  const [shown, setShown] = useState("");
  return (
    <Card title="Wallets">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setShown(customer.trim());
        }}
        aria-label="Find wallets"
        className="mb-3 flex items-end gap-3"
      >
        <Field label="Wallet customer external id" value={customer} onChange={(e) => setCustomer(e.target.value)} />
        <Button type="submit">Show wallets</Button>
      </form>
      {shown ? <WalletsSection key={shown} externalCustomerId={shown} /> : <p className="text-sm text-slate-500">Enter a customer to see their wallets.</p>}
    </Card>
  );
}

export default function Payments() {
  const { can } = useSession();
  return (
    <div className="space-y-6">
      <PageHeader title="Payments" />
      <PaymentsList />
      {can("findAllWallets") && <Wallets />}
    </div>
  );
}
