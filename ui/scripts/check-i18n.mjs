// Checks the message catalogs: every language has exactly the keys of vi.json
// (the reference), no message is empty, placeholders match, every key the
// code asks for exists (app, dashboard, shared), and every error and refusal
// code (CODES in shared/src/generated/app-ipc.ts, from cdht_core::Code) is
// worded (`code.<name>`). Run by `npm run check`.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

const dir = path.resolve("shared/src/i18n");
const load = (file) => JSON.parse(readFileSync(path.join(dir, file), "utf8"));
const reference = load("vi.json");
const refKeys = Object.keys(reference);
const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(",");
const problems = [];

for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
  const catalog = load(file);
  for (const key of refKeys) {
    if (!(key in catalog)) problems.push(`${file}: missing "${key}"`);
    else if (!String(catalog[key]).trim()) problems.push(`${file}: "${key}" is empty`);
    else if (placeholders(catalog[key]) !== placeholders(reference[key]))
      problems.push(`${file}: "${key}" has placeholders {${placeholders(catalog[key])}}, vi.json has {${placeholders(reference[key])}}`);
  }
  for (const key of Object.keys(catalog)) {
    if (!(key in reference)) problems.push(`${file}: "${key}" is not in vi.json`);
  }
}

// Keys the code builds from a prefix and a value.
const dynamic = {
  "nav.": ["home", "join", "profile", "assess", "history", "officer", "sync"],
  "status.": ["draft", "submitted", "approved", "returned", "recognised"],
  "profile.gender_": ["female", "male", "other"],
  "home.text_size_": ["normal", "large", "larger"],
  // The dashboard's pages, report counts and their definitions, review actions.
  "dash.nav_": ["queue", "recognition", "duplicates", "reports"],
  "dash.count_": ["registered", "submitted", "approved", "returned", "recognised", "passed"],
  "dash.def_": ["registered", "submitted", "approved", "returned", "recognised", "passed"],
  "dash.action_": ["approve", "return", "recognise"],
  // The server's stable refusal codes (docs/sync-protocol.md); an unknown code shows the server's message.
  "refusal.": ["version_conflict", "locked_after_review", "out_of_scope", "hash_mismatch", "invalid_evidence", "evidence_too_large", "unsupported_type", "unknown_evidence", "unknown_catalog", "unknown_group", "unknown_indicator", "unknown_level", "duplicate_indicator", "points_out_of_range", "missing_indicators", "invalid_name", "invalid_cccd", "invalid_year", "bad_version", "record_reassigned", "invalid_text", "invalid_phone", "invalid_address", "duplicate_limit"],
};
// Every code the Rust side can send: generated from cdht_core::Code.
const generated = readFileSync(path.resolve("shared/src/generated/app-ipc.ts"), "utf8");
const codes = [...(generated.match(/export const CODES = \[([\s\S]*?)\] as const;/)?.[1] ?? "").matchAll(/"(\w+)"/g)].map((m) => m[1]);
if (codes.length < 100) problems.push(`shared/src/generated/app-ipc.ts: CODES lists ${codes.length} codes; regenerate it`);
const used = new Set();
// Every source file of the app, the dashboard and the shared components.
const sources = (folder) =>
  readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|tsx)$/.test(e.name) && !e.parentPath.includes("generated"))
    .map((e) => path.join(e.parentPath, e.name));
for (const file of ["app/src", "dashboard/src", "shared/src"].flatMap(sources)) {
  const code = readFileSync(file, "utf8");
  for (const m of code.matchAll(/\bt\(\s*"([^"]+)"/g)) used.add(m[1]);
}
for (const [prefix, values] of Object.entries(dynamic)) for (const v of values) used.add(prefix + v);
for (const code of codes) used.add(`code.${code}`);
for (const key of used) if (!(key in reference)) problems.push(`code uses "${key}", missing from vi.json`);

if (problems.length) {
  console.error(`i18n check failed:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`i18n: ${readdirSync(dir).filter((f) => f.endsWith(".json")).length} catalogs, ${refKeys.length} keys, ${used.size} used by the code, ${codes.length} codes worded: ok`);
