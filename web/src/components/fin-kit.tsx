// Shared pieces of the catalog, billing and settings pages: 422 errors matched to fields,
// status badges and a small dialog-less form panel (the fields themselves are ui.tsx's).
// Nothing here computes money: amounts go through lib/money.ts.
import type { ReactNode } from "react";
import { useId } from "react";
import { ApiError } from "../api/client";
import { ErrorNote } from "./ui";

/** The 422 field errors of `error` (nothing for any other error), keys without the request's
 * root object: "billable_metric.code" and "code" both become "code". */
export function formErrors(error: unknown, roots: string[] = []): Record<string, string[]> {
  if (!(error instanceof ApiError) || error.status !== 422) return {};
  const out: Record<string, string[]> = {};
  for (const [key, codes] of Object.entries(error.fieldErrors())) {
    let name = key;
    for (const root of roots)
      if (name.startsWith(`${root}.`)) {
        name = name.slice(root.length + 1);
        break;
      }
    out[name] = [...(out[name] ?? []), ...codes];
  }
  return out;
}

/** The errors no field of the form shows (keys not in `shown`), as "key: code" lines. */
export function unmatchedErrors(errors: Record<string, string[]>, shown: Iterable<string>): string[] {
  const known = new Set(shown);
  return Object.entries(errors)
    .filter(([key]) => !known.has(key))
    .map(([key, codes]) => `${key}: ${codes.join(", ")}`);
}

/** A form's error summary: the message of a non-422 error, or the 422 errors that no field
 * shows. */
export function FormErrorNote({ error, unmatched }: { error: unknown; unmatched: string[] }) {
  if (!error) return null;
  if (error instanceof ApiError && error.status === 422) {
    if (unmatched.length === 0) return null;
    return (
      <div role="alert" className="rounded border border-red-300 bg-red-50 p-2 text-sm text-red-800">
        <p>The request was refused:</p>
        <ul className="list-disc pl-5">
          {unmatched.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      </div>
    );
  }
  return <ErrorNote error={error} />;
}

const BADGE: Record<string, string> = {
  succeeded: "bg-green-100 text-green-800",
  finalized: "bg-green-100 text-green-800",
  active: "bg-green-100 text-green-800",
  available: "bg-green-100 text-green-800",
  settled: "bg-green-100 text-green-800",
  pending: "bg-amber-100 text-amber-800",
  processing: "bg-amber-100 text-amber-800",
  draft: "bg-slate-100 text-slate-700",
  failed: "bg-red-100 text-red-800",
  voided: "bg-slate-200 text-slate-700",
  revoked: "bg-slate-200 text-slate-700",
  expired: "bg-slate-200 text-slate-700",
};

export function Badge({ value }: { value: string | null | undefined }) {
  if (!value) return <span className="text-slate-400">—</span>;
  return (
    <span className={`inline-block rounded px-1.5 py-0.5 text-xs font-medium ${BADGE[value] ?? "bg-slate-100 text-slate-700"}`}>
      {value.replaceAll("_", " ")}
    </span>
  );
}

/** A form shown in place (opened by a button): a titled, labelled region. */
export function FormPanel({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <section aria-labelledby={id} className="my-4 rounded-lg border border-indigo-200 bg-white p-4 shadow-sm">
      <h2 id={id} className="mb-3 text-base font-semibold">
        {title}
      </h2>
      {children}
    </section>
  );
}

/** A cell of a table row. */
export function Td({ children, className = "" }: { children: ReactNode; className?: string }) {
  return <td className={`border-b border-slate-100 px-2 py-1.5 align-top ${className}`}>{children}</td>;
}

/** "12.5" and "0" are decimal strings as Lago sends prices; "1e3", "-1", "" are not. */
export function isDecimalString(text: string): boolean {
  return /^\d+(\.\d+)?$/.test(text.trim());
}

/** A whole number typed in a field, or null when empty or not one. */
export function parseWhole(text: string): number | null {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : null;
}

/** Why something went wrong, in a line (for an action's message). */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    const details = Object.entries(error.fieldErrors())
      .map(([k, v]) => `${k}: ${v.join(", ")}`)
      .join("; ");
    return details ? `${error.message} (${details})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
