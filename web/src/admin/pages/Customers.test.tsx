import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";

import { fetchMock } from "./fetchStub";
import Customers from "./Customers";
import { emptyMeta, json, makeMe, renderPage } from "./testing";

const clock = {
  lago_id: "5f0c1b7e-8f5d-4e4b-9a53-2d0f6a3c1e11",
  name: "rehearsal",
  frozen_time: "2025-03-01T00:00:00Z",
  status: "ready",
  created_at: "2025-01-01T00:00:00Z",
};

function api(allowed: string[], onPost?: (body: unknown) => Response) {
  const posted: unknown[] = [];
  fetchMock.mockImplementation(async (request: Request) => {
    const url = new URL(request.url);
    if (url.pathname === "/api/v1/auth/me") return json(makeMe(allowed));
    if (url.pathname === "/api/v1/customers" && request.method === "GET")
      return json({ customers: [], meta: emptyMeta });
    if (url.pathname === "/api/v1/test_clocks") return json({ test_clocks: [clock], meta: emptyMeta });
    if (url.pathname === "/api/v1/customers" && request.method === "POST") {
      const body: unknown = await request.json();
      posted.push(body);
      return onPost ? onPost(body) : json({}, 500);
    }
    return json({ status: 404, error: "Not Found", code: "not_found" }, 404);
  });
  return posted;
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
});

describe("Customers", () => {
  it("shows a 422 field error beside its field", async () => {
    const posted = api(["findAllCustomers", "createCustomer", "listTestClocks"], () =>
      json(
        {
          status: 422,
          error: "Unprocessable Entity",
          code: "validation_errors",
          error_details: { external_id: ["value_already_exist"] },
        },
        422,
      ),
    );
    renderPage(<Customers />);
    fireEvent.click(await screen.findByRole("button", { name: "New customer" }));
    const dialog = await screen.findByRole("dialog", { name: "New customer" });
    fireEvent.change(within(dialog).getByLabelText("External ID"), { target: { value: "acme" } });
    fireEvent.change(within(dialog).getByLabelText("Name"), { target: { value: "Acme" } });
    fireEvent.change(within(dialog).getByLabelText("Email"), { target: { value: "billing@acme.test" } });
    fireEvent.change(within(dialog).getByLabelText("Currency"), { target: { value: "eur" } });
    // The clock select lists GET /test_clocks; the choice is sent as test_clock_id.
    const clockSelect = within(dialog).getByLabelText("Test clock");
    await within(dialog).findByRole("option", { name: /rehearsal/ });
    fireEvent.change(clockSelect, { target: { value: clock.lago_id } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Create customer" }));

    const externalId = within(dialog).getByLabelText("External ID");
    await waitFor(() => expect(externalId.getAttribute("aria-invalid")).toBe("true"));
    const describedBy = externalId.getAttribute("aria-describedby");
    expect(describedBy).toBeTruthy();
    expect(document.getElementById(describedBy ?? "")?.textContent).toBe("value_already_exist");
    // Only that field is marked; the dialog stays open with what was typed.
    expect(within(dialog).getByLabelText("Name").getAttribute("aria-invalid")).toBeNull();
    expect((externalId as HTMLInputElement).value).toBe("acme");
    expect(posted).toEqual([
      {
        customer: {
          external_id: "acme",
          name: "Acme",
          email: "billing@acme.test",
          currency: "EUR",
          test_clock_id: clock.lago_id,
        },
      },
    ]);
  });

  it("shows no button that changes anything to a member who may only read", async () => {
    api(["findAllCustomers"]);
    renderPage(<Customers />);
    expect(await screen.findByRole("table", { name: "Customers" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "New customer" })).toBeNull();
  });
});
