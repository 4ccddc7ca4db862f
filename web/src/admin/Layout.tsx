import { NavLink, Outlet } from "react-router-dom";
import { useSession } from "./session";

const NAV: [string, string][] = [
  ["/", "Dashboard"],
  ["/customers", "Customers"],
  ["/plans", "Plans"],
  ["/billable_metrics", "Billable metrics"],
  ["/subscriptions", "Subscriptions"],
  ["/invoices", "Invoices"],
  ["/payments", "Payments"],
  ["/credit_notes", "Credit notes"],
  ["/webhooks", "Webhooks"],
  ["/test_clocks", "Test clocks"],
  ["/events", "Events"],
  ["/settings", "Settings"],
];

export function Layout() {
  const { me, signOut } = useSession();
  return (
    <div className="flex min-h-screen">
      <nav aria-label="Main" className="w-52 shrink-0 border-r border-slate-200 bg-white p-3">
        <div className="mb-4 px-2 text-lg font-bold text-indigo-800">bxb</div>
        <ul className="space-y-0.5">
          {NAV.map(([to, label]) => (
            <li key={to}>
              <NavLink
                to={to}
                end={to === "/"}
                className={({ isActive }) =>
                  `block rounded px-2 py-1 text-sm ${isActive ? "bg-indigo-50 font-semibold text-indigo-800" : "text-slate-700 hover:bg-slate-100"}`
                }
              >
                {label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <div className="flex-1">
        <header className="flex items-center justify-end gap-3 border-b border-slate-200 bg-white px-6 py-2 text-sm">
          <span>
            {me?.organization.name} · {me?.member.email} ({me?.member.role})
          </span>
          <button type="button" className="text-indigo-800 underline" onClick={() => void signOut()}>
            Sign out
          </button>
        </header>
        <main className="p-6">
          <Outlet />
        </main>
      </div>
    </div>
  );
}
