// The customer portal at /portal: one customer's invoices, usage, plan, wallet and card,
// with the organization's branding. Everything goes through /api/v1/portal with the
// customer's token, which admits that customer only.
import * as Tabs from "@radix-ui/react-tabs";
import { lazy, Suspense, useMemo, useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { Button, Card, ErrorNote, Field, Table } from "../components/ui";
import { formatDate } from "../lib/dates";
import { formatMoney } from "../lib/money";
import { useAsync } from "../lib/useAsync";
import { PortalApi, takeToken } from "./portalApi";
import type {
  PortalInvoice,
  PortalPaymentMethod,
  PortalPlan,
  PortalProfile,
  PortalSubscription,
  PortalWallet,
} from "./types";

const UsageChart = lazy(() => import("./UsageChart"));

export default function PortalApp() {
  const token = useMemo(() => takeToken(), []);
  if (!token) return <Expired />;
  return <Portal api={new PortalApi(token)} />;
}

function Expired() {
  return (
    <main className="mx-auto max-w-lg p-8">
      <h1 className="text-xl font-semibold">This link has expired</h1>
      <p className="mt-2 text-sm">Ask for a new link to your billing portal.</p>
    </main>
  );
}

function Portal({ api }: { api: PortalApi }) {
  const profile = useAsync(() => api.call<{ customer: PortalProfile }>("GET", "/profile"), [api.token]);
  if (profile.error instanceof ApiError && profile.error.status === 401) return <Expired />;
  if (!profile.data) return profile.error ? <ErrorNote error={profile.error} /> : <p className="p-6">Loading…</p>;
  const customer = profile.data.customer;
  const org = customer.organization;
  const brand = org.brand_color ?? "#3730a3";
  return (
    <div className="min-h-screen">
      <header className="flex items-center gap-3 px-6 py-4 text-white" style={{ backgroundColor: brand }}>
        {org.logo_url && <img src={org.logo_url} alt={`${org.name} logo`} className="h-8" />}
        <span className="text-lg font-semibold">{org.name}</span>
        <span className="ml-auto text-sm">{customer.name ?? customer.external_id}</span>
      </header>
      <main className="mx-auto max-w-5xl p-6">
        <h1 className="mb-4 text-2xl font-semibold">Billing</h1>
        <Tabs.Root defaultValue="invoices">
          <Tabs.List aria-label="Portal sections" className="mb-4 flex gap-1 border-b border-slate-200">
            {["invoices", "usage", "plan", "wallet", "payment method"].map((tab) => (
              <Tabs.Trigger
                key={tab}
                value={tab}
                className="px-3 py-2 text-sm capitalize data-[state=active]:border-b-2 data-[state=active]:font-semibold"
                style={{ borderColor: brand }}
              >
                {tab}
              </Tabs.Trigger>
            ))}
          </Tabs.List>
          <Tabs.Content value="invoices">
            <Invoices api={api} timeZone={customer.applicable_timezone} />
          </Tabs.Content>
          <Tabs.Content value="usage">
            <Usage api={api} timeZone={customer.applicable_timezone} />
          </Tabs.Content>
          <Tabs.Content value="plan">
            <Plan api={api} timeZone={customer.applicable_timezone} />
          </Tabs.Content>
          <Tabs.Content value="wallet">
            <Wallet api={api} />
          </Tabs.Content>
          <Tabs.Content value="payment method">
            <PaymentMethod api={api} />
          </Tabs.Content>
        </Tabs.Root>
      </main>
    </div>
  );
}

function Invoices({ api, timeZone }: { api: PortalApi; timeZone: string }) {
  const [page, setPage] = useState(1);
  const list = useAsync(
    () => api.call<{ invoices: PortalInvoice[]; meta: { next_page?: number | null; prev_page?: number | null } }>("GET", `/invoices?page=${page}&per_page=20`),
    [api.token, page],
  );
  return (
    <Card>
      <ErrorNote error={list.error} />
      <Table label="Invoices" head={["Number", "Issued", "Status", "Payment", "Total", ""]}>
        {list.data?.invoices.map((invoice) => (
          <tr key={invoice.lago_id} className="border-b border-slate-100">
            <td className="px-2 py-2">{invoice.number}</td>
            <td className="px-2 py-2">{formatDate(invoice.issuing_date, timeZone)}</td>
            <td className="px-2 py-2">{invoice.status}</td>
            <td className="px-2 py-2">{invoice.payment_status}</td>
            <td className="px-2 py-2">{formatMoney(invoice.total_amount_cents, invoice.currency)}</td>
            <td className="px-2 py-2">
              <a className="text-indigo-800 underline" href={api.link(`/invoices/${invoice.lago_id}/download`)}>
                Download PDF<span className="sr-only"> of {invoice.number}</span>
              </a>
            </td>
          </tr>
        ))}
      </Table>
      {list.data?.invoices.length === 0 && <p className="p-2 text-sm">No invoices yet.</p>}
      <div className="mt-2 flex gap-2">
        <Button variant="secondary" disabled={!list.data?.meta.prev_page} onClick={() => setPage(page - 1)}>
          Previous
        </Button>
        <Button variant="secondary" disabled={!list.data?.meta.next_page} onClick={() => setPage(page + 1)}>
          Next
        </Button>
      </div>
    </Card>
  );
}

function useSubscriptions(api: PortalApi, tick = 0) {
  return useAsync(() => api.call<{ subscriptions: PortalSubscription[] }>("GET", "/subscriptions"), [api.token, tick]);
}

function Usage({ api, timeZone }: { api: PortalApi; timeZone: string }) {
  const subscriptions = useSubscriptions(api);
  return (
    <div className="space-y-4">
      <ErrorNote error={subscriptions.error} />
      {subscriptions.data?.subscriptions
        .filter((s) => s.status === "active")
        .map((s) => <SubscriptionUsage key={s.external_id} api={api} subscription={s} timeZone={timeZone} />)}
    </div>
  );
}

function SubscriptionUsage({ api, subscription, timeZone }: { api: PortalApi; subscription: PortalSubscription; timeZone: string }) {
  const usage = useAsync(
    () => api.call<{ usage: import("./types").PortalUsage }>("GET", `/subscriptions/${encodeURIComponent(subscription.external_id)}/usage/current`),
    [api.token, subscription.external_id],
  );
  const current = usage.data?.usage;
  return (
    <Card title={`Usage of ${subscription.name ?? subscription.plan.code}`}>
      <ErrorNote error={usage.error} />
      {current && (
        <>
          <p className="text-sm">
            {formatDate(current.from_datetime, timeZone)} to {formatDate(current.to_datetime, timeZone)}:{" "}
            <strong>{formatMoney(current.amount_cents, current.currency)}</strong> so far
          </p>
          <Suspense fallback={null}>
            <UsageChart usage={current} />
          </Suspense>
          <Table label={`Usage of ${subscription.external_id}`} head={["Metric", "Units", "Amount"]}>
            {current.charges_usage.map((charge) => (
              <tr key={charge.billable_metric.code} className="border-b border-slate-100">
                <td className="px-2 py-1">{charge.billable_metric.name}</td>
                <td className="px-2 py-1">{charge.units}</td>
                <td className="px-2 py-1">{formatMoney(charge.amount_cents, charge.amount_currency)}</td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </Card>
  );
}

function Plan({ api, timeZone }: { api: PortalApi; timeZone: string }) {
  const [tick, setTick] = useState(0);
  const subscriptions = useSubscriptions(api, tick);
  const plans = useAsync(() => api.call<{ plans: PortalPlan[] }>("GET", "/plans"), [api.token]);
  return (
    <div className="space-y-4">
      <ErrorNote error={subscriptions.error} />
      {subscriptions.data?.subscriptions.map((s) => (
        <SubscriptionPlan
          key={s.external_id}
          api={api}
          subscription={s}
          plans={plans.data?.plans ?? []}
          timeZone={timeZone}
          onChanged={() => setTick((t) => t + 1)}
        />
      ))}
    </div>
  );
}

function SubscriptionPlan({
  api,
  subscription,
  plans,
  timeZone,
  onChanged,
}: {
  api: PortalApi;
  subscription: PortalSubscription;
  plans: PortalPlan[];
  timeZone: string;
  onChanged: () => void;
}) {
  const [planCode, setPlanCode] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const plan = subscription.plan;
  const act = async (path: string, body?: unknown) => {
    setError(null);
    try {
      await api.call("POST", `/subscriptions/${encodeURIComponent(subscription.external_id)}${path}`, body);
      onChanged();
    } catch (e) {
      setError(e);
    }
  };
  const change = (event: FormEvent) => {
    event.preventDefault();
    if (planCode) void act("/plan_change", { subscription: { plan_code: planCode } });
  };
  return (
    <Card title={subscription.name ?? subscription.external_id}>
      <p className="text-sm">
        Plan: <strong>{"name" in plan ? plan.name : plan.code}</strong>
        {"amount_cents" in plan && <> · {formatMoney(plan.amount_cents, plan.amount_currency)} / {plan.interval}</>} · {subscription.status}
      </p>
      {subscription.next_plan_code && <p className="text-sm">Changes to {subscription.next_plan_code} at the end of the period.</p>}
      {subscription.ending_at && <p className="text-sm">Ends on {formatDate(subscription.ending_at, timeZone)}.</p>}
      <ErrorNote error={error} />
      {subscription.status === "active" && (
        <div className="mt-3 flex flex-wrap items-end gap-3">
          <form onSubmit={change} className="flex items-end gap-2">
            <label className="text-sm">
              New plan
              <select value={planCode} onChange={(e) => setPlanCode(e.target.value)} className="ml-2 rounded border border-slate-300 px-2 py-1">
                <option value="">Choose a plan</option>
                {plans
                  .filter((p) => p.code !== plan.code)
                  .map((p) => (
                    <option key={p.code} value={p.code}>
                      {p.name} ({formatMoney(p.amount_cents, p.amount_currency)} / {p.interval})
                    </option>
                  ))}
              </select>
            </label>
            <Button type="submit" disabled={!planCode}>
              Change plan
            </Button>
          </form>
          {!subscription.ending_at &&
            (confirming ? (
              <span className="flex gap-2">
                <Button variant="danger" onClick={() => void act("/cancel")}>
                  Confirm cancellation
                </Button>
                <Button variant="secondary" onClick={() => setConfirming(false)}>
                  Keep subscription
                </Button>
              </span>
            ) : (
              <Button variant="secondary" onClick={() => setConfirming(true)}>
                Cancel subscription
              </Button>
            ))}
        </div>
      )}
    </Card>
  );
}

function Wallet({ api }: { api: PortalApi }) {
  const [tick, setTick] = useState(0);
  const wallet = useAsync(() => api.call<{ wallet: PortalWallet }>("GET", "/wallet"), [api.token, tick]);
  const [credits, setCredits] = useState("");
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [note, setNote] = useState<string | null>(null);
  if (wallet.error instanceof ApiError && wallet.error.status === 404) return <Card>No wallet.</Card>;
  const topUp = async (event: FormEvent) => {
    event.preventDefault();
    setErrors({});
    try {
      // Credits are a decimal string, as the API takes them: never a float.
      await api.call("POST", "/wallet/wallet_transactions", { wallet_transaction: { paid_credits: credits.trim() } }, { "Idempotency-Key": crypto.randomUUID() });
      setNote("Top-up requested: the balance grows when its invoice is paid.");
      setCredits("");
      setTick((t) => t + 1);
    } catch (e) {
      if (e instanceof ApiError) setErrors(e.fieldErrors());
      else throw e;
    }
  };
  const current = wallet.data?.wallet;
  return (
    <Card title="Wallet">
      {current && (
        <p className="text-sm">
          Balance: <strong>{formatMoney(current.balance_cents, current.currency)}</strong> ({current.credits_balance} credits)
        </p>
      )}
      <form onSubmit={topUp} className="mt-3 flex max-w-sm items-end gap-2">
        <Field
          label="Credits to buy"
          inputMode="decimal"
          value={credits}
          onChange={(e) => setCredits(e.target.value)}
          errors={errors["wallet_transaction.paid_credits"] ?? errors["paid_credits"]}
        />
        <Button type="submit" disabled={!credits.trim()}>
          Top up
        </Button>
      </form>
      {note && <p role="status" className="mt-2 text-sm">{note}</p>}
    </Card>
  );
}

function PaymentMethod({ api }: { api: PortalApi }) {
  const method = useAsync(() => api.call<{ payment_method: PortalPaymentMethod | null }>("GET", "/payment_method"), [api.token]);
  const [error, setError] = useState<unknown>(null);
  const addCard = async () => {
    try {
      const answer = await api.call<{ payment_method: { checkout_url: string } }>("POST", "/payment_method/checkout_url");
      window.location.assign(answer.payment_method.checkout_url);
    } catch (e) {
      setError(e);
    }
  };
  const card = method.data?.payment_method;
  return (
    <Card title="Payment method">
      <ErrorNote error={method.error ?? error} />
      {card ? (
        <p className="text-sm">
          {card.brand} ending in {card.last4}, expires {card.exp_month}/{card.exp_year}
        </p>
      ) : (
        method.data && <p className="text-sm">No card on file.</p>
      )}
      <Button className="mt-3" onClick={() => void addCard()}>
        {card ? "Replace card" : "Add a card"}
      </Button>
    </Card>
  );
}
