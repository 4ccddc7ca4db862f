// Webhooks: the organization's endpoints (list, create, delete), the signing secret, and
// every delivery with its attempts; "Retry" sends a failed delivery again.
import { Fragment, useState, type FormEvent } from "react";
import { api, unwrap } from "../../api/client";
import { Badge, FormErrorNote, FormPanel, Td, errorText, formErrors, unmatchedErrors } from "../../components/fin-kit";
import { Button, Card, ErrorNote, Field, PageHeader, Pager, SelectField, Table, type PageMeta } from "../../components/ui";
import { formatDateTime } from "../../lib/dates";
import { useAsync } from "../../lib/useAsync";
import { useMe, useSession } from "../session";

/** A delivery as GET /api/v1/webhooks answers it (docs/webhooks.md). */
interface Attempt {
  attempt: number;
  started_at: string | null;
  http_status: number | null;
  error: string | null;
  duration_ms: number | null;
}
interface Delivery {
  lago_id: string;
  lago_webhook_endpoint_id: string;
  webhook_url: string;
  webhook_type: string;
  object_type: string;
  object_id: string;
  status: "pending" | "succeeded" | "failed";
  retries: number;
  http_status: number | null;
  response: string | null;
  last_retried_at: string | null;
  created_at: string;
  attempts: Attempt[];
}
interface DeliveryPage {
  webhooks: Delivery[];
  meta: PageMeta;
}
type DeliveryStatus = Delivery["status"];
type Algo = "hmac" | "jwt";

function EndpointForm({ onDone, onCancel }: { onDone: () => void; onCancel: () => void }) {
  const [url, setUrl] = useState("");
  const [algo, setAlgo] = useState<Algo>("hmac");
  const [name, setName] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const errors = formErrors(error, ["webhook_endpoint"]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await unwrap(
        api.POST("/api/v1/webhook_endpoints", {
          body: { webhook_endpoint: { webhook_url: url.trim(), signature_algo: algo, name: name.trim() || null } },
        }),
      );
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <FormPanel title="New webhook endpoint">
      <form onSubmit={(e) => void submit(e)} className="grid max-w-xl gap-3">
        <Field label="Webhook URL" type="url" required value={url} onChange={(e) => setUrl(e.target.value)} errors={errors.webhook_url} autoFocus />
        <SelectField label="Signature algorithm" value={algo} onChange={(e) => setAlgo(e.target.value as Algo)} errors={errors.signature_algo}>
          <option value="hmac">HMAC (shared secret)</option>
          <option value="jwt">JWT (RS256)</option>
        </SelectField>
        <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} errors={errors.name} />
        <FormErrorNote error={error} unmatched={unmatchedErrors(errors, ["webhook_url", "signature_algo", "name"])} />
        <div className="flex gap-2">
          <Button type="submit" disabled={busy}>
            Create webhook endpoint
          </Button>
          <Button variant="secondary" onClick={onCancel}>
            Cancel
          </Button>
        </div>
      </form>
    </FormPanel>
  );
}

