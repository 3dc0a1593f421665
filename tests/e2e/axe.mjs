// Accessibility of every screen the tests visit: axe-core (npm), injected into
// the app's WebKit window through the driver's executeScript, runs after each
// screenshot. A critical or serious violation fails the step; every finding
// (any impact) is written to e2e-artifacts/axe/<screenshot>.json.
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { ARTIFACTS } from "./webdriver.mjs";

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const BLOCKING = new Set(["critical", "serious"]);

/** Runs axe on the page as it is now; throws on a critical or serious violation. */
export async function checkA11y(session, name) {
  const loaded = await session.execute(`return typeof window.axe === "object"`);
  // The page is the app's own: axe is added once per page load.
  if (!loaded) await session.execute(`${AXE_SOURCE}; return true;`);
  const violations = await session.execute(`
    return window.axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
    })));`);
  const dir = path.join(ARTIFACTS, "axe");
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `${name}.json`), JSON.stringify(violations, null, 2));
  const blocking = violations.filter((v) => BLOCKING.has(v.impact));
  if (blocking.length) {
    const lines = blocking.map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.map((n) => n.target).join(", ")}`);
    throw new Error(`axe on ${name}: ${blocking.length} critical/serious violation(s):\n  ${lines.join("\n  ")}`);
  }
}
