// Plans: the server-paged list, and the create / edit form with the plan's charges.
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import {
  ChargeEditor,
  chargeErrorKeys,
  chargeToBody,
  draftFromCharge,
  newChargeDraft,
  type ChargeDraft,
} from "../../components/catalog-charges";
import { FormErrorNote, FormPanel, Td, formErrors, parseWhole, unmatchedErrors } from "../../components/fin-kit";
import { Button, CheckboxField, ErrorNote, Field, PageHeader, Pager, SelectField, Table } from "../../components/ui";
import { formatDateTime } from "../../lib/dates";
import { formatMoney, minorToDecimalString, parseMajorToMinor } from "../../lib/money";
import { useAsync } from "../../lib/useAsync";
import { useMe, useSession } from "../session";

type Plan = Schemas["PlanObject"];
type Interval = Schemas["PlanCreate"]["interval"];

export const INTERVALS: Interval[] = ["weekly", "monthly", "quarterly", "semiannual", "yearly"];

const PLAN_FIELDS = ["name", "code", "interval", "amount_currency", "amount_cents", "pay_in_advance", "trial_period", "description", "charges"];

async function allMetrics(): Promise<Schemas["BillableMetricObject"][]> {
  // The form's select lists every metric: read the pages one after the other.
  const out: Schemas["BillableMetricObject"][] = [];
  for (let page = 1; page <= 50; page++) {
    const data = await unwrap(api.GET("/api/v1/billable_metrics", { params: { query: { page, per_page: 100 } } }));
    out.push(...data.billable_metrics);
    if (!data.meta.next_page) break;
  }
  return out;
}

export function PlanForm({ plan, defaultCurrency, onDone }: { plan: Plan | null; defaultCurrency: string; onDone: () => void }) {
  const initialCurrency = plan?.amount_currency ?? defaultCurrency;
  const [name, setName] = useState(plan?.name ?? "");
  const [code, setCode] = useState(plan?.code ?? "");
  const [interval, setInterval] = useState<Interval>(plan?.interval ?? "monthly");
  const [currency, setCurrency] = useState<string>(initialCurrency);
  const [basePrice, setBasePrice] = useState(plan ? minorToDecimalString(plan.amount_cents, initialCurrency) : "");
  const [payInAdvance, setPayInAdvance] = useState(plan?.pay_in_advance ?? false);
  const [trialDays, setTrialDays] = useState(plan?.trial_period ? String(plan.trial_period) : "");
  const [description, setDescription] = useState(plan?.description ?? "");
  const [charges, setCharges] = useState<ChargeDraft[]>(() => (plan?.charges ?? []).map((c) => draftFromCharge(c, initialCurrency)));
  const [error, setError] = useState<unknown>(null);
  const [localErrors, setLocalErrors] = useState<Record<string, string[]>>({});
  const [busy, setBusy] = useState(false);
  const metrics = useAsync(allMetrics, []);

  const serverErrors = formErrors(error, ["plan"]);
  const errors: Record<string, string[]> = { ...serverErrors };
  for (const [k, v] of Object.entries(localErrors)) errors[k] = [...(errors[k] ?? []), ...v];
  const shown = [...PLAN_FIELDS, ...charges.flatMap((c, i) => chargeErrorKeys(c, i))];

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const local: Record<string, string[]> = {};
    const cur = currency.trim().toUpperCase();
    let amountCents: number | null = null;
    try {
      amountCents = parseMajorToMinor(basePrice.trim() || "0", cur);
    } catch {
      local.amount_currency = ["invalid_currency"];
    }
    if (amountCents === null && !local.amount_currency) local.amount_cents = ["invalid_amount"];
    let trial: number | null = null;
    if (trialDays.trim()) {
      trial = parseWhole(trialDays);
      if (trial === null) local.trial_period = ["invalid_integer"];
    }
    const chargeBodies = charges.map((c, i) => {
      const { body, errors: ce } = chargeToBody(c, i, local.amount_currency ? "USD" : cur);
      Object.assign(local, ce);
      return body;
    });
    setLocalErrors(local);
    if (Object.keys(local).length > 0 || amountCents === null) return;
    const fields = {
      name,
      code,
      interval,
      amount_cents: amountCents,
      amount_currency: cur,
      pay_in_advance: payInAdvance,
      trial_period: trial,
      description: description || null,
      charges: chargeBodies,
    };
    setBusy(true);
    try {
      if (plan)
        await unwrap(api.PUT("/api/v1/plans/{code}", { params: { path: { code: plan.code } }, body: { plan: fields } }));
      else await unwrap(api.POST("/api/v1/plans", { body: { plan: fields } }));
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const metricList = metrics.data ?? [];
  return (
    <FormPanel title={plan ? `Edit plan ${plan.code}` : "New plan"}>
      <form onSubmit={(e) => void submit(e)} className="grid gap-3" noValidate>
        <div className="grid max-w-3xl grid-cols-2 gap-3">
          <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} required errors={errors.name} autoFocus />
          <Field label="Code" value={code} onChange={(e) => setCode(e.target.value)} required errors={errors.code} />
          <SelectField label="Interval" value={interval} onChange={(e) => setInterval(e.target.value as Interval)} errors={errors.interval}>
            {INTERVALS.map((i) => (
              <option key={i} value={i}>
                {i}
              </option>
            ))}
          </SelectField>
          <Field
            label="Currency"
            value={currency}
            maxLength={3}
            onChange={(e) => setCurrency(e.target.value.toUpperCase())}
            required
            errors={errors.amount_currency}
          />
          <Field
            label="Base price"
            inputMode="decimal"
            placeholder="0.00"
            value={basePrice}
            onChange={(e) => setBasePrice(e.target.value)}
            errors={errors.amount_cents}
          />
          <Field label="Trial days" inputMode="numeric" value={trialDays} onChange={(e) => setTrialDays(e.target.value)} errors={errors.trial_period} />
          <CheckboxField label="Pay in advance" checked={payInAdvance} onChange={(e) => setPayInAdvance(e.target.checked)} errors={errors.pay_in_advance} />
          <Field label="Description" value={description} onChange={(e) => setDescription(e.target.value)} errors={errors.description} />
        </div>

        <section aria-label="Charges" className="grid gap-3">
          <h3 className="text-sm font-semibold">Charges</h3>
          {errors.charges && (
            <p role="alert" className="text-xs text-red-700">
              {errors.charges.join(", ")}
            </p>
          )}
          <ErrorNote error={metrics.error} />
          {charges.map((draft, i) => (
            <ChargeEditor
              key={draft.key}
              draft={draft}
              index={i}
              metrics={metricList}
              errors={errors}
              onChange={(d) => setCharges((cs) => cs.map((c, j) => (j === i ? d : c)))}
              onRemove={() => setCharges((cs) => cs.filter((_, j) => j !== i))}
            />
          ))}
          <div>
            <Button variant="secondary" onClick={() => setCharges((cs) => [...cs, newChargeDraft(metricList[0]?.lago_id ?? "")])}>
              Add charge
            </Button>
          </div>
        </section>

        <FormErrorNote error={error} unmatched={unmatchedErrors(serverErrors, shown)} />
        {Object.keys(localErrors).length > 0 && (
          <p role="alert" className="text-sm text-red-700">
            Some fields need fixing before the plan can be sent.
          </p>
        )}
        <div className="flex gap-2">
          <Button type="submit" disabled={busy}>
            {plan ? "Save plan" : "Create plan"}
          </Button>
          <Button variant="secondary" onClick={onDone}>
            Cancel
          </Button>
        </div>
      </form>
    </FormPanel>
  );
}