function SigningSecret() {
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const show = async () => {
    try {
      const data = (await unwrap(api.GET("/api/v1/webhook_endpoints/signing_secret"))) as {
        webhook_signing_secret?: { secret?: string; signature_algo?: string };
      };
      setSecret(data.webhook_signing_secret?.secret ?? "");
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div className="mt-3 text-sm">
      {secret === null ? (
        <Button variant="secondary" onClick={() => void show()}>
          Show signing secret
        </Button>
      ) : (
        <p>
          Signing secret (HMAC): <code className="rounded bg-slate-100 px-1">{secret}</code>{" "}
          <Button variant="secondary" onClick={() => setSecret(null)}>
            Hide signing secret
          </Button>
        </p>
      )}
      <ErrorNote error={error} />
    </div>
  );
}

function Endpoints() {
  const { can } = useSession();
  const tz = useMe().organization.timezone;
  const [page, setPage] = useState(1);
  const [creating, setCreating] = useState(false);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const list = useAsync(() => unwrap(api.GET("/api/v1/webhook_endpoints", { params: { query: { page, per_page: 20 } } })), [page]);
  const remove = async (id: string) => {
    setMessage(null);
    try {
      await unwrap(api.DELETE("/api/v1/webhook_endpoints/{lago_id}", { params: { path: { lago_id: id } } }));
      setMessage("Endpoint deleted.");
      setConfirm(null);
      list.reload();
    } catch (err) {
      setMessage(`Delete failed: ${errorText(err)}`);
    }
  };
  return (
    <Card title="Endpoints">
      {can("createWebhookEndpoint") && !creating && <Button onClick={() => setCreating(true)}>New webhook endpoint</Button>}
      {creating && (
        <EndpointForm
          onCancel={() => setCreating(false)}
          onDone={() => {
            setCreating(false);
            setMessage("Endpoint created.");
            list.reload();
          }}
        />
      )}
      <div role="status" aria-live="polite" className="my-2 text-sm">
        {message}
      </div>
      <ErrorNote error={list.error} />
      <Table label="Webhook endpoints" head={["URL", "Name", "Signature", "Created", ""]}>
        {list.data?.webhook_endpoints.map((ep) => (
          <tr key={ep.lago_id}>
            <Td className="break-all font-mono">{ep.webhook_url}</Td>
            <Td>{ep.name ?? "—"}</Td>
            <Td>{ep.signature_algo ?? "—"}</Td>
            <Td>{formatDateTime(ep.created_at, tz)}</Td>
            <Td>
              {can("destroyWebhookEndpoint") &&
                (confirm === ep.lago_id ? (
                  <span className="flex gap-2">
                    <Button variant="danger" onClick={() => void remove(ep.lago_id)}>
                      Confirm delete
                    </Button>
                    <Button variant="secondary" onClick={() => setConfirm(null)}>
                      Keep
                    </Button>
                  </span>
                ) : (
                  <Button variant="secondary" onClick={() => setConfirm(ep.lago_id)} aria-label={`Delete ${ep.webhook_url}`}>
                    Delete
                  </Button>
                ))}
            </Td>
          </tr>
        ))}
      </Table>
      {list.data && list.data.webhook_endpoints.length === 0 && <p className="mt-2 text-sm text-slate-500">No endpoints yet.</p>}
      <Pager meta={list.data?.meta} onPage={setPage} label="Endpoint pages" />
      {can("getSigningSecret") && <SigningSecret />}
    </Card>
  );
}

function Deliveries() {
  const { can } = useSession();
  const tz = useMe().organization.timezone;
  const [page, setPage] = useState(1);
  const [status, setStatus] = useState<DeliveryStatus | "">("");
  const [open, setOpen] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const list = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/webhooks", { params: { query: { page, per_page: 20, ...(status ? { status } : {}) } } }),
      ) as Promise<unknown> as Promise<DeliveryPage>,
    [page, status],
  );
  const retry = async (d: Delivery) => {
    setBusy(true);
    setMessage(null);
    try {
      await unwrap(api.POST("/api/v1/webhooks/{lago_id}/retry", { params: { path: { lago_id: d.lago_id } } }));
      setMessage(`Delivery ${d.webhook_type} sent again.`);
      list.reload();
    } catch (err) {
      setMessage(`Retry failed: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Deliveries">
      <div className="mb-3 max-w-xs">
        <SelectField
          label="Delivery status"
          value={status}
          onChange={(e) => {
            setPage(1);
            setStatus(e.target.value as DeliveryStatus | "");
          }}
        >
          <option value="">Any</option>
          <option value="pending">pending</option>
          <option value="succeeded">succeeded</option>
          <option value="failed">failed</option>
        </SelectField>
      </div>
      <div role="status" aria-live="polite" className="mb-2 text-sm">
        {message}
      </div>
      <ErrorNote error={list.error} />
      <Table label="Webhook deliveries" head={["Created", "Type", "Object", "Endpoint", "Status", "Last HTTP status", "Attempts", ""]}>
        {list.data?.webhooks.map((d) => (
          <Fragment key={d.lago_id}>
            <tr>
              <Td>{formatDateTime(d.created_at, tz)}</Td>
              <Td>{d.webhook_type}</Td>
              <Td className="font-mono text-xs">
                {d.object_type} {d.object_id.slice(0, 8)}
              </Td>
              <Td className="break-all text-xs">{d.webhook_url}</Td>
              <Td>
                <Badge value={d.status} />
              </Td>
              <Td>{d.http_status ?? "—"}</Td>
              <Td>
                <Button
                  variant="secondary"
                  aria-expanded={open === d.lago_id}
                  onClick={() => setOpen(open === d.lago_id ? null : d.lago_id)}
                >
                  {open === d.lago_id ? "Hide attempts" : `Show ${d.attempts.length} attempts`}
                </Button>
              </Td>
              <Td>
                {d.status === "failed" && can("retryWebhook") && (
                  <Button disabled={busy} onClick={() => void retry(d)} aria-label={`Retry ${d.webhook_type} delivery`}>
                    Retry
                  </Button>
                )}
              </Td>
            </tr>
            {open === d.lago_id && (
              <tr>
                <td colSpan={8} className="bg-slate-50 px-4 py-2">
                  <Table label={`Attempts of ${d.webhook_type}`} head={["Attempt", "Started", "HTTP status", "Error", "Duration"]}>
                    {d.attempts.map((a) => (
                      <tr key={a.attempt}>
                        <Td>{a.attempt}</Td>
                        <Td>{formatDateTime(a.started_at, tz)}</Td>
                        <Td>{a.http_status ?? "—"}</Td>
                        <Td className="break-all text-xs">{a.error ?? "—"}</Td>
                        <Td>{a.duration_ms === null ? "—" : `${a.duration_ms} ms`}</Td>
                      </tr>
                    ))}
                  </Table>
                  {d.response && (
                    <p className="mt-2 break-all text-xs text-slate-600">
                      Last response: <code>{d.response}</code>
                    </p>
                  )}
                </td>
              </tr>
            )}
          </Fragment>
        ))}
      </Table>
      {list.data && list.data.webhooks.length === 0 && <p className="mt-2 text-sm text-slate-500">No deliveries.</p>}
      <Pager meta={list.data?.meta} onPage={setPage} label="Delivery pages" />
    </Card>
  );
}

export default function Webhooks() {
  const { can } = useSession();
  return (
    <div className="space-y-6">
      <PageHeader title="Webhooks" />
      {can("findAllWebhookEndpoints") && <Endpoints />}
      {can("listWebhooks") && <Deliveries />}
    </div>
  );
}
