// What every end-to-end test file shares: app sessions (one at a time: the
// driver holds one), named steps that leave a screenshot when they fail,
// navigation, the profile form, and a real sync server on loopback.
import { after } from "node:test";
import { execFileSync, spawn } from "node:child_process";
import { openSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { APP_BINARY, Session, WORK_DIR, sleep } from "./webdriver.mjs";
import { freshDir } from "./fixtures.mjs";
import { checkA11y } from "./axe.mjs";

const open = new Set();

export async function start(dataDir) {
  const session = await Session.start(dataDir);
  // Every screen a test pictures is checked for accessibility too.
  session.onScreenshot = (name) => checkA11y(session, name);
  open.add(session);
  return session;
}

export async function stop(session) {
  open.delete(session);
  await session.quit();
}

after(async () => {
  for (const s of open) await s.quit();
});

/** Runs `body`, saving a screenshot named after the step if it throws. */
export async function step(session, name, body) {
  try {
    return await body();
  } catch (err) {
    await session.screenshot(`FAILED-${name}`).catch(() => {});
    // Close the app now: the driver holds one session at a time.
    await stop(session);
    throw err;
  }
}

export async function fillProfile(s, name) {
  await nav(s, "profile");
  await s.type("#profile-name", name);
  await s.type("#profile-birth-year", "1968");
  const group = await s.execute(`return document.querySelector("#profile-group option:nth-child(2)").value`);
  await s.selectValue("#profile-group", group);
  await s.click("#profile-save");
  await s.waitFor("#profile-ok", { text: "Đã lưu hồ sơ" });
}

/** Goes to a screen through the tabs (opening the folded menu on a phone-sized window). */
export async function nav(session, screen) {
  const folded = await session.execute(
    `const b = document.getElementById("menu-toggle"); return !!b && getComputedStyle(b).display !== "none" && b.getAttribute("aria-expanded") !== "true";`);
  if (folded) await session.click("#menu-toggle");
  await session.click(`#nav-${screen}`);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Builds (a no-op when fresh) and starts `cdht-server init --demo` + `serve`
 * on a free loopback port, its data in the e2e work folder. The caller stops it.
 */
export async function startSyncServer() {
  const targetDir = path.dirname(path.dirname(APP_BINARY));
  execFileSync("cargo", ["build", "--quiet", "-p", "cdht-server"], {
    cwd: path.resolve("../.."),
    env: { ...process.env, CARGO_TARGET_DIR: targetDir },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const bin = path.join(targetDir, "debug", "cdht-server");
  const data = freshDir(WORK_DIR, "server");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const demo = JSON.parse(execFileSync(bin, ["init", "--data", data, "--demo", "--public-url", url], { encoding: "utf8" }));
  const log = openSync(path.join(WORK_DIR, "sync-server.log"), "w");
  const proc = spawn(bin, ["serve", "--data", data, "--listen", `127.0.0.1:${port}`], { stdio: ["ignore", log, log] });
  const stop = () => { if (proc.exitCode === null) proc.kill("SIGKILL"); };
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (i > 150 || proc.exitCode !== null) { stop(); throw new Error(`cdht-server did not start on ${url}`); }
    await sleep(100);
  }
  return { url, demo, stop };
}


/**
 * A loopback address that is not a CDHT server. Mode "down" accepts each
 * connection and closes it before any answer (a lost link: the app sees no
 * network); mode "html" answers every request with a router's login page;
 * mode "silent" accepts and never answers (a link too weak to carry one).
 * `setMode` switches. Unreferenced, so it never keeps a test file running.
 */
export async function startFakeServer(mode = "down") {
  let current = mode;
  const sockets = new Set();
  const srv = net.createServer((socket) => {
    socket.on("error", () => {});
    // A silent connection must not keep the test process alive, and ends
    // with the server.
    socket.unref();
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    if (current === "down") {
      socket.destroy();
      return;
    }
    if (current === "silent") return;
    let seen = "";
    socket.on("data", (chunk) => {
      // Answer once the whole request is in, so the client is not reset
      // while still sending its body.
      seen += chunk.toString("latin1");
      const end = seen.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = /content-length:\s*(\d+)/i.exec(seen.slice(0, end));
      if (seen.length < end + 4 + (length ? Number(length[1]) : 0)) return;
      const page = "<html><body>Router login</body></html>";
      socket.end(`HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${page.length}\r\nconnection: close\r\n\r\n${page}`);
    });
  });
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  srv.unref();
  const { port } = srv.address();
  return { url: `http://127.0.0.1:${port}`, port, setMode: (m) => { current = m; }, close: () => {
    srv.close();
    for (const socket of sockets) socket.destroy();
  } };
}
