// Time from app start to an interactive first screen, through tauri-driver:
// a WebDriver session starts the app (a fresh process), and the clock stops
// when home's next-step button is there (the overview came from Rust and the
// screen is drawn). One warm-up start (it creates the database), then RUNS
// timed starts on the same data folder; prints the median. Not a test: run
// by scripts/ui-budget.sh, figures in BENCHMARKS.md.
import { Session, WORK_DIR, sleep } from "./webdriver.mjs";
import { freshDir } from "./fixtures.mjs";

const RUNS = Number(process.env.RUNS ?? 5);
const dir = freshDir(WORK_DIR, "startup");

async function once() {
  const started = performance.now();
  const s = await Session.start(dir);
  try {
    await s.waitFor("#home-next", { timeout: 60_000 });
    return performance.now() - started;
  } finally {
    await s.quit();
    await sleep(500);
  }
}

await once();
const times = [];
for (let i = 0; i < RUNS; i++) times.push(Math.round(await once()));
const sorted = [...times].sort((a, b) => a - b);
console.log(JSON.stringify({ runs_ms: times, median_ms: sorted[Math.floor(sorted.length / 2)] }));
