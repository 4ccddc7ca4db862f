// Subscriptions: a server-paged list and, for the one selected, its live state (GET
// /subscriptions/{external_id} asks the subscription's workflow), a link to that workflow
// in the Temporal UI, and the actions the member's role allows: change plan, edit,
// pause, resume, terminate.
import { useState, type FormEvent, type ReactNode } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { api, unwrap } from "../../api/client";
import { ConfirmButton } from "../../components/Dialog";
import { Button, Card, ErrorNote, Field, PageHeader, Pager, SelectField, Table } from "../../components/ui";
import { formatDate, formatDateTime } from "../../lib/dates";
import { formatMoney } from "../../lib/money";
import { useAsync } from "../../lib/useAsync";
import { useMe, useSession } from "../session";
import {
  ALL_SUBSCRIPTION_STATUSES,
  Detail,
  fieldErrors,
  formLevelError,
  isoToUtcInput,
  Loading,
  pageMeta,
  StatusBadge,
  subscriptionWorkflowId,
  temporalWorkflowUrl,
  usePlans,
  utcInputToIso,
  type Subscription,
} from "./common";

const PER_PAGE = 25;

export default function Subscriptions() {
  const me = useMe();
  const [params, setParams] = useSearchParams();
  const page = Number(params.get("page") ?? "1") || 1;
  const status = params.get("status") ?? "";
  const customer = params.get("customer") ?? "";
  const plan = params.get("plan") ?? "";
  const selected = params.get("selected");
  const [draftCustomer, setDraftCustomer] = useState(customer);
  const [draftPlan, setDraftPlan] = useState(plan);
  const [draftStatus, setDraftStatus] = useState(status);
  const [tick, setTick] = useState(0);

  const list = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/subscriptions", {
          params: {
            query: {
              "status[]": status ? [status] : ALL_SUBSCRIPTION_STATUSES,
              external_customer_id: customer || undefined,
              plan_code: plan || undefined,
              page,
              per_page: PER_PAGE,
            },
          },
        }),
      ),
    [status, customer, plan, page, tick],
  );

  const update = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setParams(next);
  };

  const filter = (e: FormEvent) => {
    e.preventDefault();
    update({ status: draftStatus, customer: draftCustomer.trim(), plan: draftPlan.trim(), page: null });
  };

  const tz = me.organization.timezone;
  const rows = (list.data?.subscriptions ?? []) as Subscription[];

  return (
    <div className="space-y-4">
      <PageHeader title="Subscriptions" />
      <form aria-label="Filter subscriptions" onSubmit={filter} className="flex flex-wrap items-end gap-3">
        <div className="w-44">
          <SelectField label="Status" value={draftStatus} onChange={(e) => setDraftStatus(e.target.value)}>
            <option value="">All</option>
            {ALL_SUBSCRIPTION_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </SelectField>
        </div>
        <div className="w-56">
          <Field label="Customer external ID" value={draftCustomer} onChange={(e) => setDraftCustomer(e.target.value)} />
        </div>
        <div className="w-44">
          <Field label="Plan code" value={draftPlan} onChange={(e) => setDraftPlan(e.target.value)} />
        </div>
        <Button type="submit" variant="secondary">
          Filter
        </Button>
      </form>
      <ErrorNote error={list.error} />
      <div className="grid gap-4 xl:grid-cols-[minmax(0,3fr)_minmax(0,2fr)]">
        <div>
          {list.loading && !list.data ? (
            <Loading />
          ) : (
            <>
              <Table label="Subscriptions" head={["Subscription", "Customer", "Plan", "Status", "Started", "Period ends"]}>
                {rows.map((s) => (
                  <tr
                    key={s.lago_id}
                    className={`border-b border-slate-100 ${selected === s.external_id ? "bg-indigo-50" : ""}`}
                  >
                    <td className="px-2 py-1.5">
                      <Link
                        className="text-indigo-800 underline"
                        aria-current={selected === s.external_id ? "true" : undefined}
                        to={`?${withSelected(params, s.external_id)}`}
                      >
                        {s.external_id}
                      </Link>
                      {s.name && <div className="text-xs text-slate-500">{s.name}</div>}
                    </td>
                    <td className="px-2 py-1.5">
                      <Link className="text-indigo-800 underline" to={`/customers/${encodeURIComponent(s.external_customer_id)}`}>
                        {s.external_customer_id}
                      </Link>
                    </td>
                    <td className="px-2 py-1.5">{s.plan_code}</td>
                    <td className="px-2 py-1.5">
                      <StatusBadge status={s.status} />
                    </td>
                    <td className="px-2 py-1.5">{formatDate(s.started_at, tz)}</td>
                    <td className="px-2 py-1.5">{formatDate(s.current_billing_period_ending_at, tz)}</td>
                  </tr>
                ))}
              </Table>
              {list.data && rows.length === 0 && <p className="text-sm text-slate-500">No subscriptions.</p>}
              <Pager meta={pageMeta(list.data?.meta)} onPage={(p) => update({ page: String(p) })} />
            </>
          )}
        </div>
        {selected && (
          <SubscriptionPanel key={selected} externalId={selected} onChanged={() => setTick((t) => t + 1)} />
        )}
      </div>
    </div>
  );
}

