// A plan's charges: one editor per charge (metric, charge model, the model's properties),
// and the conversion of what was typed into the API's ChargeIn. Prices in properties stay
// decimal strings as Lago sends them ("0.05"): never parsed into floats.
import type { Schemas } from "../api/client";
import { parseMajorToMinor, minorToDecimalString } from "../lib/money";
import { isDecimalString, parseWhole } from "./fin-kit";
import { Button, CheckboxField, Field, SelectField } from "./ui";

export type ChargeModel = NonNullable<Schemas["ChargeIn"]["charge_model"]>;

/** Every charge model POST /plans accepts (ChargeIn.charge_model). */
export const CHARGE_MODELS: { value: ChargeModel; label: string }[] = [
  { value: "standard", label: "Standard" },
  { value: "graduated", label: "Graduated" },
  { value: "graduated_percentage", label: "Graduated percentage" },
  { value: "package", label: "Package" },
  { value: "percentage", label: "Percentage" },
  { value: "volume", label: "Volume" },
];

export interface TierRow {
  from: string;
  to: string; // empty: infinity (the last tier)
  price: string; // per unit amount, or the rate of a graduated percentage tier
  flat: string;
}

export interface ChargeDraft {
  key: string;
  id: string | null; // the charge's lago_id when editing a plan
  billableMetricId: string;
  model: ChargeModel;
  payInAdvance: boolean;
  invoiceable: boolean;
  prorated: boolean;
  minAmount: string; // major units
  displayName: string;
  amount: string;
  packageSize: string;
  freeUnits: string;
  rate: string;
  fixedAmount: string;
  freeUnitsPerEvents: string;
  freeUnitsPerTotalAggregation: string;
  perTransactionMin: string;
  perTransactionMax: string;
  tiers: TierRow[];
  /** The properties the charge had (when editing), kept for keys this form does not edit
   * (grouped_by, pricing_group_keys) as long as the model stays the same. */
  original: { model: ChargeModel; properties: Record<string, unknown> } | null;
}

let counter = 0;
const nextKey = () => `charge-${++counter}`;

export function newChargeDraft(billableMetricId = ""): ChargeDraft {
  return {
    key: nextKey(),
    id: null,
    billableMetricId,
    model: "standard",
    payInAdvance: false,
    invoiceable: true,
    prorated: false,
    minAmount: "",
    displayName: "",
    amount: "",
    packageSize: "1",
    freeUnits: "0",
    rate: "",
    fixedAmount: "",
    freeUnitsPerEvents: "",
    freeUnitsPerTotalAggregation: "",
    perTransactionMin: "",
    perTransactionMax: "",
    tiers: [{ from: "0", to: "", price: "", flat: "0" }],
    original: null,
  };
}

const text = (v: unknown): string => (v === null || v === undefined ? "" : String(v));

interface RangeIn {
  from_value?: unknown;
  to_value?: unknown;
  per_unit_amount?: unknown;
  rate?: unknown;
  flat_amount?: unknown;
}

