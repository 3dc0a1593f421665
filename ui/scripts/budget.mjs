// The app bundle's budget (BENCHMARKS.md): JS + CSS gzipped and the fonts, as
// built in app/dist (or the dist folder given). Prints JSON; exits 1 over budget.
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";

const dist = path.resolve(process.argv[2] ?? "app/dist");
const assets = path.join(dist, "assets");
const files = readdirSync(assets).map((name) => path.join(assets, name));
const gz = (f) => gzipSync(readFileSync(f), { level: 9 }).length;
const js = files.filter((f) => f.endsWith(".js"));
const css = files.filter((f) => f.endsWith(".css"));
const fonts = files.filter((f) => /\.(woff2?|ttf|otf)$/.test(f));
const sum = (list, size) => list.reduce((n, f) => n + size(f), 0);
const report = {
  dist,
  js_gzip_bytes: sum(js, gz),
  css_gzip_bytes: sum(css, gz),
  js_css_gzip_bytes: sum([...js, ...css], gz),
  fonts_bytes: sum(fonts, (f) => statSync(f).size),
  font_files: fonts.map((f) => path.basename(f)).sort(),
  budget: { js_css_gzip_bytes: 60 * 1024, fonts_bytes: 200 * 1024 },
};
console.log(JSON.stringify(report, null, 2));
const over = report.js_css_gzip_bytes > report.budget.js_css_gzip_bytes || report.fonts_bytes > report.budget.fonts_bytes;
if (over) {
  console.error("ui budget: over budget");
  process.exit(1);
}