function withSelected(params: URLSearchParams, externalId: string): string {
  const next = new URLSearchParams(params);
  next.set("selected", externalId);
  return next.toString();
}

/** The selected subscription's live state and its actions. */
export function SubscriptionPanel({ externalId, onChanged }: { externalId: string; onChanged: () => void }) {
  const me = useMe();
  const { can } = useSession();
  const live = useAsync(
    () => unwrap(api.GET("/api/v1/subscriptions/{external_id}", { params: { path: { external_id: externalId } } })),
    [externalId],
  );
  const s = live.data?.subscription as (Subscription & { plan?: { name?: string } }) | undefined;
  const tz = me.organization.timezone;
  const status = s ? (s.status as string) : "";
  const ended = status === "terminated" || status === "canceled";
  const changed = () => {
    live.reload();
    onChanged();
  };
  const workflowId = subscriptionWorkflowId(me.organization.lago_id, externalId);
  const workflowUrl = temporalWorkflowUrl(me.temporal_ui?.namespace_url, workflowId);

  return (
    <Card title={`Subscription ${externalId}`}>
      <ErrorNote error={live.error} />
      {live.loading && !s ? (
        <Loading />
      ) : (
        s && (
          <div className="space-y-4">
            <dl aria-label="Live state">
              <Detail term="Status">
                <StatusBadge status={status} />
              </Detail>
              <Detail term="Customer">
                <Link className="text-indigo-800 underline" to={`/customers/${encodeURIComponent(s.external_customer_id)}`}>
                  {s.external_customer_id}
                </Link>
              </Detail>
              <Detail term="Plan">
                {s.plan?.name ? `${s.plan.name} (${s.plan_code})` : s.plan_code} ·{" "}
                {formatMoney(s.plan_amount_cents, s.plan_amount_currency)}
              </Detail>
              {s.name && <Detail term="Name">{s.name}</Detail>}
              <Detail term="Billing time">{s.billing_time}</Detail>
              <Detail term="Started">{formatDateTime(s.started_at, tz)}</Detail>
              <Detail term="Current period">
                {formatDateTime(s.current_billing_period_started_at, tz)} –{" "}
                {formatDateTime(s.current_billing_period_ending_at, tz)}
              </Detail>
              {s.trial_ended_at && <Detail term="Trial ended">{formatDateTime(s.trial_ended_at, tz)}</Detail>}
              {s.next_plan_code && (
                <Detail term="Scheduled downgrade">
                  to {s.next_plan_code} on {formatDate(s.downgrade_plan_date, tz)}
                </Detail>
              )}
              {s.previous_plan_code && <Detail term="Previous plan">{s.previous_plan_code}</Detail>}
              {s.ending_at && <Detail term="Ends">{formatDateTime(s.ending_at, tz)}</Detail>}
              {s.paused_at && <Detail term="Paused since">{formatDateTime(s.paused_at, tz)}</Detail>}
              {s.resume_at && <Detail term="Resumes">{formatDateTime(s.resume_at, tz)}</Detail>}
              {s.scheduled_pause_at && <Detail term="Pause scheduled">{formatDateTime(s.scheduled_pause_at, tz)}</Detail>}
              {s.terminated_at && <Detail term="Terminated">{formatDateTime(s.terminated_at, tz)}</Detail>}
              {s.canceled_at && <Detail term="Canceled">{formatDateTime(s.canceled_at, tz)}</Detail>}
              <Detail term="Workflow">
                {workflowUrl ? (
                  <>
                    <a className="break-all text-indigo-800 underline" href={workflowUrl} target="_blank" rel="noreferrer">
                      {workflowId}
                    </a>{" "}
                    <span className="text-xs text-slate-500">(Temporal UI, opens in a new tab)</span>
                  </>
                ) : (
                  <span className="break-all">{workflowId}</span>
                )}
              </Detail>
            </dl>
            <div className="flex gap-2">
              <Button variant="secondary" onClick={live.reload}>
                Refresh state
              </Button>
            </div>
            {!ended && can("createSubscription") && <ChangePlan s={s} onDone={changed} />}
            {!ended && can("updateSubscription") && <EditSubscription s={s} onDone={changed} />}
            {status === "active" && can("pauseSubscription") && <PauseForm s={s} onDone={changed} />}
            {status === "paused" && can("resumeSubscription") && <ResumeForm s={s} onDone={changed} />}
            {!ended && can("destroySubscription") && (
              <ConfirmButton
                label="Terminate subscription"
                title={`Terminate ${s.external_id}?`}
                message={
                  status === "pending"
                    ? "The pending subscription is canceled."
                    : "The subscription ends now and its final invoice is issued."
                }
                confirmLabel="Terminate"
                onConfirm={async () => {
                  await unwrap(
                    api.DELETE("/api/v1/subscriptions/{external_id}", { params: { path: { external_id: s.external_id } } }),
                  );
                  changed();
                }}
              />
            )}
          </div>
        )
      )}
    </Card>
  );
}