/** A charge of a plan (as GET /plans answers it) as an editable draft. */
export function draftFromCharge(charge: Schemas["ChargeObject"], currency: string): ChargeDraft {
  const p = (charge.properties ?? {}) as Record<string, unknown>;
  const model = (CHARGE_MODELS.some((m) => m.value === charge.charge_model) ? charge.charge_model : "standard") as ChargeModel;
  const rangeKey =
    model === "graduated" ? "graduated_ranges" : model === "volume" ? "volume_ranges" : "graduated_percentage_ranges";
  const ranges = Array.isArray(p[rangeKey]) ? (p[rangeKey] as RangeIn[]) : [];
  const base = newChargeDraft(charge.lago_billable_metric_id);
  return {
    ...base,
    id: charge.lago_id,
    model,
    payInAdvance: charge.pay_in_advance,
    invoiceable: charge.invoiceable,
    prorated: charge.prorated,
    minAmount: charge.min_amount_cents ? minorToDecimalString(charge.min_amount_cents, currency) : "",
    displayName: charge.invoice_display_name ?? "",
    amount: text(p.amount),
    packageSize: text(p.package_size ?? "1"),
    freeUnits: text(p.free_units ?? "0"),
    rate: text(p.rate),
    fixedAmount: text(p.fixed_amount),
    freeUnitsPerEvents: text(p.free_units_per_events),
    freeUnitsPerTotalAggregation: text(p.free_units_per_total_aggregation),
    perTransactionMin: text(p.per_transaction_min_amount),
    perTransactionMax: text(p.per_transaction_max_amount),
    tiers:
      ranges.length > 0
        ? ranges.map((r) => ({
            from: text(r.from_value),
            to: text(r.to_value),
            price: text(model === "graduated_percentage" ? r.rate : r.per_unit_amount),
            flat: text(r.flat_amount ?? "0"),
          }))
        : base.tiers,
    original: { model, properties: p },
  };
}

type Errors = Record<string, string[]>;

function decimalProp(
  out: Record<string, unknown>,
  errors: Errors,
  prefix: string,
  key: string,
  value: string,
  required: boolean,
) {
  const v = value.trim();
  if (!v) {
    if (required) errors[`${prefix}.${key}`] = ["value_is_mandatory"];
    return;
  }
  if (!isDecimalString(v)) errors[`${prefix}.${key}`] = ["invalid_decimal"];
  else out[key] = v;
}

function wholeProp(out: Record<string, unknown>, errors: Errors, prefix: string, key: string, value: string, required: boolean) {
  const v = value.trim();
  if (!v) {
    if (required) errors[`${prefix}.${key}`] = ["value_is_mandatory"];
    return;
  }
  const n = parseWhole(v);
  if (n === null) errors[`${prefix}.${key}`] = ["invalid_integer"];
  else out[key] = n;
}

function ranges(draft: ChargeDraft, errors: Errors, prefix: string, key: string, priceKey: "per_unit_amount" | "rate") {
  const rows = draft.tiers.map((tier, i) => {
    const rowPrefix = `${prefix}.${key}.${i}`;
    const from = parseWhole(tier.from);
    if (from === null) errors[`${rowPrefix}.from_value`] = ["invalid_integer"];
    let to: number | null = null;
    if (tier.to.trim()) {
      to = parseWhole(tier.to);
      if (to === null) errors[`${rowPrefix}.to_value`] = ["invalid_integer"];
    }
    const price = tier.price.trim();
    if (!isDecimalString(price)) errors[`${rowPrefix}.${priceKey}`] = ["invalid_decimal"];
    const flat = tier.flat.trim() || "0";
    if (!isDecimalString(flat)) errors[`${rowPrefix}.flat_amount`] = ["invalid_decimal"];
    return { from_value: from ?? 0, to_value: to, [priceKey]: price, flat_amount: flat };
  });
  return rows;
}

/** The draft as the API's ChargeIn, with the errors found before sending (keys as the API
 * names them: charges.<i>.properties.<field>). */
