// Small shared building blocks: buttons, fields that show the API's 422 errors beside
// them, a server-paged table's pager, and a page header. Styling is Tailwind's.
import type {
  ButtonHTMLAttributes,
  InputHTMLAttributes,
  ReactNode,
  SelectHTMLAttributes,
  TextareaHTMLAttributes,
} from "react";
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

/** A field's ids and the attributes that tie its control to its errors (screen readers
 * read the errors with the control). */
function useFieldErrors(errors: string[] | undefined) {
  const id = useId();
  const errorId = `${id}-error`;
  const invalid = errors !== undefined && errors.length > 0;
  return {
    id,
    invalid,
    control: {
      id,
      "aria-invalid": invalid ? true : undefined,
      "aria-describedby": invalid ? errorId : undefined,
    },
    message: invalid ? (
      <p id={errorId} className="mt-1 text-xs text-red-700" role="alert">
        {errors.join(", ")}
      </p>
    ) : null,
  };
}

type Labelled = { label: string; errors?: string[] };

function FieldLabel({ htmlFor, label }: { htmlFor: string; label: string }) {
  return (
    <label htmlFor={htmlFor} className="block font-medium text-slate-700">
      {label}
    </label>
  );
}

/** A labelled input; `errors` are the API's codes for this field (shown beside it). */
export function Field({ label, errors, ...props }: InputHTMLAttributes<HTMLInputElement> & Labelled) {
  const field = useFieldErrors(errors);
  return (
    <div className="text-sm">
      <FieldLabel htmlFor={field.id} label={label} />
      <input
        {...field.control}
        {...props}
        className={`mt-1 w-full rounded border px-2 py-1 ${field.invalid ? "border-red-600" : "border-slate-300"}`}
      />
      {field.message}
    </div>
  );
}

export function SelectField({
  label,
  errors,
  children,
  ...props
}: SelectHTMLAttributes<HTMLSelectElement> & Labelled & { children: ReactNode }) {
  const field = useFieldErrors(errors);
  return (
    <div className="text-sm">
      <FieldLabel htmlFor={field.id} label={label} />
      <select {...field.control} {...props} className="mt-1 w-full rounded border border-slate-300 bg-white px-2 py-1">
        {children}
      </select>
      {field.message}
    </div>
  );
}

export function CheckboxField({
  label,
  errors,
  ...props
}: Omit<InputHTMLAttributes<HTMLInputElement>, "type"> & Labelled) {
  const field = useFieldErrors(errors);
  return (
    <div className="text-sm">
      <div className="flex items-center gap-2">
        <input {...field.control} type="checkbox" {...props} className="h-4 w-4" />
        <label htmlFor={field.id} className="font-medium text-slate-700">
          {label}
        </label>
      </div>
      {field.message}
    </div>
  );
}

export function TextAreaField({ label, errors, ...props }: TextareaHTMLAttributes<HTMLTextAreaElement> & Labelled) {
  const field = useFieldErrors(errors);
  return (
    <div className="text-sm">
      <FieldLabel htmlFor={field.id} label={label} />
      <textarea {...field.control} {...props} className="mt-1 w-full rounded border border-slate-300 px-2 py-1" />
      {field.message}
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
