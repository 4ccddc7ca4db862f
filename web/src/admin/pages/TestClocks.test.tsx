import { cleanup, act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { fetchMock } from "./fetchStub";
import TestClocks from "./TestClocks";
import { emptyMeta, json, makeMe, renderPage } from "./testing";

const clock = {
  lago_id: "5f0c1b7e-8f5d-4e4b-9a53-2d0f6a3c1e11",
  name: "rehearsal",
  frozen_time: "2025-03-01T00:00:00Z",
  status: "ready",
  created_at: "2025-01-01T00:00:00Z",
};

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
  vi.useRealTimers();
});

describe("TestClocks", () => {
  it("shows progress while advancing, polls the clock, then shows the new frozen time", async () => {
    let finishAdvance: (r: Response) => void = () => undefined;
    const polls: string[] = [];
    const advanceBodies: unknown[] = [];
    fetchMock.mockImplementation(async (request: Request) => {
      const url = new URL(request.url);
      if (url.pathname === "/api/v1/auth/me")
        return json(makeMe(["listTestClocks", "getTestClock", "advanceTestClock", "createTestClock"], { timezone: "America/New_York" }));
      if (url.pathname === "/api/v1/test_clocks") return json({ test_clocks: [clock], meta: { ...emptyMeta, total_count: 1 } });
      if (url.pathname === `/api/v1/test_clocks/${clock.lago_id}`) {
        polls.push(url.pathname);
        return json({ test_clock: { ...clock, status: "advancing" } });
      }
      if (url.pathname === `/api/v1/test_clocks/${clock.lago_id}/advance`) {
        advanceBodies.push(await request.json());
        return new Promise<Response>((resolve) => {
          finishAdvance = resolve;
        });
      }
      return json({ status: 404, error: "Not Found" }, 404);
    });

    renderPage(<TestClocks />);
    const card = await screen.findByRole("region", { name: "Test clock rehearsal" });
    // Shown in the organization's timezone (New York, 5 hours behind UTC in March).
    expect(within(card).getByText("2025-02-28, 19:00")).toBeTruthy();
    expect(screen.getByRole("button", { name: "New test clock" })).toBeTruthy();

    vi.useFakeTimers({ shouldAdvanceTime: true });
    fireEvent.change(within(card).getByLabelText("Advance to"), { target: { value: "2025-04-01T00:00" } });
    fireEvent.click(within(card).getByRole("button", { name: "Advance clock" }));

    const status = await within(card).findByRole("status");
    expect(status.textContent).toContain("Advancing…");
    await act(async () => {
      await vi.advanceTimersByTimeAsync(2500);
    });
    await waitFor(() => expect(polls.length).toBeGreaterThan(0));
    expect(within(card).getByRole("status").textContent).toContain("advancing");
    expect(advanceBodies).toEqual([{ test_clock: { frozen_time: "2025-04-01T00:00:00Z" } }]);

    await act(async () => {
      finishAdvance(json({ test_clock: { ...clock, frozen_time: "2025-04-01T00:00:00Z", status: "ready" } }));
    });
    await waitFor(() => expect(within(card).getByRole("status").textContent).toContain("Advanced to 2025-03-31, 20:00"));
    expect(within(card).queryByText("Advancing…")).toBeNull();
    expect(within(card).getByText("2025-03-31, 20:00")).toBeTruthy();
  });

  it("shows a read-only member the clocks without any control", async () => {
    fetchMock.mockImplementation(async (request: Request) => {
      const url = new URL(request.url);
      if (url.pathname === "/api/v1/auth/me") return json(makeMe(["listTestClocks", "getTestClock"]));
      if (url.pathname === "/api/v1/test_clocks") return json({ test_clocks: [clock], meta: emptyMeta });
      return json({ status: 404, error: "Not Found" }, 404);
    });
    renderPage(<TestClocks />);
    await screen.findByRole("region", { name: "Test clock rehearsal" });
    expect(screen.queryAllByRole("button").filter((b) => b.closest("nav") === null)).toEqual([]);
    expect(screen.queryByLabelText("Advance to")).toBeNull();
  });
});