export function chargeToBody(
  draft: ChargeDraft,
  index: number,
  currency: string,
): { body: Schemas["ChargeIn"]; errors: Errors } {
  const errors: Errors = {};
  const prefix = `charges.${index}.properties`;
  const properties: Record<string, unknown> = {};
  if (draft.original && draft.original.model === draft.model)
    for (const key of ["grouped_by", "pricing_group_keys"])
      if (draft.original.properties[key] !== undefined) properties[key] = draft.original.properties[key];
  switch (draft.model) {
    case "standard":
      decimalProp(properties, errors, prefix, "amount", draft.amount, true);
      break;
    case "package":
      decimalProp(properties, errors, prefix, "amount", draft.amount, true);
      wholeProp(properties, errors, prefix, "package_size", draft.packageSize, true);
      wholeProp(properties, errors, prefix, "free_units", draft.freeUnits || "0", true);
      break;
    case "percentage":
      decimalProp(properties, errors, prefix, "rate", draft.rate, true);
      decimalProp(properties, errors, prefix, "fixed_amount", draft.fixedAmount, false);
      wholeProp(properties, errors, prefix, "free_units_per_events", draft.freeUnitsPerEvents, false);
      decimalProp(properties, errors, prefix, "free_units_per_total_aggregation", draft.freeUnitsPerTotalAggregation, false);
      decimalProp(properties, errors, prefix, "per_transaction_min_amount", draft.perTransactionMin, false);
      decimalProp(properties, errors, prefix, "per_transaction_max_amount", draft.perTransactionMax, false);
      break;
    case "graduated":
      properties.graduated_ranges = ranges(draft, errors, prefix, "graduated_ranges", "per_unit_amount");
      break;
    case "volume":
      properties.volume_ranges = ranges(draft, errors, prefix, "volume_ranges", "per_unit_amount");
      break;
    case "graduated_percentage":
      properties.graduated_percentage_ranges = ranges(draft, errors, prefix, "graduated_percentage_ranges", "rate");
      break;
  }
  if (!draft.billableMetricId) errors[`charges.${index}.billable_metric_id`] = ["value_is_mandatory"];
  let minAmountCents = 0;
  if (draft.minAmount.trim()) {
    const cents = parseMajorToMinor(draft.minAmount, currency);
    if (cents === null || cents < 0) errors[`charges.${index}.min_amount_cents`] = ["invalid_amount"];
    else minAmountCents = cents;
  }
  const body: Schemas["ChargeIn"] = {
    ...(draft.id ? { id: draft.id } : {}),
    billable_metric_id: draft.billableMetricId,
    charge_model: draft.model,
    pay_in_advance: draft.payInAdvance,
    invoiceable: draft.invoiceable,
    prorated: draft.prorated,
    min_amount_cents: minAmountCents,
    invoice_display_name: draft.displayName.trim() || null,
    properties,
  };
  return { body, errors };
}

/** The error keys a charge's editor shows beside its fields. */
export function chargeErrorKeys(draft: ChargeDraft, index: number): string[] {
  const c = `charges.${index}`;
  const p = `${c}.properties`;
  const keys = [
    `${c}.billable_metric_id`,
    `${c}.charge_model`,
    `${c}.pay_in_advance`,
    `${c}.invoiceable`,
    `${c}.prorated`,
    `${c}.min_amount_cents`,
    `${c}.invoice_display_name`,
    `${c}.properties`,
    `${p}.amount`,
    `${p}.package_size`,
    `${p}.free_units`,
    `${p}.rate`,
    `${p}.fixed_amount`,
    `${p}.free_units_per_events`,
    `${p}.free_units_per_total_aggregation`,
    `${p}.per_transaction_min_amount`,
    `${p}.per_transaction_max_amount`,
  ];
  for (const key of ["graduated_ranges", "volume_ranges", "graduated_percentage_ranges"]) {
    keys.push(`${p}.${key}`);
    draft.tiers.forEach((_, i) => {
      for (const f of ["from_value", "to_value", "per_unit_amount", "rate", "flat_amount"]) keys.push(`${p}.${key}.${i}.${f}`);
    });
  }
  return keys;
}

