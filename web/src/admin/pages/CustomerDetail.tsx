// One customer: details, subscriptions (each with its current usage), invoices, wallets,
// and a timeline of what happened to them (the activity log, newest first); "New
// subscription" for those who may create one.
import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { api, unwrap, type Schemas } from "../../api/client";
import { Dialog } from "../../components/Dialog";
import { Button, Card, ErrorNote, Field, PageHeader, Pager, SelectField, Table } from "../../components/ui";
import { formatDate, formatDateTime } from "../../lib/dates";
import { formatMoney } from "../../lib/money";
import { useAsync } from "../../lib/useAsync";
import { WalletsSection } from "../../components/wallets";
import { useMe, useSession } from "../session";
import { displayName } from "./Customers";
import {
  ALL_SUBSCRIPTION_STATUSES,
  Detail,
  fieldErrors,
  formLevelError,
  Loading,
  pageMeta,
  StatusBadge,
  usePlans,
  type Subscription,
} from "./common";

export default function CustomerDetail() {
  const { externalId = "" } = useParams();
  const { can } = useSession();
  const customer = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/customers/{external_customer_id}", {
          params: { path: { external_customer_id: externalId } },
        }),
      ),
    [externalId],
  );
  const [subsTick, setSubsTick] = useState(0);
  const c = customer.data?.customer;

  return (
    <div className="space-y-5">
      <p className="text-sm">
        <Link className="text-indigo-800 underline" to="/customers">
          ← Customers
        </Link>
      </p>
      <PageHeader
        title={c ? `${displayName(c)} (${c.external_id})` : externalId}
        actions={
          can("createSubscription") &&
          c && <NewSubscription customer={c} onCreated={() => setSubsTick((t) => t + 1)} />
        }
      />
      <ErrorNote error={customer.error} />
      {customer.loading && !c ? <Loading /> : c && <CustomerInfo c={c} />}
      {c && (
        <>
          {can("findAllSubscriptions") && <SubscriptionsSection customer={c} tick={subsTick} />}
          {can("findAllInvoices") && <InvoicesSection externalId={c.external_id} />}
          {can("findAllCustomerWallets") && <WalletsSection externalCustomerId={c.external_id} />}
          {can("findAllActivityLogs") && <Timeline externalId={c.external_id} />}
        </>
      )}
    </div>
  );
}

type Customer = Schemas["CustomerObjectExtended"] & { test_clock_id?: string | null };

function CustomerInfo({ c }: { c: Customer }) {
  const me = useMe();
  const address = [c.address_line1, c.address_line2, c.zipcode, c.city, c.state, c.country].filter(Boolean).join(", ");
  return (
    <Card title="Customer">
      <dl>
        <Detail term="External ID">{c.external_id}</Detail>
        <Detail term="Name">{displayName(c)}</Detail>
        <Detail term="Email">{c.email ?? "—"}</Detail>
        <Detail term="Currency">{c.currency ?? "—"}</Detail>
        <Detail term="Timezone">{c.applicable_timezone}</Detail>
        {address && <Detail term="Address">{address}</Detail>}
        {c.billing_entity_code && <Detail term="Billing entity">{c.billing_entity_code}</Detail>}
        {c.test_clock_id && (
          <Detail term="Test clock">
            <Link className="text-indigo-800 underline" to="/test_clocks">
              {c.test_clock_id}
            </Link>
          </Detail>
        )}
        <Detail term="Created">{formatDateTime(c.created_at, me.organization.timezone)}</Detail>
        <Detail term="Lago ID">{c.lago_id}</Detail>
      </dl>
    </Card>
  );
}

