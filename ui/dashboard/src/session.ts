// The officer's session: the bearer token from POST /api/v1/login, kept in
// this tab only (sessionStorage: gone when the tab closes, never sent by the
// browser on its own, so no other site can make requests with it: CSRF-safe
// by construction). `expired` is set when the server answers 401.
import { signal } from "@preact/signals";
import type { components } from "@cdht/shared/generated/dashboard-api.ts";

export type Me = components["schemas"]["Me"];

const KEY = "cdht.dashboard.token";

export const token = signal<string | null>(sessionStorage.getItem(KEY));
export const me = signal<Me | null>(null);
export const expired = signal(false);

export function startSession(newToken: string): void {
  sessionStorage.setItem(KEY, newToken);
  expired.value = false;
  token.value = newToken;
}

export function endSession(why: "logout" | "expired"): void {
  sessionStorage.removeItem(KEY);
  token.value = null;
  me.value = null;
  expired.value = why === "expired";
}

/** Whether the officer holds `role` (or admin) anywhere. */
export function hasRole(role: string): boolean {
  return (me.value?.roles ?? []).some((r) => r.role === role || r.role === "admin");
}
