// "Issue credit note" on a finalized invoice: a reason, and per fee the amount to give back
// (major units, converted with parseMajorToMinor; before coupons, excluding taxes, as
// Lago's items are). The note's total includes taxes, so the form first asks
// POST /credit_notes/estimate for it, then sends the refund typed and credits the rest.
import { useState, type FormEvent } from "react";
import { ApiError, api, unwrap, type Schemas } from "../api/client";
import { formatMoney, parseMajorToMinor } from "../lib/money";
import { FormErrorNote, FormPanel, formErrors, unmatchedErrors } from "./fin-kit";
import { Button, Field, SelectField, TextAreaField } from "./ui";

type Invoice = Schemas["InvoiceObjectExtended"];
type Reason = NonNullable<Schemas["CreditNoteIn"]["reason"]>;

export const CREDIT_NOTE_REASONS: { value: Reason; label: string }[] = [
  { value: "duplicated_charge", label: "Duplicated charge" },
  { value: "product_unsatisfactory", label: "Product unsatisfactory" },
  { value: "order_change", label: "Order change" },
  { value: "order_cancellation", label: "Order cancellation" },
  { value: "fraudulent_charge", label: "Fraudulent charge" },
  { value: "other", label: "Other" },
];

export function feeLabel(fee: Schemas["FeeObject"]): string {
  const item = fee.item;
  const name = item.invoice_display_name || item.name || item.code || item.type;
  return fee.item.filter_invoice_display_name ? `${name} — ${fee.item.filter_invoice_display_name}` : name;
}

export function CreditNoteForm({ invoice, onDone, onCancel }: { invoice: Invoice; onDone: () => void; onCancel: () => void }) {
  const currency = invoice.currency;
  const fees = (invoice.fees ?? []).filter((f): f is Schemas["FeeObject"] & { lago_id: string } => !!f.lago_id && f.amount_cents > 0);
  const [reason, setReason] = useState<Reason>("other");
  const [description, setDescription] = useState("");
  const [amounts, setAmounts] = useState<Record<string, string>>({});
  const [refund, setRefund] = useState("");
  const [localErrors, setLocalErrors] = useState<Record<string, string[]>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [estimate, setEstimate] = useState<number | null>(null);

  const server = formErrors(error, ["credit_note"]);
  const errors: Record<string, string[]> = { ...server, ...localErrors };
  const itemKey = (i: number) => `items.${i}.amount_cents`;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const local: Record<string, string[]> = {};
    const items: { fee_id: string; amount_cents: number }[] = [];
    fees.forEach((fee) => {
      const typed = (amounts[fee.lago_id] ?? "").trim();
      if (!typed) return;
      const cents = parseMajorToMinor(typed, currency);
      if (cents === null || cents < 0) local[`fee.${fee.lago_id}`] = ["invalid_amount"];
      else if (cents > 0) items.push({ fee_id: fee.lago_id, amount_cents: cents });
    });
    if (items.length === 0 && Object.keys(local).length === 0) local.items = ["enter an amount for at least one fee"];
    let refundCents = 0;
    if (refund.trim()) {
      const cents = parseMajorToMinor(refund, currency);
      if (cents === null || cents < 0) local.refund_amount_cents = ["invalid_amount"];
      else refundCents = cents;
    }
    setLocalErrors(local);
    if (Object.keys(local).length > 0) return;
    setBusy(true);
    try {
      const est = await unwrap(
        api.POST("/api/v1/credit_notes/estimate", { body: { credit_note: { invoice_id: invoice.lago_id, items } } }),
      );
      const total = est.estimated_credit_note.sub_total_excluding_taxes_amount_cents + est.estimated_credit_note.taxes_amount_cents;
      setEstimate(total);
      if (refundCents > total) {
        setLocalErrors({ refund_amount_cents: [`higher than the note's total (${formatMoney(total, currency)})`] });
        return;
      }
      await unwrap(
        api.POST("/api/v1/credit_notes", {
          body: {
            credit_note: {
              invoice_id: invoice.lago_id,
              reason,
              description: description.trim() || null,
              items,
              credit_amount_cents: total - refundCents,
              refund_amount_cents: refundCents,
            },
          },
        }),
      );
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  // 422 item errors name the item's position in the request: show them by its fee.
  const sentFees = fees.filter((f) => (amounts[f.lago_id] ?? "").trim() && parseMajorToMinor(amounts[f.lago_id] ?? "", currency));
  const itemErrors = (feeId: string): string[] | undefined => {
    const i = sentFees.findIndex((f) => f.lago_id === feeId);
    const list = [...(errors[`fee.${feeId}`] ?? []), ...(i >= 0 ? (errors[itemKey(i)] ?? []) : [])];
    return list.length ? list : undefined;
  };
  const shown = ["reason", "description", "refund_amount_cents", "credit_amount_cents", ...sentFees.map((_, i) => itemKey(i))];

  return (
    <FormPanel title="Issue credit note">
      <form onSubmit={(e) => void submit(e)} className="grid max-w-3xl gap-3" noValidate>
        <SelectField label="Reason" value={reason} onChange={(e) => setReason(e.target.value as Reason)} errors={errors.reason}>
          {CREDIT_NOTE_REASONS.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </SelectField>
        <TextAreaField label="Description" value={description} onChange={(e) => setDescription(e.target.value)} errors={errors.description} />
        <fieldset className="grid gap-2 rounded border border-slate-200 p-3">
          <legend className="px-1 text-sm font-medium">Amounts to credit per fee (before taxes)</legend>
          {fees.length === 0 && <p className="text-sm text-slate-500">This invoice has no fee to credit.</p>}
          {fees.map((fee) => (
            <div key={fee.lago_id} className="grid grid-cols-2 items-end gap-3">
              <Field
                label={`Amount to credit for ${feeLabel(fee)}`}
                inputMode="decimal"
                placeholder="0.00"
                value={amounts[fee.lago_id] ?? ""}
                onChange={(e) => setAmounts((a) => ({ ...a, [fee.lago_id]: e.target.value }))}
                errors={itemErrors(fee.lago_id)}
              />
              <p className="pb-1 text-sm text-slate-600">of {formatMoney(fee.amount_cents, currency)}</p>
            </div>
          ))}
          {errors.items && (
            <p role="alert" className="text-xs text-red-700">
              {errors.items.join(", ")}
            </p>
          )}
        </fieldset>
        <Field
          label="Refund amount"
          inputMode="decimal"
          placeholder="0.00 (the rest is credited)"
          value={refund}
          onChange={(e) => setRefund(e.target.value)}
          errors={errors.refund_amount_cents}
        />
        {errors.credit_amount_cents && (
          <p role="alert" className="text-xs text-red-700">
            Credit amount: {errors.credit_amount_cents.join(", ")}
          </p>
        )}
        {estimate !== null && <p className="text-sm text-slate-600">Total of the note, taxes included: {formatMoney(estimate, currency)}</p>}
        <FormErrorNote error={error} unmatched={error instanceof ApiError ? unmatchedErrors(server, shown) : []} />
        <div className="flex gap-2">
          <Button type="submit" disabled={busy}>
            Issue credit note
          </Button>
          <Button variant="secondary" onClick={onCancel}>
            Cancel
          </Button>
        </div>
      </form>
    </FormPanel>
  );
}
