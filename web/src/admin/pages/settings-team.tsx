// Settings: members (role changes, removal), invitations, and API keys (create, rotate,
// revoke). A key's value and an invitation's link are shown once, as the API sends them.
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { Badge, FormErrorNote, FormPanel, Td, errorText, formErrors, unmatchedErrors } from "../../components/fin-kit";
import { Button, Card, ErrorNote, Field, Pager, SelectField, Table, type PageMeta } from "../../components/ui";
import { formatDateTime } from "../../lib/dates";
import { useAsync } from "../../lib/useAsync";
import { useMe, useSession } from "../session";

type Role = Schemas["Role"];
const ROLES: { value: Role; label: string }[] = [
  { value: "admin", label: "Admin" },
  { value: "billing_admin", label: "Billing admin" },
  { value: "support", label: "Support" },
  { value: "finance_viewer", label: "Finance viewer" },
];

interface MemberRow {
  lago_id: string;
  email: string;
  name: string | null;
  role: Role;
  status: string;
  last_sign_in_at: string | null;
  created_at: string;
}
interface InviteRow {
  lago_id: string;
  email: string;
  role: Role;
  status: string;
  expires_at: string | null;
  created_at: string;
}
interface ApiKeyRow {
  lago_id: string;
  name: string;
  role: Role;
  prefix: string;
  expires_at: string | null;
  last_used_at: string | null;
  created_at: string;
  revoked_at: string | null;
  value?: string;
}

function Secret({ label, value, onDismiss }: { label: string; value: string; onDismiss: () => void }) {
  return (
    <div role="status" className="my-3 rounded border border-amber-300 bg-amber-50 p-3 text-sm">
      <p className="font-medium">{label} (shown this once; copy it now):</p>
      <code className="mt-1 block break-all rounded bg-white px-2 py-1">{value}</code>
      <Button variant="secondary" className="mt-2" onClick={onDismiss}>
        Done
      </Button>
    </div>
  );
}

