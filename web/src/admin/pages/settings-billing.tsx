// Settings: the organization (PUT /api/v1/organizations), payment retries (the
// organization's dunning_retry_days and dunning_outcome) and dunning campaigns.
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { FormErrorNote, FormPanel, Td, errorText, formErrors, parseWhole, unmatchedErrors } from "../../components/fin-kit";
import { Button, Card, CheckboxField, ErrorNote, Field, Pager, SelectField, Table, TextAreaField, type PageMeta } from "../../components/ui";
import { formatMoney, minorToDecimalString, parseMajorToMinor } from "../../lib/money";
import { useAsync } from "../../lib/useAsync";
import { useSession } from "../session";

/** GET /organizations's object, with bxb's dunning settings in billing_configuration. */
type OrgObject = Omit<Schemas["OrganizationObject"], "billing_configuration"> & {
  billing_configuration: {
    invoice_footer?: string | null;
    invoice_grace_period?: number;
    document_locale?: string;
    dunning_retry_days?: number[];
    dunning_outcome?: "keep_past_due" | "terminate";
  };
};

const TIMEZONES: string[] = (() => {
  try {
    return ["UTC", ...Intl.supportedValuesOf("timeZone").filter((z) => z !== "UTC")];
  } catch {
    return ["UTC"];
  }
})();

const LOCALES = ["en", "fr", "de", "es", "it", "nl", "pt", "sv", "nb"];

export function useOrganization() {
  return useAsync(async () => {
    const data = (await unwrap(api.GET("/api/v1/organizations"))) as { organization: OrgObject };
    return data.organization;
  }, []);
}

