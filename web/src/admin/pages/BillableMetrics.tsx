// Billable metrics: the server-paged list, and the create / edit form (POST, PUT by code).
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { FormErrorNote, FormPanel, Td, formErrors, unmatchedErrors } from "../../components/fin-kit";
import { Button, CheckboxField, ErrorNote, Field, PageHeader, Pager, SelectField, Table } from "../../components/ui";
import { formatDateTime } from "../../lib/dates";
import { useAsync } from "../../lib/useAsync";
import { useMe, useSession } from "../session";

type Metric = Schemas["BillableMetricObject"];
type Aggregation = Schemas["BillableMetricCreate"]["aggregation_type"];

/** Every aggregation POST /billable_metrics accepts (BillableMetricCreate.aggregation_type). */
export const AGGREGATIONS: { value: Aggregation; label: string }[] = [
  { value: "count_agg", label: "Count" },
  { value: "sum_agg", label: "Sum" },
  { value: "max_agg", label: "Max" },
  { value: "unique_count_agg", label: "Unique count" },
  { value: "latest_agg", label: "Latest" },
  { value: "weighted_sum_agg", label: "Weighted sum" },
];

const FIELDS = ["name", "code", "aggregation_type", "field_name", "recurring", "description"];

function MetricForm({ metric, onDone }: { metric: Metric | null; onDone: () => void }) {
  const [name, setName] = useState(metric?.name ?? "");
  const [code, setCode] = useState(metric?.code ?? "");
  const [aggregation, setAggregation] = useState<Aggregation>(metric?.aggregation_type ?? "count_agg");
  const [fieldName, setFieldName] = useState(metric?.field_name ?? "");
  const [recurring, setRecurring] = useState(metric?.recurring ?? false);
  const [description, setDescription] = useState(metric?.description ?? "");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const errors = formErrors(error, ["billable_metric"]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const fields = {
      name,
      code,
      aggregation_type: aggregation,
      field_name: aggregation === "count_agg" ? null : fieldName || null,
      recurring,
      description: description || null,
      ...(aggregation === "weighted_sum_agg" ? { weighted_interval: "seconds" as const } : {}),
    };
    try {
      if (metric)
        await unwrap(
          api.PUT("/api/v1/billable_metrics/{code}", {
            params: { path: { code: metric.code } },
            body: { billable_metric: fields },
          }),
        );
      else await unwrap(api.POST("/api/v1/billable_metrics", { body: { billable_metric: fields } }));
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <FormPanel title={metric ? `Edit billable metric ${metric.code}` : "New billable metric"}>
      <form onSubmit={(e) => void submit(e)} className="grid max-w-xl gap-3">
        <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} required errors={errors.name} autoFocus />
        <Field label="Code" value={code} onChange={(e) => setCode(e.target.value)} required errors={errors.code} />
        <SelectField
          label="Aggregation"
          value={aggregation}
          onChange={(e) => setAggregation(e.target.value as Aggregation)}
          errors={errors.aggregation_type}
        >
          {AGGREGATIONS.map((a) => (
            <option key={a.value} value={a.value}>
              {a.label} ({a.value})
            </option>
          ))}
        </SelectField>
        <Field
          label="Field name"
          value={fieldName}
          onChange={(e) => setFieldName(e.target.value)}
          disabled={aggregation === "count_agg"}
          placeholder={aggregation === "count_agg" ? "Not used by count" : "e.g. amount"}
          errors={errors.field_name}
        />
        <CheckboxField label="Recurring" checked={recurring} onChange={(e) => setRecurring(e.target.checked)} errors={errors.recurring} />
        <Field label="Description" value={description} onChange={(e) => setDescription(e.target.value)} errors={errors.description} />
        <FormErrorNote error={error} unmatched={unmatchedErrors(errors, FIELDS)} />
        <div className="flex gap-2">
          <Button type="submit" disabled={busy}>
            {metric ? "Save billable metric" : "Create billable metric"}
          </Button>
          <Button variant="secondary" onClick={onDone}>
            Cancel
          </Button>
        </div>
      </form>
    </FormPanel>
  );
}

export default function BillableMetrics() {
  const { can } = useSession();
  const me = useMe();
  const [page, setPage] = useState(1);
  const [editing, setEditing] = useState<Metric | "new" | null>(null);
  const list = useAsync(
    () => unwrap(api.GET("/api/v1/billable_metrics", { params: { query: { page, per_page: 20 } } })),
    [page],
  );
  const done = () => {
    setEditing(null);
    list.reload();
  };

  return (
    <div>
      <PageHeader
        title="Billable metrics"
        actions={
          can("createBillableMetric") && (
            <Button onClick={() => setEditing("new")}>New billable metric</Button>
          )
        }
      />
      {editing && <MetricForm key={editing === "new" ? "new" : editing.lago_id} metric={editing === "new" ? null : editing} onDone={done} />}
      <ErrorNote error={list.error} />
      <Table label="Billable metrics" head={["Name", "Code", "Aggregation", "Field", "Recurring", "Created", ""]}>
        {list.data?.billable_metrics.map((m) => (
          <tr key={m.lago_id}>
            <Td>{m.name}</Td>
            <Td className="font-mono">{m.code}</Td>
            <Td>{m.aggregation_type}</Td>
            <Td>{m.field_name ?? "—"}</Td>
            <Td>{m.recurring ? "Yes" : "No"}</Td>
            <Td>{formatDateTime(m.created_at, me.organization.timezone)}</Td>
            <Td>
              {can("updateBillableMetric") && (
                <Button variant="secondary" onClick={() => setEditing(m)} aria-label={`Edit ${m.code}`}>
                  Edit
                </Button>
              )}
            </Td>
          </tr>
        ))}
      </Table>
      {list.loading && <p className="mt-2 text-sm text-slate-500">Loading…</p>}
      {list.data && list.data.billable_metrics.length === 0 && <p className="mt-2 text-sm text-slate-500">No billable metrics yet.</p>}
      <Pager meta={list.data?.meta} onPage={setPage} />
    </div>
  );
}
