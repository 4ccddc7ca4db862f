// Helpers shared by the admin pages: UTC datetime-local inputs, the API's 422 errors per
// field, Lago's pagination meta, status badges and the Temporal UI link.
import type { ReactNode } from "react";
import { api, ApiError, unwrap, type Schemas } from "../../api/client";
import { useAsync } from "../../lib/useAsync";
import { formErrors, unmatchedErrors } from "../../components/fin-kit";
import type { PageMeta } from "../../components/ui";

/** "2026-03-01T09:30" (a datetime-local value read as UTC) -> "2026-03-01T09:30:00Z". */
export function utcInputToIso(value: string): string {
  const v = value.trim();
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(v)) return `${v}:00Z`;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(v)) return `${v}Z`;
  return v;
}

/** An ISO instant -> the datetime-local value of it in UTC ("2026-03-01T09:30"). */
export function isoToUtcInput(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toISOString().slice(0, 16);
}

/** The 422's messages for one field (Lago's keys, with or without the root object). */
export function fieldErrors(error: unknown, field: string, root?: string): string[] | undefined {
  const found = formErrors(error, root ? [root] : [])[field];
  return found && found.length > 0 ? found : undefined;
}

/** The error to show above a form: anything but a 422 whose fields are all shown beside
 * their inputs. */
export function formLevelError(error: unknown, shownFields: string[], root?: string): unknown {
  if (!error) return null;
  if (!(error instanceof ApiError) || error.status !== 422) return error;
  const errors = formErrors(error, root ? [root] : []);
  const rest = unmatchedErrors(errors, shownFields);
  if (rest.length > 0) return new Error(rest.join("; "));
  return Object.keys(errors).length > 0 ? null : error;
}

/** Lago's pagination meta as the Pager takes it. */
export function pageMeta(meta: Schemas["PaginationMeta"] | undefined): PageMeta | undefined {
  if (!meta) return undefined;
  return {
    current_page: meta.current_page,
    next_page: meta.next_page ?? null,
    prev_page: meta.prev_page ?? null,
    total_pages: meta.total_pages,
    total_count: meta.total_count,
  };
}

const BADGE: Record<string, string> = {
  active: "bg-green-100 text-green-800",
  ready: "bg-green-100 text-green-800",
  finalized: "bg-green-100 text-green-800",
  succeeded: "bg-green-100 text-green-800",
  paused: "bg-amber-100 text-amber-800",
  advancing: "bg-amber-100 text-amber-800",
  pending: "bg-sky-100 text-sky-800",
  draft: "bg-sky-100 text-sky-800",
  failed: "bg-red-100 text-red-800",
  terminated: "bg-slate-200 text-slate-700",
  canceled: "bg-slate-200 text-slate-700",
  voided: "bg-slate-200 text-slate-700",
};

export function StatusBadge({ status }: { status: string | null | undefined }) {
  if (!status) return <span>—</span>;
  return (
    <span className={`inline-block rounded px-1.5 py-0.5 text-xs font-medium ${BADGE[status] ?? "bg-slate-100 text-slate-700"}`}>
      {status}
    </span>
  );
}


/** A subscription's workflow id (bxb/workflows/subscription.py: workflow_id). */
export function subscriptionWorkflowId(organizationId: string, externalId: string): string {
  return `subscription/${organizationId}/${externalId}`;
}

/** The workflow's page in the Temporal UI whose namespace page /auth/me gives (null when
 * bxb runs against a Temporal server whose UI address is not configured). */
export function temporalWorkflowUrl(namespaceUrl: string | null | undefined, workflowId: string): string | null {
  return namespaceUrl ? `${namespaceUrl}/workflows/${encodeURIComponent(workflowId)}` : null;
}

/** A definition list row. */
export function Detail({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="flex gap-2 py-0.5 text-sm">
      <dt className="w-44 shrink-0 text-slate-500">{term}</dt>
      <dd className="min-w-0 break-words">{children}</dd>
    </div>
  );
}

/** A decimal rate string ("0.2168") as a percentage ("21.68 %"). */
export function formatRate(rate: string | null | undefined): string {
  if (rate === null || rate === undefined || rate === "") return "—";
  const n = Number(rate);
  if (!Number.isFinite(n)) return rate;
  return `${(n * 100).toFixed(2)} %`;
}

export function Loading() {
  return <p className="text-sm text-slate-500">Loading…</p>;
}

/** The organization's plans for a select (by code), loaded when `enabled`. */
export function usePlans(enabled: boolean) {
  return useAsync(async () => {
    if (!enabled) return [] as Schemas["PlanObject"][];
    const data = await unwrap(api.GET("/api/v1/plans", { params: { query: { per_page: 100 } } }));
    return data.plans;
  }, [enabled]);
}

/** Every status a subscription list should show (Lago's default is active only). */
export const ALL_SUBSCRIPTION_STATUSES = ["active", "paused", "pending", "terminated", "canceled"];

/** bxb's pause fields, in the answers but not (yet) in the OpenAPI document's
 * SubscriptionObject; "paused" is a status bxb adds to Lago's. */
export type Subscription = Schemas["SubscriptionObject"] & {
  paused_at?: string | null;
  resume_at?: string | null;
  scheduled_pause_at?: string | null;
};

export function subscriptionStatus(s: Subscription): string {
  return s.status as string;
}
