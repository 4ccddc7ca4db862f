// Events: the stored usage events (GET /events by code and subscription; one event by its
// transaction id), and the rejected ones. The API does not store an event it refuses, so
// "Rejected events" reads the API log of POST /events* answered with a 4xx.
import * as Tabs from "@radix-ui/react-tabs";
import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { api, ApiError, unwrap, type Schemas } from "../../api/client";
import { Button, ErrorNote, Field, PageHeader, Pager, SelectField, Table } from "../../components/ui";
import { formatDateTime } from "../../lib/dates";
import { useAsync } from "../../lib/useAsync";
import { useMe, useSession } from "../session";
import { Loading, pageMeta } from "./common";

/** The 4xx answers the API gives an event post (the log filter takes codes, or "failed"
 * for every status from 400 on, 5xx included). */
const CLIENT_ERRORS = ["400", "403", "404", "405", "409", "413", "415", "422", "429"];

const tabClass =
  "rounded-t border border-b-0 border-slate-200 px-3 py-1.5 text-sm data-[state=active]:bg-white data-[state=active]:font-semibold data-[state=inactive]:bg-slate-100";

export default function Events() {
  const { can } = useSession();
  const showEvents = can("findAllEvents");
  const showRejected = can("findAllApiLogs");
  return (
    <div className="space-y-4">
      <PageHeader title="Events" />
      {!showEvents && !showRejected ? (
        <p className="text-sm text-slate-600">Your role does not include events.</p>
      ) : (
        <Tabs.Root defaultValue={showEvents ? "recent" : "rejected"}>
          <Tabs.List aria-label="Events" className="flex gap-1 border-b border-slate-200">
            {showEvents && (
              <Tabs.Trigger value="recent" className={tabClass}>
                Recent events
              </Tabs.Trigger>
            )}
            {showRejected && (
              <Tabs.Trigger value="rejected" className={tabClass}>
                Rejected events
              </Tabs.Trigger>
            )}
          </Tabs.List>
          {showEvents && (
            <Tabs.Content value="recent" className="pt-4">
              <RecentEvents />
            </Tabs.Content>
          )}
          {showRejected && (
            <Tabs.Content value="rejected" className="pt-4">
              <RejectedEvents />
            </Tabs.Content>
          )}
        </Tabs.Root>
      )}
    </div>
  );
}

interface EventQuery {
  code: string;
  subscription: string;
  transaction: string;
}

type EventRow = Schemas["EventObject"];

function RecentEvents() {
  const me = useMe();
  const [draft, setDraft] = useState<EventQuery>({ code: "", subscription: "", transaction: "" });
  const [query, setQuery] = useState<EventQuery>(draft);
  const [page, setPage] = useState(1);

  const events = useAsync(async (): Promise<{ rows: EventRow[]; meta?: Schemas["PaginationMeta"] }> => {
    if (query.transaction) {
      // One event by its transaction id (the list has no such filter).
      try {
        const data = await unwrap(
          api.GET("/api/v1/events/{transaction_id}", { params: { path: { transaction_id: query.transaction } } }),
        );
        return { rows: [data.event] };
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return { rows: [] };
        throw e;
      }
    }
    const data = await unwrap(
      api.GET("/api/v1/events", {
        params: {
          query: {
            code: query.code || undefined,
            external_subscription_id: query.subscription || undefined,
            page,
            per_page: 25,
          },
        },
      }),
    );
    return { rows: data.events, meta: data.meta };
  }, [query, page]);

  const search = (e: FormEvent) => {
    e.preventDefault();
    setPage(1);
    setQuery({ code: draft.code.trim(), subscription: draft.subscription.trim(), transaction: draft.transaction.trim() });
  };
  const tz = me.organization.timezone;

  return (
    <div className="space-y-3">
      <form role="search" aria-label="Events" onSubmit={search} className="flex flex-wrap items-end gap-3">
        <div className="w-44">
          <Field label="Metric code" value={draft.code} onChange={(e) => setDraft({ ...draft, code: e.target.value })} />
        </div>
        <div className="w-56">
          <Field
            label="External subscription ID"
            value={draft.subscription}
            onChange={(e) => setDraft({ ...draft, subscription: e.target.value })}
          />
        </div>
        <div className="w-56">
          <Field
            label="Transaction ID"
            value={draft.transaction}
            onChange={(e) => setDraft({ ...draft, transaction: e.target.value })}
          />
        </div>
        <Button type="submit" variant="secondary">
          Search events
        </Button>
      </form>
      {query.transaction && (
        <p className="text-xs text-slate-500">Looking up one transaction ID; the other filters are not used.</p>
      )}
      <ErrorNote error={events.error} />
      {events.loading && !events.data ? (
        <Loading />
      ) : (
        <>
          <Table label="Recent events" head={["Timestamp", "Code", "Subscription", "Transaction ID", "Received", "Properties"]}>
            {(events.data?.rows ?? []).map((ev) => (
              <tr key={`${ev.external_subscription_id}/${ev.transaction_id}`} className="border-b border-slate-100 align-top">
                <td className="px-2 py-1.5">{formatDateTime(ev.timestamp, tz)}</td>
                <td className="px-2 py-1.5">{ev.code}</td>
                <td className="px-2 py-1.5">
                  <Link
                    className="text-indigo-800 underline"
                    to={`/subscriptions?selected=${encodeURIComponent(ev.external_subscription_id)}`}
                  >
                    {ev.external_subscription_id}
                  </Link>
                </td>
                <td className="px-2 py-1.5 font-mono text-xs">{ev.transaction_id}</td>
                <td className="px-2 py-1.5">{formatDateTime(ev.created_at, tz)}</td>
                <td className="px-2 py-1.5">
                  <code className="text-xs break-all">{JSON.stringify(ev.properties ?? {})}</code>
                </td>
              </tr>
            ))}
          </Table>
          {events.data && events.data.rows.length === 0 && <p className="text-sm text-slate-500">No events found.</p>}
          <Pager meta={pageMeta(events.data?.meta)} onPage={setPage} />
        </>
      )}
    </div>
  );
}

