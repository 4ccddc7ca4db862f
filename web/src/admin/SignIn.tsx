import { useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { useSession } from "./session";

export function SignIn() {
  const { signIn } = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(email, password);
    } catch (e) {
      setError(
        e instanceof ApiError && e.fieldErrors()["base"]?.includes("incorrect_login_or_password")
          ? "Email or password is not right."
          : e instanceof ApiError && e.status === 429
            ? "Too many attempts: wait a minute and try again."
            : "Could not sign in.",
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="flex min-h-screen items-center justify-center">
      <form onSubmit={submit} className="w-80 space-y-4 rounded-lg bg-white p-6 shadow" aria-label="Sign in">
        <h1 className="text-xl font-semibold">Sign in to bxb</h1>
        <label className="block text-sm">
          Email
          <input
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            className="mt-1 w-full rounded border border-slate-300 px-2 py-1"
          />
        </label>
        <label className="block text-sm">
          Password
          <input
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            className="mt-1 w-full rounded border border-slate-300 px-2 py-1"
          />
        </label>
        {error && (
          <p role="alert" className="text-sm text-red-700">
            {error}
          </p>
        )}
        <button
          type="submit"
          disabled={busy}
          className="w-full rounded bg-indigo-700 px-3 py-2 font-medium text-white disabled:opacity-50"
        >
          Sign in
        </button>
      </form>
    </main>
  );
}
