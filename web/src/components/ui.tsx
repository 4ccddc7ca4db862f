// Small shared building blocks: buttons, fields that show the API's 422 errors beside
// them, a server-paged table's pager, and a page header. Styling is Tailwind's.
import type { ButtonHTMLAttributes, InputHTMLAttributes, ReactNode, SelectHTMLAttributes } from "react";
import { useId } from "react";

export function Button({
  variant = "primary",
  className = "",
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: "primary" | "secondary" | "danger" }) {
  const look = {
    primary: "bg-indigo-700 text-white hover:bg-indigo-800",
    secondary: "border border-slate-300 bg-white text-slate-800 hover:bg-slate-100",
    danger: "bg-red-700 text-white hover:bg-red-800",
  }[variant];
  return (
    <button
      type="button"
      {...props}
      className={`rounded px-3 py-1.5 text-sm font-medium disabled:opacity-50 ${look} ${className}`}
    />
  );
}

/** A labelled input; `errors` are the API's codes for this field (shown beside it). */
export function Field({
  label,
  errors,
  ...props
}: InputHTMLAttributes<HTMLInputElement> & { label: string; errors?: string[] }) {
  const id = useId();
  const errorId = `${id}-error`;
  return (
    <div className="text-sm">
      <label htmlFor={id} className="block font-medium text-slate-700">
        {label}
      </label>
      <input
        id={id}
        aria-invalid={errors && errors.length > 0 ? true : undefined}
        aria-describedby={errors && errors.length > 0 ? errorId : undefined}
        {...props}
        className={`mt-1 w-full rounded border px-2 py-1 ${errors?.length ? "border-red-600" : "border-slate-300"}`}
      />
      {errors && errors.length > 0 && (
        <p id={errorId} className="mt-1 text-xs text-red-700" role="alert">
          {errors.join(", ")}
        </p>
      )}
    </div>
  );
}

export function SelectField({
  label,
  errors,
  children,
  ...props
}: SelectHTMLAttributes<HTMLSelectElement> & { label: string; errors?: string[]; children: ReactNode }) {
  const id = useId();
  return (
    <div className="text-sm">
      <label htmlFor={id} className="block font-medium text-slate-700">
        {label}
      </label>
      <select
        id={id}
        aria-invalid={errors && errors.length > 0 ? true : undefined}
        {...props}
        className="mt-1 w-full rounded border border-slate-300 bg-white px-2 py-1"
      >
        {children}
      </select>
      {errors && errors.length > 0 && (
        <p className="mt-1 text-xs text-red-700" role="alert">
          {errors.join(", ")}
        </p>
      )}
    </div>
  );
}

export function PageHeader({ title, actions }: { title: string; actions?: ReactNode }) {
  return (
    <div className="mb-4 flex items-center justify-between gap-4">
      <h1 className="text-2xl font-semibold">{title}</h1>
      <div className="flex gap-2">{actions}</div>
    </div>
  );
}

/** Lago's pagination meta. */
export interface PageMeta {
  current_page: number;
  next_page?: number | null;
  prev_page?: number | null;
  total_pages: number;
  total_count: number;
}

export function Pager({
  meta,
  onPage,
  label = "Pages",
}: {
  meta: PageMeta | undefined;
  onPage: (page: number) => void;
  label?: string;
}) {
  if (!meta) return null;
  return (
    <nav aria-label={label} className="mt-3 flex items-center gap-3 text-sm">
      <Button variant="secondary" disabled={!meta.prev_page} onClick={() => meta.prev_page && onPage(meta.prev_page)}>
        Previous
      </Button>
      <span>
        Page {meta.current_page} of {Math.max(meta.total_pages, 1)} · {meta.total_count} in all
      </span>
      <Button variant="secondary" disabled={!meta.next_page} onClick={() => meta.next_page && onPage(meta.next_page)}>
        Next
      </Button>
    </nav>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className="rounded border border-red-300 bg-red-50 p-2 text-sm text-red-800">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}

export function Card({ title, children }: { title?: string; children: ReactNode }) {
  return (
    <section className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      {title && <h2 className="mb-2 text-base font-semibold">{title}</h2>}
      {children}
    </section>
  );
}

export function Table({ head, children, label }: { head: string[]; children: ReactNode; label: string }) {
  return (
    <table className="w-full border-collapse bg-white text-sm" aria-label={label}>
      <thead>
        <tr className="border-b border-slate-200 text-left text-slate-600">
          {head.map((h, i) => (
            <th key={h || `column-${i}`} scope="col" className="px-2 py-2 font-medium">
              {h || <span className="sr-only">Actions</span>}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
