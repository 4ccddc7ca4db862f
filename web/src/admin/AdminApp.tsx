import { Suspense } from "react";
import { Route, Routes } from "react-router-dom";
import { page } from "../lib/pages";
import { Layout } from "./Layout";
import { SessionProvider, useSession } from "./session";
import { SignIn } from "./SignIn";

// Each page is its own chunk: the first page sends only what it shows.
const Dashboard = page(() => import("./pages/Dashboard"));
const Customers = page(() => import("./pages/Customers"));
const CustomerDetail = page(() => import("./pages/CustomerDetail"));
const Plans = page(() => import("./pages/Plans"));
const BillableMetrics = page(() => import("./pages/BillableMetrics"));
const Subscriptions = page(() => import("./pages/Subscriptions"));
const Invoices = page(() => import("./pages/Invoices"));
const InvoiceDetail = page(() => import("./pages/InvoiceDetail"));
const Payments = page(() => import("./pages/Payments"));
const CreditNotes = page(() => import("./pages/CreditNotes"));
const Webhooks = page(() => import("./pages/Webhooks"));
const TestClocks = page(() => import("./pages/TestClocks"));
const Events = page(() => import("./pages/Events"));
const Settings = page(() => import("./pages/Settings"));

// The page of an address's first segment, to load it before the first render.
const PAGE_BY_SECTION: Record<string, { preload: () => Promise<void> }> = {
  "": Dashboard,
  customers: Customers,
  plans: Plans,
  billable_metrics: BillableMetrics,
  subscriptions: Subscriptions,
  invoices: Invoices,
  payments: Payments,
  credit_notes: CreditNotes,
  webhooks: Webhooks,
  test_clocks: TestClocks,
  events: Events,
  settings: Settings,
};
const DETAIL_PAGE: Record<string, { preload: () => Promise<void> }> = {
  customers: CustomerDetail,
  invoices: InvoiceDetail,
};

/** Load the page of `pathname` before the first render. Other pages load when opened
 * (a navigation is a transition: the current page stays until the next one is there). */
export async function preloadPages(pathname: string): Promise<void> {
  const [section = "", detail] = pathname.split("/").filter(Boolean);
  const current = detail ? DETAIL_PAGE[section] : PAGE_BY_SECTION[section];
  await current?.preload().catch(() => undefined);
}

function Gate() {
  const { me, loading } = useSession();
  if (loading) return <p className="p-6 text-sm text-slate-500">Loading…</p>;
  if (!me) return <SignIn />;
  return (
    <Suspense fallback={<p className="p-6 text-sm text-slate-500">Loading…</p>}>
      <Routes>
        <Route element={<Layout />}>
          <Route index element={<Dashboard />} />
          <Route path="customers" element={<Customers />} />
          <Route path="customers/:externalId" element={<CustomerDetail />} />
          <Route path="plans" element={<Plans />} />
          <Route path="billable_metrics" element={<BillableMetrics />} />
          <Route path="subscriptions" element={<Subscriptions />} />
          <Route path="invoices" element={<Invoices />} />
          <Route path="invoices/:lagoId" element={<InvoiceDetail />} />
          <Route path="payments" element={<Payments />} />
          <Route path="credit_notes" element={<CreditNotes />} />
          <Route path="webhooks" element={<Webhooks />} />
          <Route path="test_clocks" element={<TestClocks />} />
          <Route path="events" element={<Events />} />
          <Route path="settings" element={<Settings />} />
          <Route path="*" element={<p>Not found.</p>} />
        </Route>
      </Routes>
    </Suspense>
  );
}

export default function AdminApp() {
  return (
    <SessionProvider>
      <Gate />
    </SessionProvider>
  );
}