function TiersEditor({
  draft,
  index,
  errors,
  onChange,
}: {
  draft: ChargeDraft;
  index: number;
  errors: Errors;
  onChange: (d: ChargeDraft) => void;
}) {
  const percentage = draft.model === "graduated_percentage";
  const key = draft.model === "graduated" ? "graduated_ranges" : draft.model === "volume" ? "volume_ranges" : "graduated_percentage_ranges";
  const p = `charges.${index}.properties.${key}`;
  const setTier = (i: number, patch: Partial<TierRow>) =>
    onChange({ ...draft, tiers: draft.tiers.map((t, j) => (j === i ? { ...t, ...patch } : t)) });
  const addTier = () => {
    const last = draft.tiers[draft.tiers.length - 1];
    const lastTo = last ? parseWhole(last.to) : null;
    onChange({
      ...draft,
      tiers: [...draft.tiers, { from: lastTo === null ? "" : String(lastTo + 1), to: "", price: "", flat: "0" }],
    });
  };
  const removeTier = (i: number) => onChange({ ...draft, tiers: draft.tiers.filter((_, j) => j !== i) });
  const whole = errors[p];
  return (
    <div className="col-span-full">
      <p className="text-sm font-medium text-slate-700">{percentage ? "Ranges" : "Tiers"}</p>
      {whole && (
        <p className="text-xs text-red-700" role="alert">
          {whole.join(", ")}
        </p>
      )}
      <ol className="mt-1 space-y-2">
        {draft.tiers.map((tier, i) => (
          <li key={i}>
            <fieldset className="grid grid-cols-5 items-end gap-2 rounded border border-slate-200 p-2">
              <legend className="px-1 text-xs text-slate-600">
                {percentage ? "Range" : "Tier"} {i + 1}
              </legend>
              <Field label="From" inputMode="numeric" value={tier.from} onChange={(e) => setTier(i, { from: e.target.value })} errors={errors[`${p}.${i}.from_value`]} />
              <Field
                label="To"
                inputMode="numeric"
                placeholder="∞"
                value={tier.to}
                onChange={(e) => setTier(i, { to: e.target.value })}
                errors={errors[`${p}.${i}.to_value`]}
              />
              <Field
                label={percentage ? "Rate" : "Per unit"}
                inputMode="decimal"
                value={tier.price}
                onChange={(e) => setTier(i, { price: e.target.value })}
                errors={errors[`${p}.${i}.${percentage ? "rate" : "per_unit_amount"}`]}
              />
              <Field label="Flat fee" inputMode="decimal" value={tier.flat} onChange={(e) => setTier(i, { flat: e.target.value })} errors={errors[`${p}.${i}.flat_amount`]} />
              <div>
                {draft.tiers.length > 1 && (
                  <Button variant="secondary" onClick={() => removeTier(i)}>
                    Remove {percentage ? "range" : "tier"} {i + 1}
                  </Button>
                )}
              </div>
            </fieldset>
          </li>
        ))}
      </ol>
      <Button variant="secondary" className="mt-2" onClick={addTier}>
        {percentage ? "Add range" : "Add tier"}
      </Button>
    </div>
  );
}

