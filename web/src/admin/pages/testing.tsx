// Test helpers: a fake same-origin API behind globalThis.fetch, and a page rendered in the
// session and router it expects. Install the fetch stub with `vi.hoisted(installFetch)`
// semantics (before ../../api/client is imported: openapi-fetch keeps the fetch and
// Request it finds when the client is created).
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { SessionProvider, useSession, type Me } from "../session";

export function makeMe(allowed: string[], overrides: Partial<Me["organization"]> = {}): Me {
  return {
    member: { lago_id: "m1", email: "ada@example.com", name: "Ada", role: "admin" },
    organization: {
      lago_id: "00000000-0000-0000-0000-00000000000a",
      name: "Acme",
      timezone: "UTC",
      default_currency: "USD",
      ...overrides,
    },
    allowed_operations: allowed,
    temporal_ui: { namespace_url: "http://127.0.0.1:8233/namespaces/default" },
  };
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

export const emptyMeta = { current_page: 1, next_page: null, prev_page: null, total_pages: 1, total_count: 0 };

export function renderPage(element: ReactNode, { path = "/", route = "/" }: { path?: string; route?: string } = {}) {
  return render(
    <MemoryRouter initialEntries={[route]}>
      <SessionProvider>
        <Routes>
          <Route path={path} element={<Signed>{element}</Signed>} />
          <Route path="*" element={<p>Elsewhere</p>} />
        </Routes>
      </SessionProvider>
    </MemoryRouter>,
  );
}

function Signed({ children }: { children: ReactNode }) {
  const { me } = useSession();
  return me ? <>{children}</> : <p>Signing in…</p>;
}