function SubscriptionsSection({ customer, tick }: { customer: Customer; tick: number }) {
  const me = useMe();
  const { can } = useSession();
  const subs = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/subscriptions", {
          params: {
            query: {
              external_customer_id: customer.external_id,
              "status[]": ALL_SUBSCRIPTION_STATUSES,
              per_page: 100,
            },
          },
        }),
      ),
    [customer.external_id, tick],
  );
  const list = (subs.data?.subscriptions ?? []) as Subscription[];
  const tz = me.organization.timezone;
  return (
    <Card title="Subscriptions">
      <ErrorNote error={subs.error} />
      {subs.loading && !subs.data ? (
        <Loading />
      ) : list.length === 0 ? (
        <p className="text-sm text-slate-500">No subscriptions.</p>
      ) : (
        <ul className="space-y-4">
          {list.map((s) => (
            <li key={s.lago_id} className="rounded border border-slate-200 p-3">
              <div className="flex flex-wrap items-center gap-3 text-sm">
                <Link
                  className="font-medium text-indigo-800 underline"
                  to={`/subscriptions?selected=${encodeURIComponent(s.external_id)}`}
                >
                  {s.name || s.external_id}
                </Link>
                <StatusBadge status={s.status} />
                <span>plan {s.plan_code}</span>
                <span>{formatMoney(s.plan_amount_cents, s.plan_amount_currency)}</span>
                {s.current_billing_period_ending_at && (
                  <span className="text-slate-600">
                    period {formatDate(s.current_billing_period_started_at, tz)} –{" "}
                    {formatDate(s.current_billing_period_ending_at, tz)}
                  </span>
                )}
                {s.next_plan_code && (
                  <span className="text-slate-600">
                    → {s.next_plan_code} on {formatDate(s.downgrade_plan_date, tz)}
                  </span>
                )}
              </div>
              {(s.status === "active" || subsIsPaused(s)) && can("findCustomerCurrentUsage") && (
                <CurrentUsage customerId={customer.external_id} subscriptionId={s.external_id} />
              )}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

const subsIsPaused = (s: Subscription) => (s.status as string) === "paused";

function CurrentUsage({ customerId, subscriptionId }: { customerId: string; subscriptionId: string }) {
  const me = useMe();
  const usage = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/customers/{external_customer_id}/current_usage", {
          params: {
            path: { external_customer_id: customerId },
            query: { external_subscription_id: subscriptionId },
          },
        }),
      ),
    [customerId, subscriptionId],
  );
  const u = usage.data?.customer_usage;
  const currency = u?.currency ?? null;
  return (
    <section aria-label={`Current usage of ${subscriptionId}`} className="mt-2">
      <h3 className="text-sm font-semibold">Current usage</h3>
      <ErrorNote error={usage.error} />
      {usage.loading && !u ? (
        <Loading />
      ) : (
        u && (
          <>
            <p className="text-sm text-slate-700">
              {formatDateTime(u.from_datetime, me.organization.timezone)} –{" "}
              {formatDateTime(u.to_datetime, me.organization.timezone)}: {formatMoney(u.amount_cents, currency)}{" "}
              before taxes, {formatMoney(u.total_amount_cents, currency)} with taxes
            </p>
            {u.charges_usage.length > 0 && (
              <Table label={`Usage by charge of ${subscriptionId}`} head={["Metric", "Units", "Events", "Amount"]}>
                {u.charges_usage.map((cu) => (
                  <tr key={cu.charge.lago_id} className="border-b border-slate-100">
                    <td className="px-2 py-1">
                      {cu.charge.invoice_display_name || cu.billable_metric.name} ({cu.billable_metric.code})
                    </td>
                    <td className="px-2 py-1">{cu.units}</td>
                    <td className="px-2 py-1">{cu.events_count}</td>
                    <td className="px-2 py-1">{formatMoney(cu.amount_cents, cu.amount_currency)}</td>
                  </tr>
                ))}
              </Table>
            )}
          </>
        )
      )}
    </section>
  );
}

function InvoicesSection({ externalId }: { externalId: string }) {
  const me = useMe();
  const [page, setPage] = useState(1);
  const invoices = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/invoices", {
          params: { query: { external_customer_id: externalId, page, per_page: 20 } },
        }),
      ),
    [externalId, page],
  );
  const list = invoices.data?.invoices ?? [];
  return (
    <Card title="Invoices">
      <ErrorNote error={invoices.error} />
      {invoices.loading && !invoices.data ? (
        <Loading />
      ) : list.length === 0 ? (
        <p className="text-sm text-slate-500">No invoices.</p>
      ) : (
        <>
          <Table label="Invoices" head={["Number", "Issued", "Type", "Status", "Payment", "Total"]}>
            {list.map((i) => (
              <tr key={i.lago_id} className="border-b border-slate-100">
                <td className="px-2 py-1.5">
                  <Link className="text-indigo-800 underline" to={`/invoices/${i.lago_id}`}>
                    {i.number}
                  </Link>
                </td>
                <td className="px-2 py-1.5">{formatDate(i.issuing_date, me.organization.timezone)}</td>
                <td className="px-2 py-1.5">{i.invoice_type}</td>
                <td className="px-2 py-1.5">
                  <StatusBadge status={i.status} />
                </td>
                <td className="px-2 py-1.5">
                  <StatusBadge status={i.payment_status} />
                  {i.payment_overdue && <span className="ml-1 text-xs text-red-700">overdue</span>}
                </td>
                <td className="px-2 py-1.5">{formatMoney(i.total_amount_cents, i.currency)}</td>
              </tr>
            ))}
          </Table>
          <Pager meta={pageMeta(invoices.data?.meta)} onPage={setPage} label="Invoice pages" />
        </>
      )}
    </Card>
  );
}


