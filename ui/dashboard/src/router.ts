// The dashboard's own addresses under /dashboard/ (the server answers
// index.html for each): the path is a signal, links push history entries.
import { signal } from "@preact/signals";

const BASE = "/dashboard/";

function current(): { path: string; params: URLSearchParams } {
  const rest = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : "";
  return { path: rest.replace(/\/+$/, ""), params: new URLSearchParams(location.search) };
}

export const route = signal(current());

export function navigate(path: string, params: Record<string, string | number | null | undefined> = {}): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  history.pushState(null, "", `${BASE}${path}${s ? `?${s}` : ""}`);
  route.value = current();
  window.scrollTo(0, 0);
}

/** An href inside the dashboard, for <a> (a plain click is handled by `onLink`). */
export function href(path: string, params: Record<string, string | number | null | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return `${BASE}${path}${s ? `?${s}` : ""}`;
}

/** Follows a dashboard link without reloading the page (ctrl/middle click still opens a tab). */
export function onLink(e: MouseEvent): void {
  const a = (e.target as HTMLElement).closest("a");
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(BASE) || a.hasAttribute("download")) return;
  e.preventDefault();
  history.pushState(null, "", url.pathname + url.search);
  route.value = current();
  window.scrollTo(0, 0);
}

addEventListener("popstate", () => {
  route.value = current();
});
