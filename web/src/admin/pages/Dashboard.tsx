// The dashboard: per currency (never summed across currencies), MRR, revenue, churn and
// overdue cards, MRR over months and its movements as charts, and the top customers.
// Figures are the API's integer minor units, shown only through formatMoney.
import type { ReactNode } from "react";
import { Link } from "react-router-dom";
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { api, unwrap, type Schemas } from "../../api/client";
import { ErrorNote, PageHeader, Table } from "../../components/ui";
import { formatMoney } from "../../lib/money";
import { formatDate } from "../../lib/dates";
import { useAsync } from "../../lib/useAsync";
import { useMe, useSession } from "../session";
import { formatRate, Loading } from "./common";

type Overview = Schemas["OverviewOut"]["overview"];
type MrrSeries = Schemas["MrrOut"]["mrr"][number];
type Movements = Schemas["MovementsOut"]["mrr_movements"][number];
type Churn = Schemas["ChurnOut"]["churn"][number];
type Top = Schemas["TopCustomersOut"]["top_customers"][number];

/** GET /dashboard/revenue (docs/analytics.md; the OpenAPI document leaves it open). */
interface RevenueSeries {
  currency: string;
  months: {
    month: string;
    recurring_amount_cents: number;
    usage_amount_cents: number;
    one_off_amount_cents: number;
    gross_amount_cents: number;
    credit_notes_amount_cents: number;
    net_amount_cents: number;
    invoices_count: number;
  }[];
}

/** GET /dashboard/overdue (docs/analytics.md). */
interface OverdueBalance {
  currency: string;
  as_of: string;
  amount_cents: number;
  invoices_count: number;
  aging: { bucket: string; amount_cents: number; invoices_count: number }[];
}

interface DashboardData {
  overview: Overview;
  mrr: MrrSeries[];
  movements: Movements[];
  revenue: RevenueSeries[];
  churn: Churn[];
  overdue: OverdueBalance[];
  top: Top[];
}

async function loadDashboard(): Promise<DashboardData> {
  const [overview, mrr, movements, revenue, churn, overdue, top] = await Promise.all([
    unwrap(api.GET("/api/v1/dashboard/overview")),
    unwrap(api.GET("/api/v1/dashboard/mrr")),
    unwrap(api.GET("/api/v1/dashboard/mrr/movements")),
    unwrap(api.GET("/api/v1/dashboard/revenue")),
    unwrap(api.GET("/api/v1/dashboard/churn")),
    unwrap(api.GET("/api/v1/dashboard/overdue")),
    unwrap(api.GET("/api/v1/dashboard/top_customers", { params: { query: { period: "month", limit: 10 } } })),
  ]);
  return {
    overview: overview.overview,
    mrr: mrr.mrr,
    movements: movements.mrr_movements,
    revenue: (revenue as unknown as { revenue?: RevenueSeries[] }).revenue ?? [],
    churn: churn.churn,
    overdue: (overdue as unknown as { overdue?: OverdueBalance[] }).overdue ?? [],
    top: top.top_customers,
  };
}

function currenciesOf(d: DashboardData): string[] {
  const seen = new Set<string>();
  for (const list of [d.overview.currencies, d.mrr, d.movements, d.revenue, d.churn, d.overdue, d.top])
    for (const item of list) seen.add(item.currency);
  return [...seen].sort();
}

const byCurrency = <T extends { currency: string }>(list: T[], currency: string) =>
  list.find((x) => x.currency === currency);

export default function Dashboard() {
  const { can } = useSession();
  const allowed = can("getOverview");
  const data = useAsync(() => (allowed ? loadDashboard() : Promise.resolve(null)), [allowed]);

  if (!allowed)
    return (
      <div>
        <PageHeader title="Dashboard" />
        <p className="text-sm text-slate-600">Your role does not include the dashboards.</p>
      </div>
    );

  return (
    <div className="space-y-6">
      <PageHeader title="Dashboard" />
      <ErrorNote error={data.error} />
      {data.loading && !data.data ? <Loading /> : data.data && <DashboardBody d={data.data} />}
    </div>
  );
}

function StatCard({ label, children }: { label: string; children: ReactNode }) {
  return (
    <section aria-label={label} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <h2 className="mb-2 text-sm font-semibold uppercase tracking-wide text-slate-500">{label}</h2>
      {children}
    </section>
  );
}

function PerCurrency({ rows }: { rows: { currency: string; main: string; sub?: string }[] }) {
  if (rows.length === 0) return <p className="text-sm text-slate-500">Nothing yet.</p>;
  return (
    <ul className="space-y-1">
      {rows.map((r) => (
        <li key={r.currency}>
          <span className="text-xl font-semibold">{r.main}</span>{" "}
          <span className="text-xs text-slate-500">{r.currency}</span>
          {r.sub && <div className="text-xs text-slate-600">{r.sub}</div>}
        </li>
      ))}
    </ul>
  );
}