/** Runs an action; keeps its error for the form. */
function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = async (action: () => Promise<void>, doneText: string) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await action();
      setDone(doneText);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, done, run };
}

function Fieldset({ legend, children }: { legend: string; children: ReactNode }) {
  return (
    <fieldset className="space-y-2 rounded border border-slate-200 p-3">
      <legend className="px-1 text-sm font-semibold">{legend}</legend>
      {children}
    </fieldset>
  );
}

function ChangePlan({ s, onDone }: { s: Subscription; onDone: () => void }) {
  const { can } = useSession();
  const plans = usePlans(can("findAllPlans"));
  const [planCode, setPlanCode] = useState("");
  const a = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void a.run(async () => {
      // A plan change is Lago's POST /subscriptions with the same external_id: an upgrade
      // applies now (prorated invoice), a downgrade at the end of the period.
      await unwrap(
        api.POST("/api/v1/subscriptions", {
          body: {
            subscription: {
              external_customer_id: s.external_customer_id,
              external_id: s.external_id,
              plan_code: planCode,
              billing_time: s.billing_time,
            },
          },
        }),
      );
      onDone();
    }, "Plan change requested.");
  };
  return (
    <form onSubmit={submit} aria-label="Change plan">
      <Fieldset legend="Change plan">
        <ErrorNote error={formLevelError(a.error, ["plan_code"], "subscription")} />
        <ErrorNote error={plans.error} />
        <SelectField
          label="New plan"
          required
          value={planCode}
          onChange={(e) => setPlanCode(e.target.value)}
          errors={fieldErrors(a.error, "plan_code", "subscription")}
        >
          <option value="">Choose a plan…</option>
          {(plans.data ?? [])
            .filter((p) => p.code !== s.plan_code)
            .map((p) => (
              <option key={p.code} value={p.code}>
                {p.name} ({p.code}) · {formatMoney(p.amount_cents, p.amount_currency)} {p.interval}
              </option>
            ))}
        </SelectField>
        <p className="text-xs text-slate-500">An upgrade applies now; a downgrade at the end of the period.</p>
        <Button type="submit" disabled={a.busy || !planCode} aria-busy={a.busy || undefined}>
          Change plan
        </Button>
        {a.done && <p role="status" className="text-sm text-green-800">{a.done}</p>}
      </Fieldset>
    </form>
  );
}

