// Customers: a search box (the list's `search_term`), a server-paged table and, for those
// who may create one, the "New customer" form (optionally on a test clock).
import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { api, unwrap, type Schemas } from "../../api/client";
import { Dialog } from "../../components/Dialog";
import { Button, ErrorNote, Field, PageHeader, Pager, SelectField, Table } from "../../components/ui";
import { formatDateTime } from "../../lib/dates";
import { useAsync } from "../../lib/useAsync";
import { useMe, useSession } from "../session";
import { fieldErrors, formLevelError, Loading, pageMeta } from "./common";

const PER_PAGE = 25;

type TestClock = { lago_id: string; name: string; frozen_time: string; status: string };

export default function Customers() {
  const { can } = useSession();
  const me = useMe();
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const page = Number(params.get("page") ?? "1") || 1;
  const [draft, setDraft] = useState(q);

  const list = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/customers", {
          params: { query: { search_term: q || undefined, page, per_page: PER_PAGE } },
        }),
      ),
    [q, page],
  );

  const search = (e: FormEvent) => {
    e.preventDefault();
    const next = new URLSearchParams();
    if (draft.trim()) next.set("q", draft.trim());
    setParams(next);
  };

  const goTo = (p: number) => {
    const next = new URLSearchParams(params);
    next.set("page", String(p));
    setParams(next);
  };

  return (
    <div className="space-y-4">
      <PageHeader title="Customers" actions={can("createCustomer") && <NewCustomer />} />
      <form role="search" aria-label="Customers" onSubmit={search} className="flex items-end gap-2">
        <div className="w-80">
          <Field
            label="Search customers"
            type="search"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            placeholder="External ID, name, email…"
          />
        </div>
        <Button type="submit" variant="secondary">
          Search
        </Button>
      </form>
      <ErrorNote error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : (
        <>
          <Table label="Customers" head={["External ID", "Name", "Email", "Currency", "Created"]}>
            {(list.data?.customers ?? []).map((c) => (
              <tr key={c.lago_id} className="border-b border-slate-100">
                <td className="px-2 py-1.5">
                  <Link className="text-indigo-800 underline" to={`/customers/${encodeURIComponent(c.external_id)}`}>
                    {c.external_id}
                  </Link>
                </td>
                <td className="px-2 py-1.5">{displayName(c)}</td>
                <td className="px-2 py-1.5">{c.email ?? "—"}</td>
                <td className="px-2 py-1.5">{c.currency ?? "—"}</td>
                <td className="px-2 py-1.5">{formatDateTime(c.created_at, me.organization.timezone)}</td>
              </tr>
            ))}
          </Table>
          {list.data && list.data.customers.length === 0 && (
            <p className="text-sm text-slate-500">{q ? `No customer matches “${q}”.` : "No customers yet."}</p>
          )}
          <Pager meta={pageMeta(list.data?.meta)} onPage={goTo} />
        </>
      )}
    </div>
  );
}

export function displayName(c: { name?: string | null; firstname?: string | null; lastname?: string | null }) {
  const person = [c.firstname, c.lastname].filter(Boolean).join(" ");
  return c.name || person || "—";
}

const FIELDS = ["external_id", "name", "email", "currency", "test_clock_id"];

/** The "New customer" button and its form. */
export function NewCustomer() {
  const { can } = useSession();
  const me = useMe();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [externalId, setExternalId] = useState("");
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [currency, setCurrency] = useState(me.organization.default_currency ?? "");
  const [clockId, setClockId] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const showClocks = can("listTestClocks");

  const clocks = useAsync(async () => {
    if (!open || !showClocks) return [] as TestClock[];
    const data = await unwrap(api.GET("/api/v1/test_clocks", { params: { query: { per_page: 100 } } }));
    return ((data as unknown as { test_clocks?: TestClock[] }).test_clocks ?? []) as TestClock[];
  }, [open, showClocks]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const customer: Schemas["CustomerIn"] = {
        external_id: externalId.trim(),
        name: name.trim() || null,
        email: email.trim() || null,
        currency: currency.trim().toUpperCase() || null,
        test_clock_id: clockId || null,
      };
      const data = await unwrap(api.POST("/api/v1/customers", { body: { customer } }));
      setOpen(false);
      navigate(`/customers/${encodeURIComponent(data.customer.external_id)}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      title="New customer"
      open={open}
      onOpenChange={setOpen}
      trigger={<Button>New customer</Button>}
    >
      <form onSubmit={submit} className="space-y-3" aria-label="New customer">
        <ErrorNote error={formLevelError(error, FIELDS, "customer")} />
        <Field
          label="External ID"
          required
          value={externalId}
          onChange={(e) => setExternalId(e.target.value)}
          errors={fieldErrors(error, "external_id", "customer")}
        />
        <Field
          label="Name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          errors={fieldErrors(error, "name", "customer")}
        />
        <Field
          label="Email"
          type="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          errors={fieldErrors(error, "email", "customer")}
        />
        <Field
          label="Currency"
          value={currency}
          maxLength={3}
          onChange={(e) => setCurrency(e.target.value)}
          errors={fieldErrors(error, "currency", "customer")}
        />
        {showClocks && (
          <SelectField
            label="Test clock"
            value={clockId}
            onChange={(e) => setClockId(e.target.value)}
            errors={fieldErrors(error, "test_clock_id", "customer")}
          >
            <option value="">None (wall clock)</option>
            {(clocks.data ?? []).map((c) => (
              <option key={c.lago_id} value={c.lago_id}>
                {c.name} ({formatDateTime(c.frozen_time, me.organization.timezone)})
              </option>
            ))}
          </SelectField>
        )}
        <div className="flex justify-end">
          <Button type="submit" disabled={busy} aria-busy={busy || undefined}>
            Create customer
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
