import { cleanup, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";

import { fetchMock } from "./fetchStub";
import Events from "./Events";
import Subscriptions from "./Subscriptions";
import { emptyMeta, json, makeMe, renderPage } from "./testing";

const sub = {
  lago_id: "11111111-1111-1111-1111-111111111111",
  external_id: "acme-pro",
  lago_customer_id: "22222222-2222-2222-2222-222222222222",
  external_customer_id: "acme",
  billing_time: "calendar",
  name: null,
  plan_code: "pro",
  plan_amount_cents: 4900,
  plan_amount_currency: "USD",
  status: "active",
  created_at: "2026-01-01T00:00:00Z",
  started_at: "2026-01-01T00:00:00Z",
  subscription_at: "2026-01-01T00:00:00Z",
  current_billing_period_started_at: "2026-03-01T00:00:00Z",
  current_billing_period_ending_at: "2026-03-31T23:59:59Z",
  paused_at: null,
  resume_at: null,
  scheduled_pause_at: null,
};

function serve(allowed: string[], seen: URL[] = []) {
  fetchMock.mockImplementation(async (request: Request) => {
    const url = new URL(request.url);
    seen.push(url);
    if (url.pathname === "/api/v1/auth/me") return json(makeMe(allowed));
    if (url.pathname === "/api/v1/subscriptions") return json({ subscriptions: [sub], meta: { ...emptyMeta, total_count: 1 } });
    if (url.pathname === "/api/v1/subscriptions/acme-pro") return json({ subscription: sub });
    if (url.pathname === "/api/v1/plans") return json({ plans: [], meta: emptyMeta });
    if (url.pathname === "/api/v1/events") return json({ events: [], meta: emptyMeta });
    if (url.pathname === "/api/v1/api_logs")
      return json({
        api_logs: [
          {
            api_version: "v1",
            client: "curl/8",
            http_method: "post",
            http_status: 422,
            logged_at: "2026-03-01T10:00:00Z",
            request_body: "",
            request_origin: "",
            request_path: "/events",
            created_at: "2026-03-01T10:00:00Z",
            request_id: "33333333-3333-3333-3333-333333333333",
            request_response: "",
          },
        ],
        meta: { ...emptyMeta, total_count: 1 },
      });
    return json({ status: 404, error: "Not Found" }, 404);
  });
  return seen;
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
});

describe("Subscriptions", () => {
  it("shows the live state, the workflow link and every action the role allows", async () => {
    serve([
      "findAllSubscriptions",
      "findSubscription",
      "createSubscription",
      "updateSubscription",
      "pauseSubscription",
      "resumeSubscription",
      "destroySubscription",
      "findAllPlans",
    ]);
    renderPage(<Subscriptions />, { path: "/subscriptions", route: "/subscriptions?selected=acme-pro" });
    const link = await screen.findByRole("link", { name: "subscription/00000000-0000-0000-0000-00000000000a/acme-pro" });
    expect(link.getAttribute("href")).toBe(
      "http://127.0.0.1:8233/namespaces/default/workflows/subscription%2F00000000-0000-0000-0000-00000000000a%2Facme-pro",
    );
    for (const name of ["Change plan", "Save subscription", "Pause subscription", "Terminate subscription"])
      expect(screen.getByRole("button", { name })).toBeTruthy();
    // Resume is offered only to a paused subscription.
    expect(screen.queryByRole("button", { name: "Resume subscription" })).toBeNull();
  });

  it("shows a member who may only read no button that changes anything", async () => {
    serve(["findAllSubscriptions", "findSubscription"]);
    renderPage(<Subscriptions />, { path: "/subscriptions", route: "/subscriptions?selected=acme-pro" });
    await screen.findByRole("link", { name: /^subscription\// });
    const names = screen.getAllByRole("button").map((b) => b.textContent);
    expect(names.sort()).toEqual(["Filter", "Next", "Previous", "Refresh state"]);
  });
});

describe("Events", () => {
  it("lists rejected event posts from the API log", async () => {
    const seen = serve(["findAllEvents", "findAllApiLogs"]);
    renderPage(<Events />);
    const tab = await screen.findByRole("tab", { name: "Rejected events" });
    // Radix tabs switch on mouse down (and on keyboard focus).
    tab.dispatchEvent(new MouseEvent("mousedown", { bubbles: true, button: 0 }));
    const table = await screen.findByRole("table", { name: "Rejected events" });
    expect(within(table).getByText("422")).toBeTruthy();
    const logs = seen.find((u) => u.pathname === "/api/v1/api_logs");
    expect(logs?.searchParams.get("request_paths")).toBe("/events");
    expect(logs?.searchParams.getAll("http_methods[]")).toEqual(["post"]);
    expect(logs?.searchParams.getAll("http_statuses[]")).toContain("422");
  });
});