export function ChargeEditor({
  draft,
  index,
  metrics,
  errors,
  onChange,
  onRemove,
}: {
  draft: ChargeDraft;
  index: number;
  metrics: Schemas["BillableMetricObject"][];
  errors: Errors;
  onChange: (d: ChargeDraft) => void;
  onRemove: () => void;
}) {
  const c = `charges.${index}`;
  const p = `${c}.properties`;
  const set = (patch: Partial<ChargeDraft>) => onChange({ ...draft, ...patch });
  const known = metrics.some((m) => m.lago_id === draft.billableMetricId);
  return (
    <fieldset className="rounded border border-slate-300 p-3">
      <legend className="px-1 text-sm font-semibold">Charge {index + 1}</legend>
      <div className="grid grid-cols-2 gap-3">
        <SelectField
          label="Billable metric"
          value={draft.billableMetricId}
          onChange={(e) => set({ billableMetricId: e.target.value })}
          errors={errors[`${c}.billable_metric_id`]}
        >
          <option value="">Choose a billable metric</option>
          {!known && draft.billableMetricId && <option value={draft.billableMetricId}>{draft.billableMetricId}</option>}
          {metrics.map((m) => (
            <option key={m.lago_id} value={m.lago_id}>
              {m.name} ({m.code})
            </option>
          ))}
        </SelectField>
        <SelectField
          label="Charge model"
          value={draft.model}
          onChange={(e) => set({ model: e.target.value as ChargeModel })}
          errors={[...(errors[`${c}.charge_model`] ?? []), ...(errors[`${c}.properties`] ?? [])]}
        >
          {CHARGE_MODELS.map((m) => (
            <option key={m.value} value={m.value}>
              {m.label}
            </option>
          ))}
        </SelectField>

        {(draft.model === "standard" || draft.model === "package") && (
          <Field label="Amount" inputMode="decimal" placeholder="0.05" value={draft.amount} onChange={(e) => set({ amount: e.target.value })} errors={errors[`${p}.amount`]} />
        )}
        {draft.model === "package" && (
          <>
            <Field label="Package size" inputMode="numeric" value={draft.packageSize} onChange={(e) => set({ packageSize: e.target.value })} errors={errors[`${p}.package_size`]} />
            <Field label="Free units" inputMode="numeric" value={draft.freeUnits} onChange={(e) => set({ freeUnits: e.target.value })} errors={errors[`${p}.free_units`]} />
          </>
        )}
        {draft.model === "percentage" && (
          <>
            <Field label="Rate" inputMode="decimal" placeholder="1.5 (percent)" value={draft.rate} onChange={(e) => set({ rate: e.target.value })} errors={errors[`${p}.rate`]} />
            <Field label="Fixed amount" inputMode="decimal" value={draft.fixedAmount} onChange={(e) => set({ fixedAmount: e.target.value })} errors={errors[`${p}.fixed_amount`]} />
            <Field
              label="Free units per events"
              inputMode="numeric"
              value={draft.freeUnitsPerEvents}
              onChange={(e) => set({ freeUnitsPerEvents: e.target.value })}
              errors={errors[`${p}.free_units_per_events`]}
            />
            <Field
              label="Free units per total aggregation"
              inputMode="decimal"
              value={draft.freeUnitsPerTotalAggregation}
              onChange={(e) => set({ freeUnitsPerTotalAggregation: e.target.value })}
              errors={errors[`${p}.free_units_per_total_aggregation`]}
            />
            <Field
              label="Per transaction min amount"
              inputMode="decimal"
              value={draft.perTransactionMin}
              onChange={(e) => set({ perTransactionMin: e.target.value })}
              errors={errors[`${p}.per_transaction_min_amount`]}
            />
            <Field
              label="Per transaction max amount"
              inputMode="decimal"
              value={draft.perTransactionMax}
              onChange={(e) => set({ perTransactionMax: e.target.value })}
              errors={errors[`${p}.per_transaction_max_amount`]}
            />
          </>
        )}
        {(draft.model === "graduated" || draft.model === "volume" || draft.model === "graduated_percentage") && (
          <TiersEditor draft={draft} index={index} errors={errors} onChange={onChange} />
        )}

        <Field label="Minimum amount" inputMode="decimal" value={draft.minAmount} onChange={(e) => set({ minAmount: e.target.value })} errors={errors[`${c}.min_amount_cents`]} />
        <Field label="Invoice display name" value={draft.displayName} onChange={(e) => set({ displayName: e.target.value })} errors={errors[`${c}.invoice_display_name`]} />
        <CheckboxField label="Charge paid in advance" checked={draft.payInAdvance} onChange={(e) => set({ payInAdvance: e.target.checked })} errors={errors[`${c}.pay_in_advance`]} />
        <CheckboxField label="Invoiceable" checked={draft.invoiceable} onChange={(e) => set({ invoiceable: e.target.checked })} errors={errors[`${c}.invoiceable`]} />
        <CheckboxField label="Prorated" checked={draft.prorated} onChange={(e) => set({ prorated: e.target.checked })} errors={errors[`${c}.prorated`]} />
      </div>
      <Button variant="secondary" className="mt-3" onClick={onRemove}>
        Remove charge {index + 1}
      </Button>
    </fieldset>
  );
}
