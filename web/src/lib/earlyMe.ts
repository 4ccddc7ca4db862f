// The operators' app asks who is signed in while its code is still loading: the answer of
// this first request is used by the session (admin/session.tsx) instead of asking again.
const path = window.location.pathname;
const isPortal = path === "/portal" || path.startsWith("/portal/");

// Not under vitest: component tests stub fetch per test, after this module is loaded.
let early: Promise<Response> | null =
  isPortal || import.meta.env.MODE === "test"
  ? null
  : fetch("/api/v1/auth/me", { credentials: "same-origin" });

/** The early answer, once; later calls get null (and ask again themselves). */
export function takeEarlyMe(): Promise<Response> | null {
  const answer = early;
  early = null;
  return answer;
}
