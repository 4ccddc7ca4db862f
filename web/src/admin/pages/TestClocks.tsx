// Test clocks: list, create, advance, delete. Advancing (POST /advance) answers only when
// every subscription of the clock's customers has caught up, which can take seconds:
// meanwhile the page shows a progress status and polls GET /test_clocks/{id}.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { ConfirmButton, Dialog } from "../../components/Dialog";
import { Button, ErrorNote, Field, PageHeader, Pager } from "../../components/ui";
import { formatDateTime } from "../../lib/dates";
import { useAsync } from "../../lib/useAsync";
import { useMe, useSession } from "../session";
import {
  fieldErrors,
  formLevelError,
  isoToUtcInput,
  Loading,
  pageMeta,
  StatusBadge,
  utcInputToIso,
} from "./common";

/** bxb's TestClock object (bxb/lago_objects/test_clocks.py; open in the OpenAPI document). */
export interface TestClock {
  lago_id: string;
  name: string;
  frozen_time: string;
  status: string;
  created_at: string;
}

const POLL_MS = 1000;

export default function TestClocks() {
  const { can } = useSession();
  const me = useMe();
  const [page, setPage] = useState(1);
  const list = useAsync(async () => {
    const data = await unwrap(api.GET("/api/v1/test_clocks", { params: { query: { page, per_page: 25 } } }));
    const d = data as unknown as { test_clocks?: TestClock[]; meta?: Schemas["PaginationMeta"] };
    return { clocks: d.test_clocks ?? [], meta: d.meta };
  }, [page]);

  return (
    <div className="space-y-4">
      <PageHeader title="Test clocks" actions={can("createTestClock") && <NewTestClock onCreated={list.reload} />} />
      <p className="text-sm text-slate-600">
        A customer on a clock lives on its time: advancing the clock runs everything due on
        the way (period closes, invoices, trials, pauses, payment retries), in order. Times
        you type are UTC; times shown are in {me.organization.timezone}.
      </p>
      <ErrorNote error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : (
        <>
          {list.data?.clocks.length === 0 && <p className="text-sm text-slate-500">No test clocks yet.</p>}
          <ul className="space-y-3">
            {(list.data?.clocks ?? []).map((c) => (
              <li key={c.lago_id}>
                <ClockCard clock={c} onDeleted={list.reload} />
              </li>
            ))}
          </ul>
          <Pager meta={pageMeta(list.data?.meta)} onPage={setPage} />
        </>
      )}
    </div>
  );
}

