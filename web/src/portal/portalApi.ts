// Calls of the portal: the customer's portal token as a bearer token, Lago's errors as
// ApiError. The token arrives once in the portal URL (?token=) and is kept for the tab.
import { apiErrorFrom } from "../api/client";

const KEY = "bxb-portal-token";

/** The token from the address (then removed from it, so it is not in the history), or
 * the one this tab already holds. */
export function takeToken(): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get("token");
  if (fromUrl) {
    sessionStorage.setItem(KEY, fromUrl);
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return sessionStorage.getItem(KEY);
}

export class PortalApi {
  constructor(readonly token: string) {}

  async call<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const response = await fetch(`/api/v1/portal${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const data: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) throw apiErrorFrom(data, response);
    return data as T;
  }

  /** A link a browser can follow (the PDF): the token goes as a query parameter. */
  link(path: string): string {
    return `/api/v1/portal${path}?token=${encodeURIComponent(this.token)}`;
  }
}
