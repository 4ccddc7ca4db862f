import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

// openapi-fetch keeps the fetch and Request it finds when the client is created: both are
// replaced before the page (and ../../api/client) is imported. Node's Request refuses the
// client's same-origin relative URLs, so they are resolved against the page.
const fetchMock = vi.hoisted(() => {
  const Base = globalThis.Request;
  class SameOriginRequest extends Base {
    constructor(input: RequestInfo | URL, init?: RequestInit) {
      super(typeof input === "string" ? new URL(input, "http://localhost/").href : input, init);
    }
  }
  globalThis.Request = SameOriginRequest as typeof Request;
  const mock = vi.fn<(request: Request) => Promise<Response>>();
  globalThis.fetch = mock as unknown as typeof fetch;
  return mock;
});

import Plans from "./Plans";
import { emptyMeta, json, makeMe, renderPage } from "./testing";

const metric = {
  lago_id: "0b6a4c1e-0000-4000-8000-000000000001",
  name: "API calls",
  code: "api_calls",
  aggregation_type: "count_agg",
  recurring: false,
  created_at: "2026-01-01T00:00:00Z",
  field_name: null,
  filters: [],
};

function fakeApi(allowed: string[], onPost: (body: unknown) => Response) {
  const posted: unknown[] = [];
  fetchMock.mockImplementation(async (request: Request) => {
    const url = new URL(request.url);
    if (url.pathname === "/api/v1/auth/me") return json(makeMe(allowed));
    if (url.pathname === "/api/v1/plans" && request.method === "GET") return json({ plans: [], meta: emptyMeta });
    if (url.pathname === "/api/v1/billable_metrics" && request.method === "GET")
      return json({ billable_metrics: [metric], meta: { ...emptyMeta, total_count: 1 } });
    if (url.pathname === "/api/v1/plans" && request.method === "POST") {
      const body: unknown = await request.json();
      posted.push(body);
      return onPost(body);
    }
    return json({ status: 404, error: "Not Found", code: "not_found" }, 404);
  });
  return posted;
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
});

const change = (el: HTMLElement, value: string) => fireEvent.change(el, { target: { value } });

describe("Plans", () => {
  it("sends a graduated charge's tiers as decimal strings and shows a 422 beside Code", async () => {
    const posted = fakeApi(["findAllPlans", "createPlan", "updatePlan", "findAllBillableMetrics"], () =>
      json(
        {
          status: 422,
          error: "Unprocessable Entity",
          code: "validation_errors",
          error_details: { code: ["value_already_exist"] },
        },
        422,
      ),
    );
    renderPage(<Plans />);
    fireEvent.click(await screen.findByRole("button", { name: "New plan" }));

    change(screen.getByLabelText("Name"), "Startup");
    change(screen.getByLabelText("Code"), "startup");
    change(screen.getByLabelText("Base price"), "49.90");
    change(screen.getByLabelText("Trial days"), "14");
    // The metrics have loaded when their option shows in a charge's select.
    await waitFor(() => expect(fetchMock.mock.calls.some(([r]) => new URL(r.url).pathname === "/api/v1/billable_metrics")).toBe(true));
    fireEvent.click(screen.getByRole("button", { name: "Add charge" }));
    const charge = screen.getByRole("group", { name: "Charge 1" });
    await within(charge).findByRole("option", { name: "API calls (api_calls)" });
    change(within(charge).getByLabelText("Billable metric"), metric.lago_id);
    change(within(charge).getByLabelText("Charge model"), "graduated");

    const tier1 = within(charge).getByRole("group", { name: "Tier 1" });
    expect((within(tier1).getByLabelText("From") as HTMLInputElement).value).toBe("0");
    change(within(tier1).getByLabelText("To"), "10");
    change(within(tier1).getByLabelText("Per unit"), "0.05");
    change(within(tier1).getByLabelText("Flat fee"), "1.5");
    fireEvent.click(within(charge).getByRole("button", { name: "Add tier" }));
    const tier2 = within(charge).getByRole("group", { name: "Tier 2" });
    expect((within(tier2).getByLabelText("From") as HTMLInputElement).value).toBe("11");
    change(within(tier2).getByLabelText("Per unit"), "0.01");

    fireEvent.click(screen.getByRole("button", { name: "Create plan" }));
    await waitFor(() => expect(posted).toHaveLength(1));
    const body = posted[0] as { plan: Record<string, unknown> & { charges: { properties: unknown }[] } };
    expect(body.plan).toMatchObject({
      name: "Startup",
      code: "startup",
      interval: "monthly",
      amount_cents: 4990,
      amount_currency: "USD",
      trial_period: 14,
      pay_in_advance: false,
    });
    expect(body.plan.charges).toHaveLength(1);
    expect(body.plan.charges[0]).toMatchObject({ billable_metric_id: metric.lago_id, charge_model: "graduated" });
    expect(body.plan.charges[0]?.properties).toEqual({
      graduated_ranges: [
        { from_value: 0, to_value: 10, per_unit_amount: "0.05", flat_amount: "1.5" },
        { from_value: 11, to_value: null, per_unit_amount: "0.01", flat_amount: "0" },
      ],
    });

    // The 422 shows beside the Code field, described by it.
    const code = screen.getByLabelText("Code");
    await waitFor(() => expect(code.getAttribute("aria-invalid")).toBe("true"));
    const describedBy = code.getAttribute("aria-describedby");
    expect(describedBy).toBeTruthy();
    expect(document.getElementById(describedBy ?? "")?.textContent).toContain("value_already_exist");
    expect(screen.getByLabelText("Name").getAttribute("aria-invalid")).toBeNull();
  });

  it("shows a nested charge error beside its field, and unmatched errors in a note", async () => {
    fakeApi(["findAllPlans", "createPlan", "findAllBillableMetrics"], () =>
      json(
        {
          status: 422,
          error: "Unprocessable Entity",
          code: "validation_errors",
          error_details: { "charges.0.properties.amount": ["invalid_amount"], "usage_thresholds.0.amount_cents": ["value_is_invalid"] },
        },
        422,
      ),
    );
    renderPage(<Plans />);
    fireEvent.click(await screen.findByRole("button", { name: "New plan" }));
    change(screen.getByLabelText("Name"), "P");
    change(screen.getByLabelText("Code"), "p");
    fireEvent.click(screen.getByRole("button", { name: "Add charge" }));
    const charge = screen.getByRole("group", { name: "Charge 1" });
    await within(charge).findByRole("option", { name: "API calls (api_calls)" });
    change(within(charge).getByLabelText("Billable metric"), metric.lago_id);
    change(within(charge).getByLabelText("Amount"), "0.10");
    fireEvent.click(screen.getByRole("button", { name: "Create plan" }));
    const amount = within(charge).getByLabelText("Amount");
    await waitFor(() => expect(amount.getAttribute("aria-invalid")).toBe("true"));
    // An error no field shows is listed in the form's note.
    expect(screen.getByText("usage_thresholds.0.amount_cents: value_is_invalid")).toBeTruthy();
  });

  it("shows no change buttons to a finance viewer", async () => {
    fakeApi(["findAllPlans"], () => json({}, 500));
    renderPage(<Plans />);
    await screen.findByRole("table", { name: "Plans" });
    expect(screen.queryByRole("button", { name: "New plan" })).toBeNull();
  });
});
