// Calls to the sync server's API with the officer's token. A failure is an
// AppError whose `code` is the server's (cdht_core::Code: its name and
// parameters), which ErrorNotice words from the catalogs; a code this page
// does not know keeps the server's sentence. A 401 ends the session.
import type { AppError } from "@cdht/shared/types";
import { CODES } from "@cdht/shared/app-types";
import { t } from "@cdht/shared/i18n";
import { endSession, token } from "./session";

export type ApiError = AppError & { status: number };

const KNOWN: ReadonlySet<string> = new Set(CODES);

async function failure(res: Response): Promise<ApiError> {
  let body: { code?: string; message?: string; params?: Record<string, unknown> } = {};
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  if (res.status === 401 && token.value) endSession("expired");
  const name = body.code ?? `http_${res.status}`;
  const code = KNOWN.has(name)
    ? { ...(body.params ?? {}), code: name }
    : { code: "unrecognised", name, message: body.message ?? res.statusText };
  return { kind: name, code, status: res.status };
}

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token.value) headers.Authorization = `Bearer ${token.value}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw { kind: "network", code: null, message: t("dash.network"), status: 0 } satisfies ApiError;
  }
  if (!res.ok) throw await failure(res);
  return res;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await call("GET", path)).json() as Promise<T>;
}

export async function postJson<T>(path: string, body: unknown): Promise<T | null> {
  const res = await call("POST", path, body);
  return res.status === 204 ? null : ((await res.json()) as T);
}

/** A file the API makes (XLSX, CSV, PDF), saved by the browser under `name`. */
export async function download(path: string, name: string): Promise<void> {
  const blob = await (await call("GET", path)).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** An evidence photo as an object URL (the <img> cannot send the token itself). */
export async function photoUrl(sha256: string): Promise<string> {
  const blob = await (await call("GET", `/evidence/${sha256}`)).blob();
  return URL.createObjectURL(blob);
}

export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}