function DashboardBody({ d }: { d: DashboardData }) {
  const me = useMe();
  const currencies = currenciesOf(d);
  const tz = me.organization.timezone;

  const mrrRows = currencies.map((c) => {
    const ov = byCurrency(d.overview.currencies, c);
    const series = byCurrency(d.mrr, c);
    const cents = ov?.mrr_amount_cents ?? series?.mrr_amount_cents ?? 0;
    const arr = ov?.arr_amount_cents ?? series?.arr_amount_cents;
    return {
      currency: c,
      main: formatMoney(cents, c),
      sub: `ARR ${formatMoney(arr ?? null, c)}${ov ? ` · ${ov.paying_customers} paying` : ""}`,
    };
  });

  const revenueRows = currencies.map((c) => {
    const ov = byCurrency(d.overview.currencies, c);
    const months = byCurrency(d.revenue, c)?.months ?? [];
    const last = months[months.length - 1];
    return {
      currency: c,
      main: formatMoney(ov?.revenue_this_month_amount_cents ?? last?.net_amount_cents ?? 0, c),
      sub: last
        ? `net this month · ${last.invoices_count} invoices · credit notes ${formatMoney(last.credit_notes_amount_cents, c)}`
        : "net this month",
    };
  });

  const churnRows = currencies.flatMap((c) => {
    const months = byCurrency(d.churn, c)?.months ?? [];
    const last = months[months.length - 1];
    if (!last) return [];
    return [
      {
        currency: c,
        main: formatRate(last.logo_churn_rate),
        sub: `logo churn ${last.month.slice(0, 7)} · ${last.churned_customers} of ${last.customers_at_start} customers · revenue churn ${formatRate(last.gross_revenue_churn_rate)} (${formatMoney(last.churned_mrr_amount_cents, c)})`,
      },
    ];
  });

  const overdueRows = currencies.flatMap((c) => {
    const o = byCurrency(d.overdue, c);
    const ov = byCurrency(d.overview.currencies, c);
    if (!o && !ov) return [];
    return [
      {
        currency: c,
        main: formatMoney(o?.amount_cents ?? ov?.overdue_amount_cents ?? 0, c),
        sub: `${o?.invoices_count ?? ov?.overdue_invoices_count ?? 0} invoices overdue${o ? ` on ${formatDate(o.as_of, tz)}` : ""}`,
      },
    ];
  });

  return (
    <>
      <p className="text-sm text-slate-600">
        As of {formatDate(d.overview.as_of, tz)} · {d.overview.customers_count} customers ·{" "}
        {d.overview.subscriptions.active} active, {d.overview.subscriptions.trialing} trialing,{" "}
        {d.overview.subscriptions.paused} paused subscriptions
      </p>
      <div className="grid gap-4 md:grid-cols-2 xl:grid-cols-4">
        <StatCard label="MRR">
          <PerCurrency rows={mrrRows} />
        </StatCard>
        <StatCard label="Revenue">
          <PerCurrency rows={revenueRows} />
        </StatCard>
        <StatCard label="Churn">
          <PerCurrency rows={churnRows} />
        </StatCard>
        <StatCard label="Overdue">
          <PerCurrency rows={overdueRows} />
          {d.overdue.map((o) =>
            o.aging.length > 0 ? (
              <dl key={o.currency} className="mt-2 grid grid-cols-2 gap-x-2 text-xs text-slate-600">
                {o.aging.map((a) => (
                  <div key={a.bucket} className="contents">
                    <dt>
                      {o.currency} {a.bucket.replaceAll("_", " ")}
                    </dt>
                    <dd className="text-right">
                      {formatMoney(a.amount_cents, o.currency)} ({a.invoices_count})
                    </dd>
                  </div>
                ))}
              </dl>
            ) : null,
          )}
        </StatCard>
      </div>
      {currencies.map((c) => (
        <CurrencySection key={c} currency={c} d={d} />
      ))}
    </>
  );
}

