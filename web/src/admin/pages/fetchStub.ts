// Test only: import this first in a page test. openapi-fetch keeps the fetch and Request
// it finds when the client is created (when ../../api/client is first imported), so both
// are replaced here, before that. Node's Request refuses the client's same-origin
// relative URLs: they are resolved against http://localhost/.
import { vi } from "vitest";

const Base = globalThis.Request;
class SameOriginRequest extends Base {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(typeof input === "string" ? new URL(input, "http://localhost/").href : input, init);
  }
}
globalThis.Request = SameOriginRequest as typeof Request;

export const fetchMock = vi.fn<(request: Request) => Promise<Response>>();
globalThis.fetch = fetchMock as unknown as typeof fetch;