function OrganizationForm({ org, onSaved }: { org: OrgObject; onSaved: () => void }) {
  const { can } = useSession();
  const editable = can("updateOrganization");
  const bc = org.billing_configuration ?? {};
  const [timezone, setTimezone] = useState<string>(org.timezone ?? "UTC");
  const [currency, setCurrency] = useState<string>(org.default_currency ?? "USD");
  const [netTerm, setNetTerm] = useState(String(org.net_payment_term ?? 0));
  const [grace, setGrace] = useState(String(bc.invoice_grace_period ?? 0));
  const [footer, setFooter] = useState(bc.invoice_footer ?? "");
  const [locale, setLocale] = useState(bc.document_locale ?? "en");
  const [error, setError] = useState<unknown>(null);
  const [local, setLocal] = useState<Record<string, string[]>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const server = formErrors(error, ["organization"]);
  const errors = { ...server, ...local };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setMessage(null);
    const found: Record<string, string[]> = {};
    const term = parseWhole(netTerm);
    const gracePeriod = parseWhole(grace);
    if (term === null) found.net_payment_term = ["invalid_integer"];
    if (gracePeriod === null) found["billing_configuration.invoice_grace_period"] = ["invalid_integer"];
    setLocal(found);
    if (term === null || gracePeriod === null) return;
    setBusy(true);
    try {
      await unwrap(
        api.PUT("/api/v1/organizations", {
          body: {
            organization: {
              timezone,
              default_currency: currency.trim().toUpperCase(),
              net_payment_term: term,
              billing_configuration: {
                invoice_grace_period: gracePeriod,
                invoice_footer: footer,
                document_locale: locale.trim(),
              },
            },
          },
        }),
      );
      setMessage("Organization saved.");
      onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const shown = [
    "timezone",
    "default_currency",
    "net_payment_term",
    "billing_configuration.invoice_grace_period",
    "billing_configuration.invoice_footer",
    "billing_configuration.document_locale",
  ];
  return (
    <Card title="Organization">
      <form onSubmit={(e) => void submit(e)} className="grid max-w-2xl grid-cols-2 gap-3" noValidate>
        <Field label="Name" value={org.name} readOnly disabled title="The API does not change an organization's name" />
        <SelectField label="Timezone" value={timezone} onChange={(e) => setTimezone(e.target.value)} disabled={!editable} errors={errors.timezone}>
          {!TIMEZONES.includes(timezone) && <option value={timezone}>{timezone}</option>}
          {TIMEZONES.map((z) => (
            <option key={z} value={z}>
              {z}
            </option>
          ))}
        </SelectField>
        <Field
          label="Default currency"
          value={currency}
          maxLength={3}
          onChange={(e) => setCurrency(e.target.value.toUpperCase())}
          disabled={!editable}
          errors={errors.default_currency}
        />
        <Field
          label="Net payment term (days)"
          inputMode="numeric"
          value={netTerm}
          onChange={(e) => setNetTerm(e.target.value)}
          disabled={!editable}
          errors={errors.net_payment_term}
        />
        <Field
          label="Invoice grace period (days)"
          inputMode="numeric"
          value={grace}
          onChange={(e) => setGrace(e.target.value)}
          disabled={!editable}
          errors={errors["billing_configuration.invoice_grace_period"]}
        />
        <SelectField
          label="Document locale"
          value={locale}
          onChange={(e) => setLocale(e.target.value)}
          disabled={!editable}
          errors={errors["billing_configuration.document_locale"]}
        >
          {!LOCALES.includes(locale) && <option value={locale}>{locale}</option>}
          {LOCALES.map((l) => (
            <option key={l} value={l}>
              {l}
            </option>
          ))}
        </SelectField>
        <div className="col-span-2">
          <TextAreaField
            label="Invoice footer"
            value={footer}
            maxLength={600}
            onChange={(e) => setFooter(e.target.value)}
            disabled={!editable}
            errors={errors["billing_configuration.invoice_footer"]}
          />
        </div>
        <div className="col-span-2 space-y-2">
          <FormErrorNote error={error} unmatched={unmatchedErrors(server, shown)} />
          <div role="status" aria-live="polite" className="text-sm text-green-800">
            {message}
          </div>
          {editable && (
            <Button type="submit" disabled={busy}>
              Save organization
            </Button>
          )}
        </div>
      </form>
    </Card>
  );
}

function RetriesForm({ org, onSaved }: { org: OrgObject; onSaved: () => void }) {
  const { can } = useSession();
  const editable = can("updateOrganization");
  const bc = org.billing_configuration ?? {};
  const [days, setDays] = useState((bc.dunning_retry_days ?? [1, 3, 5, 7]).join(", "));
  const [outcome, setOutcome] = useState<"keep_past_due" | "terminate">(bc.dunning_outcome ?? "keep_past_due");
  const [error, setError] = useState<unknown>(null);
  const [local, setLocal] = useState<string[] | undefined>(undefined);
  const [message, setMessage] = useState<string | null>(null);
  const server = formErrors(error, ["organization"]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setMessage(null);
    const parts = days.split(",").map((d) => d.trim()).filter(Boolean);
    const parsed = parts.map(parseWhole);
    if (parsed.some((d) => d === null)) {
      setLocal(["whole numbers of days, separated by commas"]);
      return;
    }
    setLocal(undefined);
    try {
      await unwrap(
        api.PUT("/api/v1/organizations", {
          body: { organization: { billing_configuration: { dunning_retry_days: parsed as number[], dunning_outcome: outcome } } },
        }),
      );
      setMessage("Payment retries saved.");
      onSaved();
    } catch (err) {
      setError(err);
    }
  };
  const dayErrors = [
    ...(local ?? []),
    ...Object.entries(server)
      .filter(([k]) => k.startsWith("billing_configuration.dunning_retry_days"))
      .flatMap(([, v]) => v),
  ];
  return (
    <Card title="Payment retries">
      <p className="mb-2 text-sm text-slate-600">
        After a declined payment, bxb retries on these days after the first failure; then the outcome applies.
      </p>
      <form onSubmit={(e) => void submit(e)} className="grid max-w-2xl grid-cols-2 gap-3" noValidate>
        <Field label="Retry days" value={days} onChange={(e) => setDays(e.target.value)} disabled={!editable} errors={dayErrors.length ? dayErrors : undefined} />
        <SelectField
          label="Dunning outcome"
          value={outcome}
          onChange={(e) => setOutcome(e.target.value as "keep_past_due" | "terminate")}
          disabled={!editable}
          errors={server["billing_configuration.dunning_outcome"]}
        >
          <option value="keep_past_due">Keep past due (mark overdue)</option>
          <option value="terminate">Terminate the subscription</option>
        </SelectField>
        <div className="col-span-2 space-y-2">
          <FormErrorNote
            error={error}
            unmatched={Object.keys(server)
              .filter((k) => !k.startsWith("billing_configuration.dunning_"))
              .map((k) => `${k}: ${(server[k] ?? []).join(", ")}`)}
          />
          <div role="status" aria-live="polite" className="text-sm text-green-800">
            {message}
          </div>
          {editable && <Button type="submit">Save payment retries</Button>}
        </div>
      </form>
    </Card>
  );
}

interface Campaign {
  lago_id: string;
  code: string;
  name: string;
  description: string | null;
  applied_to_organization: boolean;
  days_between_attempts: number;
  max_attempts: number;
  bcc_emails: string[];
  thresholds: { lago_id?: string; amount_cents: number; currency: string }[];
  customers_count?: number;
}

interface ThresholdRow {
  currency: string;
  amount: string;
}

function CampaignForm({ campaign, defaultCurrency, onDone, onCancel }: { campaign: Campaign | null; defaultCurrency: string; onDone: () => void; onCancel: () => void }) {
  const [code, setCode] = useState(campaign?.code ?? "");
  const [name, setName] = useState(campaign?.name ?? "");
  const [description, setDescription] = useState(campaign?.description ?? "");
  const [isDefault, setIsDefault] = useState(campaign?.applied_to_organization ?? false);
  const [days, setDays] = useState(String(campaign?.days_between_attempts ?? 3));
  const [max, setMax] = useState(String(campaign?.max_attempts ?? 3));
  const [bcc, setBcc] = useState((campaign?.bcc_emails ?? []).join(", "));
  const [rows, setRows] = useState<ThresholdRow[]>(
    campaign?.thresholds.map((t) => ({ currency: t.currency, amount: minorToDecimalString(t.amount_cents, t.currency) })) ?? [
      { currency: defaultCurrency, amount: "" },
    ],
  );
  const [error, setError] = useState<unknown>(null);
  const [local, setLocal] = useState<Record<string, string[]>>({});
  const [busy, setBusy] = useState(false);
  const server = formErrors(error, ["dunning_campaign"]);
  const errors: Record<string, string[]> = { ...server, ...local };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const found: Record<string, string[]> = {};
    const d = parseWhole(days);
    const m = parseWhole(max);
    if (d === null) found.days_between_attempts = ["invalid_integer"];
    if (m === null) found.max_attempts = ["invalid_integer"];
    const thresholds = rows.map((r, i) => {
      const cur = r.currency.trim().toUpperCase();
      let cents: number | null = null;
      try {
        cents = parseMajorToMinor(r.amount, cur);
      } catch {
        found[`thresholds.${i}.currency`] = ["invalid_currency"];
      }
      if (cents === null && !found[`thresholds.${i}.currency`]) found[`thresholds.${i}.amount_cents`] = ["invalid_amount"];
      return { currency: cur, amount_cents: cents ?? 0 };
    });
    setLocal(found);
    if (Object.keys(found).length > 0 || d === null || m === null) return;
    const fields = {
      code: code.trim(),
      name: name.trim(),
      description: description.trim() || null,
      applied_to_organization: isDefault,
      days_between_attempts: d,
      max_attempts: m,
      bcc_emails: bcc.split(",").map((x) => x.trim()).filter(Boolean),
      thresholds,
    };
    setBusy(true);
    try {
      if (campaign)
        await unwrap(
          api.PUT("/api/v1/dunning_campaigns/{code}", { params: { path: { code: campaign.code } }, body: { dunning_campaign: fields } }),
        );
      else await unwrap(api.POST("/api/v1/dunning_campaigns", { body: { dunning_campaign: fields } }));
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const shown = [
    "code",
    "name",
    "description",
    "applied_to_organization",
    "days_between_attempts",
    "max_attempts",
    "bcc_emails",
    "thresholds",
    ...rows.flatMap((_, i) => [`thresholds.${i}.currency`, `thresholds.${i}.amount_cents`]),
  ];
  return (
    <FormPanel title={campaign ? `Edit dunning campaign ${campaign.code}` : "New dunning campaign"}>
      <form onSubmit={(e) => void submit(e)} className="grid max-w-2xl grid-cols-2 gap-3" noValidate>
        <Field label="Campaign code" value={code} onChange={(e) => setCode(e.target.value)} errors={errors.code} autoFocus />
        <Field label="Campaign name" value={name} onChange={(e) => setName(e.target.value)} errors={errors.name} />
        <Field label="Days between attempts" inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} errors={errors.days_between_attempts} />
        <Field label="Max attempts" inputMode="numeric" value={max} onChange={(e) => setMax(e.target.value)} errors={errors.max_attempts} />
        <Field label="BCC emails" value={bcc} onChange={(e) => setBcc(e.target.value)} placeholder="billing@example.com, ..." errors={errors.bcc_emails} />
        <Field label="Campaign description" value={description} onChange={(e) => setDescription(e.target.value)} errors={errors.description} />
        <div className="col-span-2">
          <CheckboxField
            label="Default campaign of the organization"
            checked={isDefault}
            onChange={(e) => setIsDefault(e.target.checked)}
            errors={errors.applied_to_organization}
          />
        </div>
        <fieldset className="col-span-2 grid gap-2 rounded border border-slate-200 p-3">
          <legend className="px-1 text-sm font-medium">Thresholds (one per currency)</legend>
          {errors.thresholds && (
            <p role="alert" className="text-xs text-red-700">
              {errors.thresholds.join(", ")}
            </p>
          )}
          {rows.map((r, i) => (
            <div key={i} className="grid grid-cols-3 items-end gap-2">
              <Field
                label={`Threshold ${i + 1} currency`}
                value={r.currency}
                maxLength={3}
                onChange={(e) => setRows((rs) => rs.map((x, j) => (j === i ? { ...x, currency: e.target.value.toUpperCase() } : x)))}
                errors={errors[`thresholds.${i}.currency`]}
              />
              <Field
                label={`Threshold ${i + 1} amount`}
                inputMode="decimal"
                value={r.amount}
                onChange={(e) => setRows((rs) => rs.map((x, j) => (j === i ? { ...x, amount: e.target.value } : x)))}
                errors={errors[`thresholds.${i}.amount_cents`]}
              />
              {rows.length > 1 && (
                <Button variant="secondary" onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))}>
                  Remove threshold {i + 1}
                </Button>
              )}
            </div>
          ))}
          <div>
            <Button variant="secondary" onClick={() => setRows((rs) => [...rs, { currency: "", amount: "" }])}>
              Add threshold
            </Button>
          </div>
        </fieldset>
        <div className="col-span-2 space-y-2">
          <FormErrorNote error={error} unmatched={unmatchedErrors(server, shown)} />
          <div className="flex gap-2">
            <Button type="submit" disabled={busy}>
              {campaign ? "Save dunning campaign" : "Create dunning campaign"}
            </Button>
            <Button variant="secondary" onClick={onCancel}>
              Cancel
            </Button>
          </div>
        </div>
      </form>
    </FormPanel>
  );
}