function CurrencySection({ currency, d }: { currency: string; d: DashboardData }) {
  const money = (v: unknown) => formatMoney(typeof v === "number" ? v : 0, currency);
  const mrrMonths = (byCurrency(d.mrr, currency)?.months ?? []).map((m) => ({
    month: m.month.slice(0, 7),
    mrr: m.mrr_amount_cents,
  }));
  // Losses are drawn below the axis: the API sends every movement as a positive amount.
  const movementMonths = (byCurrency(d.movements, currency)?.months ?? []).map((m) => ({
    month: m.month.slice(0, 7),
    New: m.new_mrr_amount_cents,
    Expansion: m.expansion_mrr_amount_cents,
    Reactivation: m.reactivation_mrr_amount_cents,
    Contraction: -Math.abs(m.contraction_mrr_amount_cents),
    Churned: -Math.abs(m.churned_mrr_amount_cents),
  }));
  const top = byCurrency(d.top, currency)?.customers ?? [];

  return (
    <section aria-label={`${currency} details`} className="space-y-4">
      <h2 className="text-lg font-semibold">{currency}</h2>
      <div className="grid gap-4 xl:grid-cols-2">
        <figure className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
          <figcaption className="mb-2 text-sm font-semibold">MRR over months ({currency})</figcaption>
          {mrrMonths.length === 0 ? (
            <p className="text-sm text-slate-500">No MRR history yet.</p>
          ) : (
            <div className="h-64" role="img" aria-label={`MRR by month in ${currency}, ${mrrMonths.map((m) => `${m.month}: ${money(m.mrr)}`).join("; ")}`}>
              <ResponsiveContainer width="100%" height="100%">
                <LineChart data={mrrMonths} margin={{ left: 24, right: 8, top: 8 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="month" />
                  <YAxis tickFormatter={money} width={90} />
                  <Tooltip formatter={(v) => money(v)} />
                  <Line type="monotone" dataKey="mrr" name="MRR" stroke="#4338ca" strokeWidth={2} dot={mrrMonths.filter((m) => m.mrr !== 0).length <= 1} />
                </LineChart>
              </ResponsiveContainer>
            </div>
          )}
        </figure>
        <figure className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
          <figcaption className="mb-2 text-sm font-semibold">MRR movements ({currency})</figcaption>
          {movementMonths.length === 0 ? (
            <p className="text-sm text-slate-500">No movements yet.</p>
          ) : (
            <div className="h-64" role="img" aria-label={`MRR movements by month in ${currency}`}>
              <ResponsiveContainer width="100%" height="100%">
                <BarChart data={movementMonths} stackOffset="sign" margin={{ left: 24, right: 8, top: 8 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="month" />
                  <YAxis tickFormatter={money} width={90} />
                  <Tooltip formatter={(v) => money(v)} />
                  <Legend />
                  <ReferenceLine y={0} stroke="#64748b" />
                  <Bar dataKey="New" stackId="m" fill="#16a34a" />
                  <Bar dataKey="Expansion" stackId="m" fill="#4ade80" />
                  <Bar dataKey="Reactivation" stackId="m" fill="#38bdf8" />
                  <Bar dataKey="Contraction" stackId="m" fill="#f59e0b" />
                  <Bar dataKey="Churned" stackId="m" fill="#dc2626" />
                </BarChart>
              </ResponsiveContainer>
            </div>
          )}
          {movementMonths.length > 0 && (
            <details className="mt-2 text-xs">
              <summary className="cursor-pointer">Movements as a table</summary>
              <Table label={`MRR movements ${currency}`} head={["Month", "New", "Expansion", "Reactivation", "Contraction", "Churned", "Net new", "Ending"]}>
                {(byCurrency(d.movements, currency)?.months ?? []).map((m) => (
                  <tr key={m.month} className="border-b border-slate-100">
                    <td className="px-2 py-1">{m.month.slice(0, 7)}</td>
                    <td className="px-2 py-1">{money(m.new_mrr_amount_cents)}</td>
                    <td className="px-2 py-1">{money(m.expansion_mrr_amount_cents)}</td>
                    <td className="px-2 py-1">{money(m.reactivation_mrr_amount_cents)}</td>
                    <td className="px-2 py-1">{money(m.contraction_mrr_amount_cents)}</td>
                    <td className="px-2 py-1">{money(m.churned_mrr_amount_cents)}</td>
                    <td className="px-2 py-1">{money(m.net_new_mrr_amount_cents)}</td>
                    <td className="px-2 py-1">{money(m.ending_mrr_amount_cents)}</td>
                  </tr>
                ))}
              </Table>
            </details>
          )}
        </figure>
      </div>
      <section aria-label={`Top customers ${currency}`} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        <h3 className="mb-2 text-sm font-semibold">Top customers this month ({currency})</h3>
        {top.length === 0 ? (
          <p className="text-sm text-slate-500">No revenue this month yet.</p>
        ) : (
          <Table label={`Top customers ${currency}`} head={["Customer", "External ID", "Net revenue"]}>
            {top.map((t) => (
              <tr key={t.lago_customer_id} className="border-b border-slate-100">
                <td className="px-2 py-1.5">
                  <Link className="text-indigo-800 underline" to={`/customers/${encodeURIComponent(t.external_customer_id)}`}>
                    {t.name || t.external_customer_id}
                  </Link>
                </td>
                <td className="px-2 py-1.5">{t.external_customer_id}</td>
                <td className="px-2 py-1.5">{formatMoney(t.amount_cents, currency)}</td>
              </tr>
            ))}
          </Table>
        )}
      </section>
    </section>
  );
}
