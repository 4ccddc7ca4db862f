import { cleanup, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";

import { fetchMock } from "./fetchStub";
import Dashboard from "./Dashboard";
import { json, makeMe, renderPage } from "./testing";

// recharts' ResponsiveContainer watches its size; jsdom has no ResizeObserver.
globalThis.ResizeObserver ??= class {
  observe() {}
  unobserve() {}
  disconnect() {}
} as unknown as typeof ResizeObserver;

const month = (m: string, mrr: number) => ({ month: m, mrr_amount_cents: mrr, arr_amount_cents: mrr * 12, paying_customers: 2 });
const mv = (m: string) => ({
  month: m,
  starting_mrr_amount_cents: 0,
  new_mrr_amount_cents: 5000,
  expansion_mrr_amount_cents: 0,
  contraction_mrr_amount_cents: 0,
  churned_mrr_amount_cents: 1000,
  reactivation_mrr_amount_cents: 0,
  net_new_mrr_amount_cents: 4000,
  ending_mrr_amount_cents: 4000,
  new_customers: 1,
  churned_customers: 0,
  reactivated_customers: 0,
});

const ANSWERS: Record<string, unknown> = {
  "/api/v1/dashboard/overview": {
    overview: {
      as_of: "2026-03-15",
      customers_count: 3,
      subscriptions: { active: 2, trialing: 0, paused: 1 },
      currencies: [
        {
          currency: "USD",
          mrr_amount_cents: 123456,
          arr_amount_cents: 1481472,
          paying_customers: 2,
          revenue_this_month_amount_cents: 99900,
          overdue_amount_cents: 5000,
          overdue_invoices_count: 1,
          sparklines: { months: [], mrr_amount_cents: [], revenue_amount_cents: [] },
        },
        {
          currency: "EUR",
          mrr_amount_cents: 1999,
          arr_amount_cents: 23988,
          paying_customers: 1,
          revenue_this_month_amount_cents: 0,
          overdue_amount_cents: 0,
          overdue_invoices_count: 0,
          sparklines: { months: [], mrr_amount_cents: [], revenue_amount_cents: [] },
        },
      ],
    },
  },
  "/api/v1/dashboard/mrr": {
    mrr: [{ currency: "USD", mrr_amount_cents: 123456, arr_amount_cents: 1481472, months: [month("2026-02-01", 100000), month("2026-03-01", 123456)] }],
  },
  "/api/v1/dashboard/mrr/movements": { mrr_movements: [{ currency: "USD", months: [mv("2026-03-01")] }] },
  "/api/v1/dashboard/revenue": { revenue: [] },
  "/api/v1/dashboard/churn": { churn: [] },
  "/api/v1/dashboard/overdue": {
    overdue: [{ currency: "USD", as_of: "2026-03-15", amount_cents: 5000, invoices_count: 1, aging: [{ bucket: "1_30", amount_cents: 5000, invoices_count: 1 }] }],
  },
  "/api/v1/dashboard/top_customers": {
    top_customers: [{ currency: "USD", customers: [{ lago_customer_id: "c1", external_customer_id: "acme", name: "Acme", amount_cents: 99900 }] }],
  },
};

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
});

describe("Dashboard", () => {
  it("shows the current MRR of each currency in the MRR card, and the top customers", async () => {
    fetchMock.mockImplementation(async (request: Request) => {
      const url = new URL(request.url);
      if (url.pathname === "/api/v1/auth/me") return json(makeMe(["getOverview"]));
      const answer = ANSWERS[url.pathname];
      return answer ? json(answer) : json({ status: 404, error: "Not Found" }, 404);
    });
    renderPage(<Dashboard />);
    const mrr = await screen.findByRole("region", { name: "MRR" });
    expect(within(mrr).getByRole("heading").textContent).toContain("MRR");
    expect(within(mrr).getByText("$1,234.56")).toBeTruthy();
    expect(within(mrr).getByText("€19.99")).toBeTruthy();
    const overdue = screen.getByRole("region", { name: "Overdue" });
    expect(within(overdue).getByText("$50.00")).toBeTruthy();
    const top = screen.getByRole("table", { name: "Top customers USD" });
    expect(within(top).getByRole("link", { name: "Acme" }).getAttribute("href")).toBe("/customers/acme");
    expect(within(top).getByText("$999.00")).toBeTruthy();
  });
});
