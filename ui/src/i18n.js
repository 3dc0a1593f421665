// Message catalogs: every file in ./i18n/ is a language. Adding a minority
// language is adding one JSON file with the same keys; no code changes.
const modules = import.meta.glob("./i18n/*.json", { eager: true });

export const catalogs = {};
for (const [path, mod] of Object.entries(modules)) {
  const code = path.replace(/^.*\/(.*)\.json$/, "$1");
  catalogs[code] = mod.default ?? mod;
}

const STORAGE_KEY = "cdht.lang";
const DEFAULT_LANG = "vi";
let current = catalogs[localStorage.getItem(STORAGE_KEY)] ? localStorage.getItem(STORAGE_KEY) : DEFAULT_LANG;

export function lang() {
  return current;
}

export function setLang(code) {
  if (!catalogs[code]) return;
  current = code;
  localStorage.setItem(STORAGE_KEY, code);
  document.documentElement.lang = catalogs[code]._html_lang ?? code;
}

export function languages() {
  return Object.keys(catalogs).map((code) => ({ code, name: catalogs[code]._language_name ?? code }));
}

/** The message for `key` in the current language (Vietnamese, then the key, as fallbacks). */
export function t(key, params = {}) {
  const text = catalogs[current]?.[key] ?? catalogs[DEFAULT_LANG]?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/** The message for `key` in the current language only, or null (no fallback). */
export function tOwn(key, params = {}) {
  const text = catalogs[current]?.[key];
  if (text === undefined) return null;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/** A catalog text from the core ({vi, en}): the current language if it has one, else Vietnamese. */
export function tx(text) {
  if (!text) return "";
  return text[current] ?? text.vi ?? "";
}

setLang(current);
