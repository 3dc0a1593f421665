// What the dashboard's browser tests stand on: the real cdht-server (built by
// cargo) on 127.0.0.1 with a temporary data folder and the demo tree, records
// pushed through its real HTTP API as a phone would (docs/sync-protocol.md),
// and Debian's Chromium driven by playwright-core (no browser download).
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const SHOTS = process.env.CDHT_DASHBOARD_SHOTS ?? path.join(ROOT, "target", "dashboard-shots");
export const CHROMIUM = process.env.CDHT_CHROMIUM ?? "/usr/bin/chromium";
export const YEAR = new Date().getFullYear();
export const INDICATORS = ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2"];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** `cdht-server init --demo` then `serve` on a free loopback port; `stop()` ends it. */
export async function startServer() {
  const bin = process.env.CDHT_SERVER_BIN ?? path.join(ROOT, "target", "debug", "cdht-server");
  const data = mkdtempSync(path.join(tmpdir(), "cdht-dashboard-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const demo = JSON.parse(execFileSync(bin, ["init", "--data", data, "--demo", "--public-url", url], { encoding: "utf8" }));
  mkdirSync(SHOTS, { recursive: true });
  const proc = spawn(bin, ["serve", "--data", data, "--listen", `127.0.0.1:${port}`], { stdio: ["ignore", "ignore", "inherit"] });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (i > 200 || proc.exitCode !== null) throw new Error(`cdht-server did not start on ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const password = (username) => demo.officers.find((o) => o.username === username).password;
  const joinKey = (unit) => demo.units.find((u) => u.code === unit).join_key;
  return { url, demo, password, joinKey, stop: () => proc.kill("SIGTERM") };
}

export async function api(server, method, pathname, { token, body, raw } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (raw !== undefined) headers["Content-Type"] = "application/octet-stream";
  const res = await fetch(`${server.url}${pathname}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* a file or an empty answer */ }
  return { status: res.status, json, text };
}

export async function login(server, username) {
  const res = await api(server, "POST", "/api/v1/login", { body: { username, password: server.password(username) } });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.text}`);
  return res.json.token;
}

export function uuid7() {
  const b = randomBytes(16);
  b.writeUIntBE(Date.now(), 0, 6);
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Sorted keys, no spaces: the canonical form a record's hash is taken over (JCS for these values). */
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  return JSON.stringify(v);
}
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** A phone of `unit`: enrols, then pushes people with assessments (and photos) as protocol-2 batches. */
export async function phone(server, unit) {
  const enrolled = await api(server, "POST", "/api/v1/enrol", {
    body: { unit, join_key: server.joinKey(unit), device_id: uuid7(), device_label: "Máy thử bảng điều khiển" },
  });
  if (enrolled.status !== 200) throw new Error(`enrol: ${enrolled.text}`);
  const token = enrolled.json.token;
  let seq = 0;
  /** people: [{name, points: number (every indicator) or array, photo?: Buffer, cccd?: string}]; returns their assessment ids. */
  const push = async (people) => {
    const records = [];
    const ids = [];
    for (const p of people) {
      const person = uuid7();
      const assessment = uuid7();
      ids.push(assessment);
      const points = Array.isArray(p.points) ? p.points : INDICATORS.map(() => p.points);
      const bodies = [
        { kind: "person", id: person, full_name: p.name, birth_year: p.birthYear ?? 1970, address: p.address ?? "Xóm Đông", ...(p.cccd ? { cccd: p.cccd } : {}) },
        { kind: "assessment", id: assessment, person, year: YEAR, catalog: "244-2022", group: p.group ?? "farmers",
          answers: Object.fromEntries(INDICATORS.map((id, i) => [id, points[i]])), state: "submitted" },
      ];
      if (p.photo) {
        bodies.push({ kind: "evidence", id: uuid7(), assessment, indicator: "1.1", sha256: sha256(p.photo), size: p.photo.length, content_type: "image/jpeg" });
      }
      for (const body of bodies) records.push({ version: 1, hash: sha256(Buffer.from(canonical(body), "utf8")), body });
    }
    seq += 1;
    const pushed = await api(server, "POST", "/api/v1/push", { token, body: { batch_id: uuid7(), seq, protocol: 2, records } });
    if (pushed.status !== 200 || pushed.json.acks.some((a) => a.outcome !== "accepted")) {
      throw new Error(`push: ${pushed.text}`);
    }
    for (const p of people) {
      if (!p.photo) continue;
      const put = await api(server, "PUT", `/api/v1/evidence/${sha256(p.photo)}?offset=0`, { token, raw: p.photo });
      if (put.status !== 200 || !put.json.complete) throw new Error(`photo upload: ${put.text}`);
    }
    return ids;
  };
  return { token, push };
}

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

/** A real JPEG, drawn by Chromium itself (a coloured gradient with a label). */
export async function makeJpeg(browser) {
  const page = await browser.newPage();
  const base64 = await page.evaluate(async () => {
    const c = document.createElement("canvas");
    c.width = 640;
    c.height = 480;
    const g = c.getContext("2d");
    const grad = g.createLinearGradient(0, 0, 640, 480);
    grad.addColorStop(0, "#2563a8");
    grad.addColorStop(1, "#f2c94c");
    g.fillStyle = grad;
    g.fillRect(0, 0, 640, 480);
    g.fillStyle = "#fff";
    g.font = "48px sans-serif";
    g.fillText("Giấy chứng nhận", 120, 250);
    const blob = await new Promise((r) => c.toBlob(r, "image/jpeg", 0.9));
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  });
  await page.close();
  return Buffer.from(base64, "base64");
}

export function writeShot(name, bytes) {
  writeFileSync(path.join(SHOTS, name), bytes);
}