function EditSubscription({ s, onDone }: { s: Subscription; onDone: () => void }) {
  const [name, setName] = useState(s.name ?? "");
  const [endingAt, setEndingAt] = useState(isoToUtcInput(s.ending_at));
  const a = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void a.run(async () => {
      await unwrap(
        api.PUT("/api/v1/subscriptions/{external_id}", {
          params: { path: { external_id: s.external_id } },
          body: { subscription: { name: name.trim() || null, ending_at: endingAt ? utcInputToIso(endingAt) : null } },
        }),
      );
      onDone();
    }, "Saved.");
  };
  return (
    <form onSubmit={submit} aria-label="Edit subscription">
      <Fieldset legend="Edit subscription">
        <ErrorNote error={formLevelError(a.error, ["name", "ending_at"], "subscription")} />
        <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} errors={fieldErrors(a.error, "name", "subscription")} />
        <Field
          label="Ending at (UTC)"
          type="datetime-local"
          value={endingAt}
          onChange={(e) => setEndingAt(e.target.value)}
          errors={fieldErrors(a.error, "ending_at", "subscription")}
        />
        <Button type="submit" variant="secondary" disabled={a.busy} aria-busy={a.busy || undefined}>
          Save subscription
        </Button>
        {a.done && <p role="status" className="text-sm text-green-800">{a.done}</p>}
      </Fieldset>
    </form>
  );
}

function PauseForm({ s, onDone }: { s: Subscription; onDone: () => void }) {
  const [pauseAt, setPauseAt] = useState<"now" | "end_of_period">("now");
  const [resumeAt, setResumeAt] = useState("");
  const a = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void a.run(async () => {
      await unwrap(
        api.POST("/api/v1/subscriptions/{external_id}/pause", {
          params: { path: { external_id: s.external_id } },
          body: { subscription: { pause_at: pauseAt, resume_at: resumeAt ? utcInputToIso(resumeAt) : null } },
        }),
      );
      onDone();
    }, pauseAt === "now" ? "Paused." : "Pause scheduled for the end of the period.");
  };
  return (
    <form onSubmit={submit} aria-label="Pause subscription">
      <Fieldset legend="Pause">
        <ErrorNote error={formLevelError(a.error, ["pause_at", "resume_at"], "subscription")} />
        <SelectField
          label="Pause at"
          value={pauseAt}
          onChange={(e) => setPauseAt(e.target.value === "end_of_period" ? "end_of_period" : "now")}
          errors={fieldErrors(a.error, "pause_at", "subscription")}
        >
          <option value="now">Now</option>
          <option value="end_of_period">End of the period</option>
        </SelectField>
        <Field
          label="Resume at (UTC, optional)"
          type="datetime-local"
          value={resumeAt}
          onChange={(e) => setResumeAt(e.target.value)}
          errors={fieldErrors(a.error, "resume_at", "subscription")}
        />
        <Button type="submit" variant="secondary" disabled={a.busy} aria-busy={a.busy || undefined}>
          Pause subscription
        </Button>
        {a.done && <p role="status" className="text-sm text-green-800">{a.done}</p>}
      </Fieldset>
    </form>
  );
}

function ResumeForm({ s, onDone }: { s: Subscription; onDone: () => void }) {
  const [resumeAt, setResumeAt] = useState("");
  const a = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void a.run(async () => {
      await unwrap(
        api.POST("/api/v1/subscriptions/{external_id}/resume", {
          params: { path: { external_id: s.external_id } },
          body: resumeAt ? { subscription: { resume_at: utcInputToIso(resumeAt) } } : {},
        }),
      );
      onDone();
    }, resumeAt ? "Resume rescheduled." : "Resumed.");
  };
  return (
    <form onSubmit={submit} aria-label="Resume subscription">
      <Fieldset legend="Resume">
        <ErrorNote error={formLevelError(a.error, ["resume_at"], "subscription")} />
        <Field
          label="Resume at (UTC, empty for now)"
          type="datetime-local"
          value={resumeAt}
          onChange={(e) => setResumeAt(e.target.value)}
          errors={fieldErrors(a.error, "resume_at", "subscription")}
        />
        <Button type="submit" variant="secondary" disabled={a.busy} aria-busy={a.busy || undefined}>
          Resume subscription
        </Button>
        {a.done && <p role="status" className="text-sm text-green-800">{a.done}</p>}
      </Fieldset>
    </form>
  );
}
