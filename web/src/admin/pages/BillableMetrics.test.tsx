import { cleanup, fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

// openapi-fetch keeps the fetch and Request it finds when the client is created: both are
// replaced before the page (and ../../api/client) is imported.
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

import BillableMetrics from "./BillableMetrics";
import { emptyMeta, json, makeMe, renderPage } from "./testing";

function fakeApi(allowed: string[]) {
  const posted: unknown[] = [];
  fetchMock.mockImplementation(async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (path === "/api/v1/auth/me") return json(makeMe(allowed));
    if (path === "/api/v1/billable_metrics" && request.method === "GET") return json({ billable_metrics: [], meta: emptyMeta });
    if (path === "/api/v1/billable_metrics" && request.method === "POST") {
      posted.push(await request.json());
      return json(
        {
          status: 422,
          error: "Unprocessable Entity",
          code: "validation_errors",
          error_details: { "billable_metric.code": ["value_already_exist"], field_name: ["value_is_mandatory"] },
        },
        422,
      );
    }
    return json({ status: 404, error: "Not Found" }, 404);
  });
  return posted;
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
});

describe("BillableMetrics", () => {
  it("creates a metric and shows the 422 errors beside their fields", async () => {
    const posted = fakeApi(["findAllBillableMetrics", "createBillableMetric"]);
    renderPage(<BillableMetrics />);
    fireEvent.click(await screen.findByRole("button", { name: "New billable metric" }));
    const aggregation = screen.getByLabelText("Aggregation") as HTMLSelectElement;
    expect(Array.from(aggregation.options).map((o) => o.value)).toEqual([
      "count_agg",
      "sum_agg",
      "max_agg",
      "unique_count_agg",
      "latest_agg",
      "weighted_sum_agg",
    ]);
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "Storage" } });
    fireEvent.change(screen.getByLabelText("Code"), { target: { value: "storage" } });
    fireEvent.change(aggregation, { target: { value: "sum_agg" } });
    fireEvent.change(screen.getByLabelText("Field name"), { target: { value: "gb" } });
    fireEvent.click(screen.getByLabelText("Recurring"));
    fireEvent.click(screen.getByRole("button", { name: "Create billable metric" }));
    await waitFor(() => expect(posted).toHaveLength(1));
    expect(posted[0]).toEqual({
      billable_metric: { name: "Storage", code: "storage", aggregation_type: "sum_agg", field_name: "gb", recurring: true, description: null },
    });
    await waitFor(() => expect(screen.getByLabelText("Code").getAttribute("aria-invalid")).toBe("true"));
    expect(screen.getByLabelText("Field name").getAttribute("aria-invalid")).toBe("true");
  });

  it("shows no create button without createBillableMetric", async () => {
    fakeApi(["findAllBillableMetrics"]);
    renderPage(<BillableMetrics />);
    await screen.findByText("No billable metrics yet.");
    expect(screen.queryByRole("button", { name: "New billable metric" })).toBeNull();
  });
});