function MemberRoleCell({ member, onChanged }: { member: MemberRow; onChanged: (m: string) => void }) {
  const { can } = useSession();
  const me = useMe();
  const [role, setRole] = useState<Role>(member.role);
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const self = me.member.lago_id === member.lago_id;
  const save = async () => {
    setError(null);
    try {
      await unwrap(api.PUT("/api/v1/members/{lago_id}", { params: { path: { lago_id: member.lago_id } }, body: { member: { role } } }));
      onChanged(`${member.email} is now ${role}.`);
    } catch (err) {
      setError(errorText(err));
    }
  };
  const remove = async () => {
    setError(null);
    try {
      await unwrap(api.DELETE("/api/v1/members/{lago_id}", { params: { path: { lago_id: member.lago_id } } }));
      onChanged(`${member.email} removed.`);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <>
      <Td>
        {can("updateMember") && member.status === "active" ? (
          <span className="flex items-end gap-2">
            <SelectField label={`Role of ${member.email}`} value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {ROLES.map((r) => (
                <option key={r.value} value={r.value}>
                  {r.label}
                </option>
              ))}
            </SelectField>
            {role !== member.role && (
              <Button onClick={() => void save()} aria-label={`Save role of ${member.email}`}>
                Save role
              </Button>
            )}
          </span>
        ) : (
          member.role
        )}
      </Td>
      <Td>
        {can("removeMember") && member.status === "active" && !self &&
          (confirm ? (
            <span className="flex gap-2">
              <Button variant="danger" onClick={() => void remove()}>
                Confirm removal
              </Button>
              <Button variant="secondary" onClick={() => setConfirm(false)}>
                Keep
              </Button>
            </span>
          ) : (
            <Button variant="secondary" onClick={() => setConfirm(true)} aria-label={`Remove ${member.email}`}>
              Remove
            </Button>
          ))}
        {error && (
          <p role="alert" className="text-xs text-red-700">
            {error}
          </p>
        )}
      </Td>
    </>
  );
}

function Members() {
  const tz = useMe().organization.timezone;
  const [page, setPage] = useState(1);
  const [message, setMessage] = useState<string | null>(null);
  const list = useAsync(
    async () =>
      (await unwrap(api.GET("/api/v1/members", { params: { query: { page, per_page: 20 } } }))) as unknown as {
        members: MemberRow[];
        meta: PageMeta;
      },
    [page],
  );
  return (
    <Card title="Members">
      <div role="status" aria-live="polite" className="mb-2 text-sm text-green-800">
        {message}
      </div>
      <ErrorNote error={list.error} />
      <Table label="Members" head={["Email", "Name", "Status", "Last sign-in", "Role", ""]}>
        {list.data?.members.map((m) => (
          <tr key={m.lago_id}>
            <Td>{m.email}</Td>
            <Td>{m.name ?? "—"}</Td>
            <Td>
              <Badge value={m.status} />
            </Td>
            <Td>{formatDateTime(m.last_sign_in_at, tz)}</Td>
            <MemberRoleCell
              key={`${m.lago_id}-${m.role}`}
              member={m}
              onChanged={(text) => {
                setMessage(text);
                list.reload();
              }}
            />
          </tr>
        ))}
      </Table>
      <Pager meta={list.data?.meta} onPage={setPage} />
    </Card>
  );
}

function Invites() {
  const { can } = useSession();
  const tz = useMe().organization.timezone;
  const [page, setPage] = useState(1);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("support");
  const [error, setError] = useState<unknown>(null);
  const [link, setLink] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const list = useAsync(
    async () =>
      (await unwrap(api.GET("/api/v1/invites", { params: { query: { page, per_page: 20 } } }))) as unknown as {
        invites: InviteRow[];
        meta: PageMeta;
      },
    [page],
  );
  const errors = formErrors(error, ["invite"]);
  const invite = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setMessage(null);
    try {
      const data = (await unwrap(api.POST("/api/v1/invites", { body: { invite: { email: email.trim(), role } } }))) as unknown as {
        invite: InviteRow & { invite_url?: string };
      };
      setLink(data.invite.invite_url ?? null);
      setMessage(`Invitation sent to ${data.invite.email}.`);
      setEmail("");
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (inv: InviteRow) => {
    setMessage(null);
    try {
      await unwrap(api.DELETE("/api/v1/invites/{lago_id}", { params: { path: { lago_id: inv.lago_id } } }));
      setMessage(`Invitation of ${inv.email} revoked.`);
      list.reload();
    } catch (err) {
      setMessage(`Revoke failed: ${errorText(err)}`);
    }
  };
  return (
    <Card title="Invitations">
      {can("createInvite") && (
        <form onSubmit={(e) => void invite(e)} aria-label="Invite a member" className="mb-3 flex flex-wrap items-end gap-3" noValidate>
          <Field label="Invite email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} errors={errors.email} />
          <SelectField label="Invite role" value={role} onChange={(e) => setRole(e.target.value as Role)} errors={errors.role}>
            {ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </SelectField>
          <Button type="submit">Send invite</Button>
          <div className="w-full">
            <FormErrorNote error={error} unmatched={unmatchedErrors(errors, ["email", "role"])} />
          </div>
        </form>
      )}
      {link && <Secret label="Invitation link" value={link} onDismiss={() => setLink(null)} />}
      <div role="status" aria-live="polite" className="mb-2 text-sm text-green-800">
        {message}
      </div>
      <ErrorNote error={list.error} />
      <Table label="Invitations" head={["Email", "Role", "Status", "Expires", "Sent", ""]}>
        {list.data?.invites.map((inv) => (
          <tr key={inv.lago_id}>
            <Td>{inv.email}</Td>
            <Td>{inv.role}</Td>
            <Td>
              <Badge value={inv.status} />
            </Td>
            <Td>{formatDateTime(inv.expires_at, tz)}</Td>
            <Td>{formatDateTime(inv.created_at, tz)}</Td>
            <Td>
              {can("revokeInvite") && inv.status === "pending" && (
                <Button variant="secondary" onClick={() => void revoke(inv)} aria-label={`Revoke invitation of ${inv.email}`}>
                  Revoke
                </Button>
              )}
            </Td>
          </tr>
        ))}
      </Table>
      {list.data && list.data.invites.length === 0 && <p className="mt-2 text-sm text-slate-500">No pending invitations.</p>}
      <Pager meta={list.data?.meta} onPage={setPage} />
    </Card>
  );
}

/** "2026-03-01T09:30" typed in a datetime-local input, read as UTC. */
function utcLocalToIso(value: string): string | null {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value) ? `${value}:00Z` : null;
}

function ApiKeyForm({ onCreated, onCancel }: { onCreated: (key: ApiKeyRow) => void; onCancel: () => void }) {
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("billing_admin");
  const [expires, setExpires] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const errors = formErrors(error, ["api_key"]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const data = (await unwrap(
        api.POST("/api/v1/api_keys", { body: { api_key: { name: name.trim(), role, expires_at: expires ? utcLocalToIso(expires) : null } } }),
      )) as unknown as { api_key: ApiKeyRow };
      onCreated(data.api_key);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <FormPanel title="New API key">
      <form onSubmit={(e) => void submit(e)} className="grid max-w-xl gap-3" noValidate>
        <Field label="Key name" value={name} onChange={(e) => setName(e.target.value)} errors={errors.name} autoFocus />
        <SelectField label="Key role" value={role} onChange={(e) => setRole(e.target.value as Role)} errors={errors.role}>
          {ROLES.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </SelectField>
        <Field label="Expires at (UTC, optional)" type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} errors={errors.expires_at} />
        <FormErrorNote error={error} unmatched={unmatchedErrors(errors, ["name", "role", "expires_at"])} />
        <div className="flex gap-2">
          <Button type="submit" disabled={busy}>
            Create API key
          </Button>
          <Button variant="secondary" onClick={onCancel}>
            Cancel
          </Button>
        </div>
      </form>
    </FormPanel>
  );
}

function ApiKeys() {
  const { can } = useSession();
  const tz = useMe().organization.timezone;
  const [page, setPage] = useState(1);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const list = useAsync(
    async () =>
      (await unwrap(api.GET("/api/v1/api_keys", { params: { query: { page, per_page: 20 } } }))) as unknown as {
        api_keys: ApiKeyRow[];
        meta: PageMeta;
      },
    [page],
  );
  const rotate = async (key: ApiKeyRow) => {
    setMessage(null);
    try {
      const data = (await unwrap(api.POST("/api/v1/api_keys/{lago_id}/rotate", { params: { path: { lago_id: key.lago_id } } }))) as unknown as {
        api_key: ApiKeyRow;
      };
      if (data.api_key.value) setSecret({ label: `New value of ${key.name}`, value: data.api_key.value });
      setMessage(`${key.name} rotated.`);
      list.reload();
    } catch (err) {
      setMessage(`Rotate failed: ${errorText(err)}`);
    }
  };
  const revoke = async (key: ApiKeyRow) => {
    setMessage(null);
    try {
      await unwrap(api.DELETE("/api/v1/api_keys/{lago_id}", { params: { path: { lago_id: key.lago_id } } }));
      setConfirm(null);
      setMessage(`${key.name} revoked.`);
      list.reload();
    } catch (err) {
      setMessage(`Revoke failed: ${errorText(err)}`);
    }
  };
  return (
    <Card title="API keys">
      {can("createApiKey") && !creating && <Button onClick={() => setCreating(true)}>New API key</Button>}
      {creating && (
        <ApiKeyForm
          onCancel={() => setCreating(false)}
          onCreated={(key) => {
            setCreating(false);
            if (key.value) setSecret({ label: `Value of ${key.name}`, value: key.value });
            list.reload();
          }}
        />
      )}
      {secret && <Secret label={secret.label} value={secret.value} onDismiss={() => setSecret(null)} />}
      <div role="status" aria-live="polite" className="my-2 text-sm">
        {message}
      </div>
      <ErrorNote error={list.error} />
      <Table label="API keys" head={["Name", "Prefix", "Role", "Expires", "Last used", "Created", "Status", ""]}>
        {list.data?.api_keys.map((k) => (
          <tr key={k.lago_id}>
            <Td>{k.name}</Td>
            <Td className="font-mono">{k.prefix}…</Td>
            <Td>{k.role}</Td>
            <Td>{formatDateTime(k.expires_at, tz)}</Td>
            <Td>{formatDateTime(k.last_used_at, tz)}</Td>
            <Td>{formatDateTime(k.created_at, tz)}</Td>
            <Td>
              <Badge value={k.revoked_at ? "revoked" : "active"} />
            </Td>
            <Td>
              {!k.revoked_at && (
                <span className="flex gap-2">
                  {can("rotateApiKey") && (
                    <Button variant="secondary" onClick={() => void rotate(k)} aria-label={`Rotate ${k.name}`}>
                      Rotate
                    </Button>
                  )}
                  {can("revokeApiKey") &&
                    (confirm === k.lago_id ? (
                      <>
                        <Button variant="danger" onClick={() => void revoke(k)}>
                          Confirm revoke
                        </Button>
                        <Button variant="secondary" onClick={() => setConfirm(null)}>
                          Keep
                        </Button>
                      </>
                    ) : (
                      <Button variant="secondary" onClick={() => setConfirm(k.lago_id)} aria-label={`Revoke ${k.name}`}>
                        Revoke
                      </Button>
                    ))}
                </span>
              )}
            </Td>
          </tr>
        ))}
      </Table>
      <Pager meta={list.data?.meta} onPage={setPage} />
    </Card>
  );
}

export function TeamSettings() {
  const { can } = useSession();
  return (
    <div className="space-y-4">
      {can("listMembers") && <Members />}
      {can("listInvites") && <Invites />}
    </div>
  );
}

export function ApiKeySettings() {
  return <ApiKeys />;
}