function Timeline({ externalId }: { externalId: string }) {
  const me = useMe();
  const [page, setPage] = useState(1);
  const logs = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/activity_logs", {
          params: { query: { external_customer_id: externalId, page, per_page: 25 } },
        }),
      ),
    [externalId, page],
  );
  const list = logs.data?.activity_logs ?? [];
  return (
    <Card title="Timeline">
      <p className="mb-2 text-xs text-slate-500">
        Changes made through the API, this app, the portal and the CLI. What the billing
        workflows do on their own (renewals, dunning, finalizing) is in each subscription's
        Temporal history.
      </p>
      <ErrorNote error={logs.error} />
      {logs.loading && !logs.data ? (
        <Loading />
      ) : list.length === 0 ? (
        <p className="text-sm text-slate-500">Nothing recorded yet.</p>
      ) : (
        <>
          <ol className="space-y-1 text-sm" aria-label="Timeline">
            {list.map((a) => (
              <li key={a.activity_id} className="flex flex-wrap gap-x-3 border-b border-slate-100 py-1">
                <time dateTime={a.logged_at} className="w-40 shrink-0 text-slate-500">
                  {formatDateTime(a.logged_at, me.organization.timezone)}
                </time>
                <span className="font-medium">{a.activity_type}</span>
                {a.external_subscription_id && <span>subscription {a.external_subscription_id}</span>}
                <span className="text-slate-500">
                  by {a.user_email ?? a.activity_source}
                </span>
                {a.activity_object_changes && Object.keys(a.activity_object_changes).length > 0 && (
                  <details className="w-full text-xs">
                    <summary className="cursor-pointer text-slate-600">Changes</summary>
                    <pre className="overflow-x-auto whitespace-pre-wrap bg-slate-50 p-2">
                      {JSON.stringify(a.activity_object_changes, null, 2)}
                    </pre>
                  </details>
                )}
              </li>
            ))}
          </ol>
          <Pager meta={pageMeta(logs.data?.meta)} onPage={setPage} label="Timeline pages" />
        </>
      )}
    </Card>
  );
}

const SUB_FIELDS = ["plan_code", "external_id", "name", "billing_time", "external_customer_id"];

/** "New subscription": a plan (by code), the subscription's external id, and Subscribe. */
function NewSubscription({ customer, onCreated }: { customer: Customer; onCreated: () => void }) {
  const { can } = useSession();
  const [open, setOpen] = useState(false);
  const plans = usePlans(open && can("findAllPlans"));
  const [planCode, setPlanCode] = useState("");
  const [externalId, setExternalId] = useState("");
  const [name, setName] = useState("");
  const [billingTime, setBillingTime] = useState<"calendar" | "anniversary">("calendar");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await unwrap(
        api.POST("/api/v1/subscriptions", {
          body: {
            subscription: {
              external_customer_id: customer.external_id,
              plan_code: planCode,
              external_id: externalId.trim(),
              name: name.trim() || null,
              billing_time: billingTime,
            },
          },
        }),
      );
      setOpen(false);
      setPlanCode("");
      setExternalId("");
      setName("");
      onCreated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="New subscription" open={open} onOpenChange={setOpen} trigger={<Button>New subscription</Button>}>
      <form onSubmit={submit} className="space-y-3" aria-label="New subscription">
        <ErrorNote error={formLevelError(error, SUB_FIELDS, "subscription")} />
        <ErrorNote error={plans.error} />
        <SelectField
          label="Plan"
          required
          value={planCode}
          onChange={(e) => setPlanCode(e.target.value)}
          errors={fieldErrors(error, "plan_code", "subscription")}
        >
          <option value="">Choose a plan…</option>
          {(plans.data ?? []).map((p) => (
            <option key={p.code} value={p.code}>
              {p.name} ({p.code}) · {formatMoney(p.amount_cents, p.amount_currency)} {p.interval}
            </option>
          ))}
        </SelectField>
        <Field
          label="External subscription ID"
          required
          value={externalId}
          onChange={(e) => setExternalId(e.target.value)}
          errors={fieldErrors(error, "external_id", "subscription")}
        />
        <Field
          label="Subscription name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          errors={fieldErrors(error, "name", "subscription")}
        />
        <SelectField
          label="Billing time"
          value={billingTime}
          onChange={(e) => setBillingTime(e.target.value === "anniversary" ? "anniversary" : "calendar")}
          errors={fieldErrors(error, "billing_time", "subscription")}
        >
          <option value="calendar">Calendar</option>
          <option value="anniversary">Anniversary</option>
        </SelectField>
        <div className="flex justify-end">
          <Button type="submit" disabled={busy} aria-busy={busy || undefined}>
            Subscribe
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