function Campaigns({ defaultCurrency }: { defaultCurrency: string }) {
  const { can } = useSession();
  const [page, setPage] = useState(1);
  const [editing, setEditing] = useState<Campaign | "new" | null>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const list = useAsync(
    async () =>
      (await unwrap(api.GET("/api/v1/dunning_campaigns", { params: { query: { page, per_page: 20 } } }))) as unknown as {
        dunning_campaigns: Campaign[];
        meta: PageMeta;
      },
    [page],
  );
  const remove = async (code: string) => {
    setMessage(null);
    try {
      await unwrap(api.DELETE("/api/v1/dunning_campaigns/{code}", { params: { path: { code } } }));
      setConfirm(null);
      setMessage(`Campaign ${code} deleted.`);
      list.reload();
    } catch (err) {
      setMessage(`Delete failed: ${errorText(err)}`);
    }
  };
  return (
    <Card title="Dunning campaigns">
      {can("createDunningCampaign") && !editing && <Button onClick={() => setEditing("new")}>New dunning campaign</Button>}
      {editing && (
        <CampaignForm
          key={editing === "new" ? "new" : editing.lago_id}
          campaign={editing === "new" ? null : editing}
          defaultCurrency={defaultCurrency}
          onCancel={() => setEditing(null)}
          onDone={() => {
            setEditing(null);
            setMessage("Campaign saved.");
            list.reload();
          }}
        />
      )}
      <div role="status" aria-live="polite" className="my-2 text-sm">
        {message}
      </div>
      <ErrorNote error={list.error} />
      <Table label="Dunning campaigns" head={["Code", "Name", "Default", "Every (days)", "Max attempts", "Thresholds", "Customers", ""]}>
        {list.data?.dunning_campaigns.map((c) => (
          <tr key={c.lago_id}>
            <Td className="font-mono">{c.code}</Td>
            <Td>{c.name}</Td>
            <Td>{c.applied_to_organization ? "Yes" : "No"}</Td>
            <Td>{c.days_between_attempts}</Td>
            <Td>{c.max_attempts}</Td>
            <Td>{c.thresholds.map((t) => formatMoney(t.amount_cents, t.currency)).join(", ")}</Td>
            <Td>{c.customers_count ?? "—"}</Td>
            <Td>
              <span className="flex gap-2">
                {can("updateDunningCampaign") && (
                  <Button variant="secondary" onClick={() => setEditing(c)} aria-label={`Edit campaign ${c.code}`}>
                    Edit
                  </Button>
                )}
                {can("deleteDunningCampaign") &&
                  (confirm === c.code ? (
                    <>
                      <Button variant="danger" onClick={() => void remove(c.code)}>
                        Confirm delete
                      </Button>
                      <Button variant="secondary" onClick={() => setConfirm(null)}>
                        Keep
                      </Button>
                    </>
                  ) : (
                    <Button variant="secondary" onClick={() => setConfirm(c.code)} aria-label={`Delete campaign ${c.code}`}>
                      Delete
                    </Button>
                  ))}
              </span>
            </Td>
          </tr>
        ))}
      </Table>
      {list.data && list.data.dunning_campaigns.length === 0 && <p className="mt-2 text-sm text-slate-500">No campaigns.</p>}
      <Pager meta={list.data?.meta} onPage={setPage} />
    </Card>
  );
}

export function OrganizationSettings() {
  const org = useOrganization();
  if (org.error) return <ErrorNote error={org.error} />;
  if (!org.data) return <p className="text-sm text-slate-500">Loading…</p>;
  return <OrganizationForm key={org.data.lago_id} org={org.data} onSaved={org.reload} />;
}

export function DunningSettings() {
  const { can } = useSession();
  const org = useOrganization();
  return (
    <div className="space-y-4">
      <ErrorNote error={org.error} />
      {org.data && <RetriesForm key={org.data.lago_id} org={org.data} onSaved={org.reload} />}
      {can("listDunningCampaigns") && <Campaigns defaultCurrency={org.data?.default_currency ?? "USD"} />}
    </div>
  );
}
