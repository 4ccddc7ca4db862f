// The signed-in member: who they are, their organization's timezone and currency, and the
// operations their role may call (from GET /api/v1/auth/me). Buttons that change
// something are shown only when `can(operationId)` is true; the API checks again.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, unwrap } from "../api/client";
import { takeEarlyMe } from "../lib/earlyMe";

export interface Member {
  lago_id: string;
  email: string;
  name: string | null;
  role: string;
}

export interface Organization {
  lago_id: string;
  name: string;
  timezone: string;
  default_currency: string;
}

export interface Me {
  member: Member;
  organization: Organization;
  allowed_operations: string[];
  temporal_ui: { namespace_url: string } | null;
}

interface SessionValue {
  me: Me | null;
  loading: boolean;
  can: (operationId: string) => boolean;
  signIn: (email: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [loading, setLoading] = useState(true);

  const load = useCallback(async () => {
    const early = takeEarlyMe();
    if (early) {
      const response = await early.catch(() => null);
      setMe(response?.ok ? ((await response.json()) as Me) : null);
    } else {
      const { data, response } = await api.GET("/api/v1/auth/me");
      setMe(response.ok ? (data as unknown as Me) : null);
    }
    setLoading(false);
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const signIn = useCallback(
    async (email: string, password: string) => {
      await unwrap(api.POST("/api/v1/auth/sign_in", { body: { email, password } }));
      await load();
    },
    [load],
  );

  const signOut = useCallback(async () => {
    await api.POST("/api/v1/auth/sign_out");
    setMe(null);
  }, []);

  const allowed = new Set(me?.allowed_operations ?? []);
  const can = (operationId: string) => allowed.has(operationId);

  return (
    <SessionContext.Provider value={{ me, loading, can, signIn, signOut }}>
      {children}
    </SessionContext.Provider>
  );
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}

/** The signed-in member's context; only called below the sign-in gate. */
export function useMe(): Me {
  const { me } = useSession();
  if (!me) throw new Error("useMe without a session");
  return me;
}
