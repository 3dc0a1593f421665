// A minimal WebDriver client over fetch, for tauri-driver (which forwards to
// WebKitWebDriver). Only what the tests use; no dependency to install.
import { writeFile, mkdir } from "node:fs/promises";
import path from "node:path";

const ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf";

export const DRIVER_URL = process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444";
export const APP_BINARY = process.env.CDHT_APP_BINARY;
export const WORK_DIR = process.env.CDHT_E2E_WORK ?? "/tmp/cdht-e2e";
export const ARTIFACTS = process.env.CDHT_E2E_ARTIFACTS ?? path.resolve("e2e-artifacts");

async function request(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${url}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  if (!res.ok || (json.value && json.value.error)) {
    const v = json.value ?? {};
    const err = new Error(`${method} ${url}: ${v.error ?? res.status}: ${v.message ?? text.slice(0, 300)}`);
    err.webdriverError = v.error;
    throw err;
  }
  return json.value;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Session {
  constructor(id) {
    this.id = id;
    this.base = `${DRIVER_URL}/session/${id}`;
  }

  /** Starts the app with its data in `dataDir` (a fresh app process). */
  static async start(dataDir) {
    if (!APP_BINARY) throw new Error("CDHT_APP_BINARY is not set (run through scripts/e2e.sh)");
    let lastError;
    // The driver can be slow to accept the first session right after start-up.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const value = await request("POST", `${DRIVER_URL}/session`, {
          capabilities: {
            alwaysMatch: {
              "tauri:options": { application: APP_BINARY, args: ["--data-dir", dataDir] },
            },
          },
        });
        const session = new Session(value.sessionId);
        await session.waitFor("#app-title");
        return session;
      } catch (err) {
        lastError = err;
        await sleep(1000);
      }
    }
    throw lastError;
  }

  cmd(method, suffix, body) {
    return request(method, `${this.base}${suffix}`, body);
  }

  async quit() {
    try {
      await request("DELETE", this.base);
    } catch {
      // Already gone (the app was killed): nothing to close.
    }
  }

  async find(css) {
    const value = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return value[ELEMENT_KEY];
  }

  async findAll(css) {
    const value = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return value.map((v) => v[ELEMENT_KEY]);
  }

  /** Waits until `css` matches (and, if given, its text includes `text`). */
  async waitFor(css, { text, timeout = 20000 } = {}) {
    const deadline = Date.now() + timeout;
    let last = "";
    for (;;) {
      try {
        const id = await this.find(css);
        if (text === undefined) return id;
        last = await this.textOf(id);
        if (last.includes(text)) return id;
      } catch (err) {
        if (err.webdriverError !== "no such element" && err.webdriverError !== "stale element reference") throw err;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${css}${text ? ` with text "${text}" (last: "${last}")` : ""}`);
      }
      await sleep(150);
    }
  }

  async textOf(elementId) {
    return this.cmd("GET", `/element/${elementId}/text`);
  }

  async text(css) {
    // A live card redrawn by a sync event can replace the element between
    // finding it and reading it (stale element reference): find it again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.textOf(await this.find(css));
      } catch (err) {
        if (err.webdriverError !== "stale element reference" || attempt >= 5) throw err;
        await sleep(150);
      }
    }
  }

  async click(css) {
    // A list that re-renders (search results, autosave redraws) can replace the
    // element between finding and clicking it: WebDriver then answers "stale
    // element reference" and no click happened, so find it again and retry.
    for (let attempt = 1; ; attempt++) {
      const id = await this.waitFor(css);
      try {
        try {
          await this.cmd("POST", `/element/${id}/click`, {});
        } catch (err) {
          if (err.webdriverError !== "element click intercepted") throw err;
          // The sticky header covered it: bring it to the middle of the screen and retry.
          await this.execute(`arguments[0].scrollIntoView({ block: "center" })`, [{ [ELEMENT_KEY]: id }]);
          await this.cmd("POST", `/element/${id}/click`, {});
        }
        return;
      } catch (err) {
        if (err.webdriverError !== "stale element reference" || attempt >= 5) throw err;
        await sleep(150);
      }
    }
  }

  async type(css, text) {
    const id = await this.waitFor(css);
    await this.cmd("POST", `/element/${id}/clear`, {});
    await this.cmd("POST", `/element/${id}/value`, { text });
  }

  /** Types after what the field already holds (no clearing first). */
  async append(css, text) {
    const id = await this.waitFor(css);
    await this.cmd("POST", `/element/${id}/value`, { text });
  }

  /** Sets a file input's files (WebDriver "send keys" to <input type=file>). */
  async upload(css, filePaths) {
    const id = await this.find(css);
    await this.cmd("POST", `/element/${id}/value`, { text: filePaths.join("\n") });
  }

  async selectValue(css, value) {
    await this.execute(
      `const el = document.querySelector(arguments[0]); el.value = arguments[1];
       el.dispatchEvent(new Event("change", { bubbles: true }));`,
      [css, value],
    );
  }

  async execute(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  async property(css, name) {
    const id = await this.find(css);
    return this.cmd("GET", `/element/${id}/property/${name}`);
  }

  async screenshot(name) {
    const png = await this.cmd("GET", "/screenshot");
    await mkdir(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `${name}.png`);
    await writeFile(file, Buffer.from(png, "base64"));
    // Each screen pictured is also checked (harness.mjs: axe-core), never a failed one.
    if (this.onScreenshot && !name.startsWith("FAILED")) await this.onScreenshot(name);
    return file;
  }

  async setWindowSize(width, height) {
    try {
      await this.cmd("POST", "/window/rect", { width, height });
      // Let the page lay itself out again before anything is read or captured.
      await this.execute(`return new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`);
      await sleep(300);
    } catch {
      // Not every driver can resize; the layout test then runs at the default size.
    }
  }
}