export default function Plans() {
  const { can } = useSession();
  const me = useMe();
  const [page, setPage] = useState(1);
  const [editing, setEditing] = useState<Plan | "new" | null>(null);
  const list = useAsync(() => unwrap(api.GET("/api/v1/plans", { params: { query: { page, per_page: 20 } } })), [page]);
  const done = () => {
    setEditing(null);
    list.reload();
  };
  return (
    <div>
      <PageHeader title="Plans" actions={can("createPlan") && <Button onClick={() => setEditing("new")}>New plan</Button>} />
      {editing && (
        <PlanForm
          key={editing === "new" ? "new" : editing.lago_id}
          plan={editing === "new" ? null : editing}
          defaultCurrency={me.organization.default_currency ?? "USD"}
          onDone={done}
        />
      )}
      <ErrorNote error={list.error} />
      <Table label="Plans" head={["Name", "Code", "Interval", "Base price", "Charges", "Trial days", "Created", ""]}>
        {list.data?.plans.map((p) => (
          <tr key={p.lago_id}>
            <Td>{p.name}</Td>
            <Td className="font-mono">{p.code}</Td>
            <Td>{p.interval}</Td>
            <Td>
              {formatMoney(p.amount_cents, p.amount_currency)}
              {p.pay_in_advance ? " (in advance)" : ""}
            </Td>
            <Td>{p.charges?.length ?? 0}</Td>
            <Td>{p.trial_period ?? 0}</Td>
            <Td>{formatDateTime(p.created_at, me.organization.timezone)}</Td>
            <Td>
              {can("updatePlan") && (
                <Button variant="secondary" onClick={() => setEditing(p)} aria-label={`Edit ${p.code}`}>
                  Edit
                </Button>
              )}
            </Td>
          </tr>
        ))}
      </Table>
      {list.loading && <p className="mt-2 text-sm text-slate-500">Loading…</p>}
      {list.data && list.data.plans.length === 0 && <p className="mt-2 text-sm text-slate-500">No plans yet.</p>}
      <Pager meta={list.data?.meta} onPage={setPage} />
    </div>
  );
}
