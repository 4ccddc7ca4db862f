import { lazy, Suspense } from "react";
import { Route, Routes } from "react-router-dom";
import { Layout } from "./Layout";
import { SessionProvider, useSession } from "./session";
import { SignIn } from "./SignIn";

// Each page is its own chunk: the first page sends only what it shows.
const Dashboard = lazy(() => import("./pages/Dashboard"));
const Customers = lazy(() => import("./pages/Customers"));
const CustomerDetail = lazy(() => import("./pages/CustomerDetail"));
const Plans = lazy(() => import("./pages/Plans"));
const BillableMetrics = lazy(() => import("./pages/BillableMetrics"));
const Subscriptions = lazy(() => import("./pages/Subscriptions"));
const Invoices = lazy(() => import("./pages/Invoices"));
const InvoiceDetail = lazy(() => import("./pages/InvoiceDetail"));
const Payments = lazy(() => import("./pages/Payments"));
const CreditNotes = lazy(() => import("./pages/CreditNotes"));
const Webhooks = lazy(() => import("./pages/Webhooks"));
const TestClocks = lazy(() => import("./pages/TestClocks"));
const Events = lazy(() => import("./pages/Events"));
const Settings = lazy(() => import("./pages/Settings"));

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