function RejectedEvents() {
  const me = useMe();
  const [status, setStatus] = useState("4xx");
  const [page, setPage] = useState(1);
  const logs = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/api_logs", {
          params: {
            query: {
              request_paths: "/events",
              "http_methods[]": ["post"],
              "http_statuses[]": status === "4xx" ? CLIENT_ERRORS : [status],
              page,
              per_page: 25,
            },
          },
        }),
      ),
    [status, page],
  );
  const tz = me.organization.timezone;
  const rows = logs.data?.api_logs ?? [];

  return (
    <div className="space-y-3">
      <p className="text-sm text-slate-600">
        Event posts the API refused (it does not store a refused event). Request and answer
        bodies are shown only when the organization keeps them (
        <code>api_log_bodies</code> in its settings).
      </p>
      <div className="w-56">
        <SelectField
          label="Answer"
          value={status}
          onChange={(e) => {
            setStatus(e.target.value);
            setPage(1);
          }}
        >
          <option value="4xx">Any 4xx</option>
          <option value="422">422 (invalid)</option>
          <option value="429">429 (rate limited)</option>
          <option value="failed">Any failure (4xx and 5xx)</option>
        </SelectField>
      </div>
      <ErrorNote error={logs.error} />
      {logs.loading && !logs.data ? (
        <Loading />
      ) : (
        <>
          <Table label="Rejected events" head={["Logged at", "Request", "Status", "Client", "Request ID", "Details"]}>
            {rows.map((log) => (
              <tr key={log.request_id} className="border-b border-slate-100 align-top">
                <td className="px-2 py-1.5">{formatDateTime(log.logged_at, tz)}</td>
                <td className="px-2 py-1.5">
                  {log.http_method.toUpperCase()} {log.request_path}
                </td>
                <td className="px-2 py-1.5 font-medium text-red-800">{log.http_status}</td>
                <td className="px-2 py-1.5 text-xs">{log.client}</td>
                <td className="px-2 py-1.5 font-mono text-xs">{log.request_id}</td>
                <td className="px-2 py-1.5">
                  {log.request_body || log.request_response ? (
                    <details className="text-xs">
                      <summary className="cursor-pointer">Bodies</summary>
                      <Body label="Request" text={log.request_body} />
                      <Body label="Answer" text={log.request_response ?? ""} />
                    </details>
                  ) : (
                    <span className="text-xs text-slate-500">not kept</span>
                  )}
                </td>
              </tr>
            ))}
          </Table>
          {logs.data && rows.length === 0 && <p className="text-sm text-slate-500">No rejected event posts.</p>}
          <Pager meta={pageMeta(logs.data?.meta)} onPage={setPage} />
        </>
      )}
    </div>
  );
}

function Body({ label, text }: { label: string; text: unknown }) {
  if (!text) return null;
  let pretty = typeof text === "string" ? text : JSON.stringify(text, null, 2);
  try {
    if (typeof text === "string") pretty = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON: shown as it is
  }
  return (
    <div className="mt-1">
      <div className="font-semibold">{label}</div>
      <pre className="max-h-64 overflow-auto whitespace-pre-wrap bg-slate-50 p-2">{pretty}</pre>
    </div>
  );
}