function ClockCard({ clock: initial, onDeleted }: { clock: TestClock; onDeleted: () => void }) {
  const me = useMe();
  const { can } = useSession();
  const tz = me.organization.timezone;
  const [clock, setClock] = useState(initial);
  const [target, setTarget] = useState(isoToUtcInput(initial.frozen_time));
  const [advancing, setAdvancing] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [advancedTo, setAdvancedTo] = useState<string | null>(null);
  const live = useRef(true);

  useEffect(() => setClock(initial), [initial]);
  useEffect(() => {
    live.current = true;
    return () => {
      live.current = false;
    };
  }, []);

  // While the advance call runs, read the clock's status every second.
  useEffect(() => {
    if (!advancing) return;
    const timer = setInterval(() => {
      void api
        .GET("/api/v1/test_clocks/{lago_id}", { params: { path: { lago_id: clock.lago_id } } })
        .then(({ data }) => {
          const polled = (data as unknown as { test_clock?: TestClock } | undefined)?.test_clock;
          if (polled && live.current) setClock((c) => ({ ...c, status: polled.status }));
        })
        .catch(() => undefined);
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [advancing, clock.lago_id]);

  const advance = async (e: FormEvent) => {
    e.preventDefault();
    setAdvancing(true);
    setError(null);
    setAdvancedTo(null);
    setClock((c) => ({ ...c, status: "advancing" }));
    try {
      const data = await unwrap(
        api.POST("/api/v1/test_clocks/{lago_id}/advance", {
          params: { path: { lago_id: clock.lago_id } },
          body: { test_clock: { frozen_time: utcInputToIso(target) } },
        }),
      );
      const next = (data as unknown as { test_clock: TestClock }).test_clock;
      if (!live.current) return;
      setClock(next);
      setAdvancedTo(next.frozen_time);
    } catch (err) {
      if (!live.current) return;
      setError(err);
      // The clock's own record says how it ended (ready again, or failed).
      const { data } = await api.GET("/api/v1/test_clocks/{lago_id}", {
        params: { path: { lago_id: clock.lago_id } },
      });
      const now = (data as unknown as { test_clock?: TestClock } | undefined)?.test_clock;
      if (now && live.current) setClock(now);
    } finally {
      if (live.current) setAdvancing(false);
    }
  };

  return (
    <section aria-label={`Test clock ${clock.name}`} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div>
          <h2 className="text-base font-semibold">{clock.name}</h2>
          <p className="text-sm">
            Frozen time:{" "}
            <time dateTime={clock.frozen_time} className="font-medium">
              {formatDateTime(clock.frozen_time, tz)}
            </time>{" "}
            <span className="text-xs text-slate-500">({tz}; UTC {isoToUtcInput(clock.frozen_time).replace("T", " ")})</span>
          </p>
          <p className="text-sm">
            Status: <StatusBadge status={clock.status} />
          </p>
        </div>
        {can("deleteTestClock") && (
          <ConfirmButton
            label="Delete test clock"
            title={`Delete ${clock.name}?`}
            message="A clock with live subscriptions cannot be deleted."
            confirmLabel="Delete"
            onConfirm={async () => {
              await unwrap(api.DELETE("/api/v1/test_clocks/{lago_id}", { params: { path: { lago_id: clock.lago_id } } }));
              onDeleted();
            }}
          />
        )}
      </div>
      {can("advanceTestClock") && (
        <form onSubmit={advance} aria-label={`Advance ${clock.name}`} className="mt-3 flex flex-wrap items-end gap-3">
          <div className="w-64">
            <Field
              label="Advance to"
              type="datetime-local"
              required
              value={target}
              onChange={(e) => setTarget(e.target.value)}
              errors={fieldErrors(error, "frozen_time", "test_clock")}
            />
          </div>
          <Button type="submit" disabled={advancing || !target} aria-busy={advancing || undefined}>
            Advance clock
          </Button>
          <span className="text-xs text-slate-500">UTC</span>
        </form>
      )}
      {advancing && (
        <p role="status" className="mt-2 flex items-center gap-2 text-sm text-amber-800">
          <span aria-hidden="true" className="inline-block h-3 w-3 animate-spin rounded-full border-2 border-amber-700 border-t-transparent" />
          Advancing…
          <span className="text-xs">(clock status: {clock.status})</span>
        </p>
      )}
      {!advancing && advancedTo && (
        <p role="status" className="mt-2 text-sm text-green-800">
          Advanced to {formatDateTime(advancedTo, tz)}.
        </p>
      )}
      <div className="mt-2">
        <ErrorNote error={formLevelError(error, ["frozen_time"], "test_clock")} />
      </div>
    </section>
  );
}

function NewTestClock({ onCreated }: { onCreated: () => void }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [frozen, setFrozen] = useState(() => new Date().toISOString().slice(0, 16));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await unwrap(
        api.POST("/api/v1/test_clocks", {
          body: { test_clock: { name: name.trim(), frozen_time: utcInputToIso(frozen) } },
        }),
      );
      setOpen(false);
      setName("");
      onCreated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="New test clock" open={open} onOpenChange={setOpen} trigger={<Button>New test clock</Button>}>
      <form onSubmit={submit} className="space-y-3" aria-label="New test clock">
        <ErrorNote error={formLevelError(error, ["name", "frozen_time"], "test_clock")} />
        <Field label="Name" required value={name} onChange={(e) => setName(e.target.value)} errors={fieldErrors(error, "name", "test_clock")} />
        <Field
          label="Frozen time"
          type="datetime-local"
          required
          value={frozen}
          onChange={(e) => setFrozen(e.target.value)}
          errors={fieldErrors(error, "frozen_time", "test_clock")}
        />
        <p className="text-xs text-slate-500">The frozen time is UTC.</p>
        <div className="flex justify-end">
          <Button type="submit" disabled={busy} aria-busy={busy || undefined}>
            Create test clock
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
