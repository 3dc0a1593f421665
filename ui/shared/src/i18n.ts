// Message catalogs: every file in ./i18n/ is a language. Adding a minority
// language is adding one JSON file with the same keys; no code changes.
// The chosen language is a signal: every component that words something with
// t() redraws when it changes.
import { signal } from "@preact/signals";

type Catalog = Record<string, string>;
const modules = import.meta.glob<{ default: Catalog }>("./i18n/*.json", { eager: true });

export const catalogs: Record<string, Catalog> = {};
for (const [path, mod] of Object.entries(modules)) {
  const code = path.replace(/^.*\/(.*)\.json$/, "$1");
  catalogs[code] = mod.default;
}

const STORAGE_KEY = "cdht.lang";
const DEFAULT_LANG = "vi";
const stored = localStorage.getItem(STORAGE_KEY);

/** The chosen language's code (a key of `catalogs`). */
export const langSignal = signal(stored && catalogs[stored] ? stored : DEFAULT_LANG);

export function lang(): string {
  return langSignal.value;
}

function applyHtmlLang(code: string): void {
  document.documentElement.lang = catalogs[code]?._html_lang ?? code;
}

export function setLang(code: string): void {
  if (!catalogs[code]) return;
  localStorage.setItem(STORAGE_KEY, code);
  applyHtmlLang(code);
  langSignal.value = code;
}

export function languages(): { code: string; name: string }[] {
  return Object.keys(catalogs).map((code) => ({ code, name: catalogs[code]._language_name ?? code }));
}

export type Params = Record<string, string | number | null | undefined>;

function fill(text: string, params: Params): string {
  return text.replace(/\{(\w+)\}/g, (_, name: string) => (name in params ? String(params[name] ?? "") : `{${name}}`));
}

/** The message for `key` in the current language (Vietnamese, then the key, as fallbacks). */
export function t(key: string, params: Params = {}): string {
  const current = langSignal.value;
  return fill(catalogs[current]?.[key] ?? catalogs[DEFAULT_LANG]?.[key] ?? key, params);
}

/** The message for `key` in the current language only, or null (no fallback). */
export function tOwn(key: string, params: Params = {}): string | null {
  const text = catalogs[langSignal.value]?.[key];
  return text === undefined ? null : fill(text, params);
}

/** A code's parameters as the catalogs' placeholders (lists joined, a field named). */
function codeParams(code: Record<string, unknown>): Params {
  const params: Params = {};
  for (const [name, value] of Object.entries(code)) {
    if (Array.isArray(value)) params[name] = value.join(", ");
    else if (typeof value === "string" || typeof value === "number") params[name] = value;
    else params[name] = "";
  }
  if (typeof code.field === "string") params.field_name = t(`field.${code.field}`);
  return params;
}

/**
 * An error or refusal code (`{code, ...params}`, cdht_core::Code) in the
 * chosen language: the catalogs word every code (`code.<name>`); a code this
 * version does not know is `unrecognised`, which carries the sender's sentence.
 * `extra` adds what the caller knows from its own data (an indicator's title).
 */
export function describe(code: { code: string }, extra: Params = {}): string {
  return t(`code.${code.code}`, { ...codeParams(code as Record<string, unknown>), ...extra });
}

/** A code's wording by its name alone (a push refusal's `code`), or null when unknown. */
export function describeName(name: string | null | undefined): string | null {
  return name ? tOwn(`code.${name}`) : null;
}

/** A text from the core's catalogs ({vi, en}): the current language if it has one, else Vietnamese. */
export function tx(text: { vi: string; en?: string | null } | Record<string, string> | null | undefined): string {
  if (!text) return "";
  const map = text as Record<string, string | null | undefined>;
  return map[langSignal.value] ?? map.vi ?? "";
}

/** The locale for dates and times in the chosen language. */
export function locale(): string {
  return langSignal.value === "vi" ? "vi-VN" : "en-GB";
}

applyHtmlLang(langSignal.value);
