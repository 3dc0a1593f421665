// axe-core on a dashboard page. Evaluated through the DevTools protocol
// (page.evaluate), which the page's CSP does not govern, so the policy stays
// as served. A critical or serious violation fails the test; every finding
// is kept beside the screenshots.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { SHOTS } from "./harness.mjs";

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export async function checkA11y(page, name) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }))));
  writeFileSync(path.join(SHOTS, `${name}.axe.json`), JSON.stringify(violations, null, 2));
  const blocking = violations.filter((v) => v.impact === "critical" || v.impact === "serious");
  if (blocking.length) {
    throw new Error(`axe on ${name}:\n  ${blocking.map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.join(", ")}`).join("\n  ")}`);
  }
}
