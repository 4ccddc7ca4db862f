// A customer's wallets (GET /api/v1/wallets?external_customer_id=) with a "Top up" form
// per wallet (POST /api/v1/wallet_transactions, behind can("createWalletTransaction")).
// Credits are decimal strings ("10.5" credits), sent as typed: never float arithmetic.
// Route-less: mount it where a customer is shown, e.g. <WalletsSection externalCustomerId=... />.
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { useMe, useSession } from "../admin/session";
import { formatDateTime } from "../lib/dates";
import { formatMoney } from "../lib/money";
import { useAsync } from "../lib/useAsync";
import { Badge, FormErrorNote, FormPanel, Td, formErrors, isDecimalString, unmatchedErrors } from "./fin-kit";
import { Button, ErrorNote, Field, Pager, Table } from "./ui";

type Wallet = Schemas["WalletObject"];

function TopUpForm({ wallet, onDone, onCancel }: { wallet: Wallet; onDone: (message: string) => void; onCancel: () => void }) {
  const [paid, setPaid] = useState("");
  const [granted, setGranted] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [local, setLocal] = useState<Record<string, string[]>>({});
  const [busy, setBusy] = useState(false);
  const server = formErrors(error, ["wallet_transaction"]);
  const errors = { ...server, ...local };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const found: Record<string, string[]> = {};
    const p = paid.trim();
    const g = granted.trim();
    if (p && !isDecimalString(p)) found.paid_credits = ["invalid_decimal"];
    if (g && !isDecimalString(g)) found.granted_credits = ["invalid_decimal"];
    if (!p && !g) found.paid_credits = ["enter paid or granted credits"];
    setLocal(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    try {
      await unwrap(
        api.POST("/api/v1/wallet_transactions", {
          body: {
            wallet_transaction: {
              wallet_id: wallet.lago_id,
              ...(p ? { paid_credits: p } : {}),
              ...(g ? { granted_credits: g } : {}),
            },
          },
        }),
      );
      onDone(`Top-up of ${[p && `${p} paid`, g && `${g} granted`].filter(Boolean).join(" and ")} credits sent.`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <FormPanel title={`Top up ${wallet.name || wallet.code || "wallet"}`}>
      <form onSubmit={(e) => void submit(e)} className="grid max-w-md gap-3" noValidate>
        <p className="text-sm text-slate-600">1 credit = {wallet.rate_amount} {wallet.currency}. Paid credits are invoiced; granted credits are free.</p>
        <Field label="Paid credits" inputMode="decimal" value={paid} onChange={(e) => setPaid(e.target.value)} errors={errors.paid_credits} autoFocus />
        <Field label="Granted credits" inputMode="decimal" value={granted} onChange={(e) => setGranted(e.target.value)} errors={errors.granted_credits} />
        <FormErrorNote error={error} unmatched={unmatchedErrors(server, ["paid_credits", "granted_credits"])} />
        <div className="flex gap-2">
          <Button type="submit" disabled={busy}>
            Top up
          </Button>
          <Button variant="secondary" onClick={onCancel}>
            Cancel
          </Button>
        </div>
      </form>
    </FormPanel>
  );
}

export function WalletsSection({ externalCustomerId }: { externalCustomerId: string }) {
  const { can } = useSession();
  const tz = useMe().organization.timezone;
  const [page, setPage] = useState(1);
  const [topUp, setTopUp] = useState<Wallet | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const list = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/wallets", { params: { query: { external_customer_id: externalCustomerId, page, per_page: 20 } } }),
      ),
    [externalCustomerId, page],
  );
  return (
    <section aria-label={`Wallets of ${externalCustomerId}`} className="space-y-2">
      <div role="status" aria-live="polite" className="text-sm text-green-800">
        {message}
      </div>
      {topUp && (
        <TopUpForm
          key={topUp.lago_id}
          wallet={topUp}
          onCancel={() => setTopUp(null)}
          onDone={(m) => {
            setTopUp(null);
            setMessage(m);
            list.reload();
          }}
        />
      )}
      <ErrorNote error={list.error} />
      <Table label="Wallets" head={["Wallet", "Status", "Currency", "Credits", "Balance", "Ongoing balance", "Created", ""]}>
        {list.data?.wallets.map((w) => (
          <tr key={w.lago_id}>
            <Td>{w.name || w.code || w.lago_id}</Td>
            <Td>
              <Badge value={w.status} />
            </Td>
            <Td>{w.currency}</Td>
            <Td className="tabular-nums">{w.credits_balance}</Td>
            <Td className="text-right tabular-nums">{formatMoney(w.balance_cents, w.currency)}</Td>
            <Td className="text-right tabular-nums">{formatMoney(w.ongoing_balance_cents, w.currency)}</Td>
            <Td>{formatDateTime(w.created_at, tz)}</Td>
            <Td>
              {can("createWalletTransaction") && w.status === "active" && (
                <Button variant="secondary" onClick={() => setTopUp(w)} aria-label={`Top up ${w.name || w.code || "wallet"}`}>
                  Top up
                </Button>
              )}
            </Td>
          </tr>
        ))}
      </Table>
      {list.data && list.data.wallets.length === 0 && <p className="text-sm text-slate-500">This customer has no wallet.</p>}
      <Pager meta={list.data?.meta} onPage={setPage} />
    </section>
  );
}
