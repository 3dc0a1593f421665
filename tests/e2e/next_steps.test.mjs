// Home's "Việc tiếp theo" follows the person through the year, against a real
// sync server whose officers review over its HTTP API: one step and one
// button for each state. Run by scripts/e2e.sh after app.test.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { WORK_DIR, sleep } from "./webdriver.mjs";
import { freshDir, qrPng } from "./fixtures.mjs";
import { nav, start, startSyncServer, step, stop } from "./harness.mjs";

const INDICATORS = ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2"];

/** An officer of the demo tree, over the server's API. */
async function officer(server, username) {
  const { password } = server.demo.officers.find((o) => o.username === username);
  const call = async (method, route, body, token) => {
    const res = await fetch(`${server.url}/api/v1/${route}`, {
      method,
      headers: { ...(body ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${route}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const { token } = await call("POST", "login", { username, password });
  return (method, route, body) => call(method, route, body, token);
}

test("home's next step follows the person's state, one step and one button each", { timeout: 300_000 }, async () => {
  const server = await startSyncServer();
  try {
    const dir = freshDir(WORK_DIR, "next-steps");
    const files = freshDir(WORK_DIR, "next-steps-files");
    const unit = server.demo.units.find((u) => u.code === "DEMO-X1-C2");
    const qr = await qrPng(path.join(files, "qr.png"), unit.qr_url);
    const year = new Date().getFullYear();
    const s = await start(dir);
    // Home is drawn when it is opened: open it again until the background
    // sync's last round shows there (a round may end just after a click).
    const expectStep = async (name, text, button, shot) => {
      for (let attempt = 0; ; attempt++) {
        await nav(s, "home");
        await s.waitFor("#home-step");
        if ((await s.findAll(`#home-step[data-step=${name}]`)).length === 1) break;
        if (attempt === 40) assert.fail(`home's step is ${await s.execute(`return document.querySelector("#home-step").dataset.step`)}, not ${name}`);
        await sleep(500);
      }
      await s.waitFor("#home-next-text", { text });
      assert.equal(await s.text("#home-next"), button, name);
      assert.equal((await s.findAll("#home-step button")).length, 1, `${name}: one button`);
      if (shot) await s.screenshot(shot);
    };
    // A round that starts after the click: the last success time changes.
    // The live card is redrawn on every event of the loop: an element found
    // a moment ago may be a new one now, so a lookup that misses reads "".
    const read = async (css) => ((await s.findAll(css)).length ? await s.text(css).catch(() => "") : "");
    const sync = async () => {
      await nav(s, "sync");
      await s.waitFor("#sync-now");
      const before = await read("#sync-last");
      await sleep(1_100); // the time shown has whole seconds
      await s.click("#sync-now");
      for (let i = 0; ; i++) {
        const last = await read("#sync-last");
        if (last && last !== before && (await read("#sync-state")).includes("Đã đồng bộ")) break;
        if (i === 120) assert.fail(`no new sync round: ${last}`);
        await sleep(500);
      }
    };
    const answerAll = async (level) => {
      await nav(s, "assess");
      for (const id of INDICATORS) {
        await s.click(`#lvl-${id.replace(".", "-")}-${level}`);
        await s.waitFor("#saved-text", { text: "Đã lưu" });
      }
    };
    await step(s, "next-steps", async () => {
      await s.setWindowSize(360, 640);
      await expectStep("join", "Bước 1", "Tham gia đơn vị");
      await nav(s, "join");
      await s.upload("#join-qr-input", [qr]);
      await s.waitFor("#join-ok", { text: "DEMO-X1-C2" });
      await expectStep("profile", "Bước 2", "Điền hồ sơ");

      // A long form on a phone-sized window: after saving, the next button is in view.
      await nav(s, "profile");
      await s.type("#profile-name", "Trần Văn Bình");
      await s.type("#profile-birth-year", "1959");
      const group = await s.execute(`return document.querySelector("#profile-group option:nth-child(2)").value`);
      await s.selectValue("#profile-group", group);
      await s.click("#profile-save");
      await s.waitFor("#profile-ok", { text: "Đã lưu hồ sơ" });
      const inView = await s.execute(`
        const r = document.querySelector("#profile-next").getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight;`);
      assert.equal(inView, true, "the next button is in view after saving the profile");
      await s.screenshot("20-profile-saved-next-in-view");
      // The rest on a desktop-sized window (the score bar covers less).
      await s.setWindowSize(1000, 800);

      await expectStep("assess", `Bước 3: Tự đánh giá năm ${year}`, `Tự đánh giá năm ${year}`);
      await nav(s, "assess");
      await s.click("#lvl-1-1-a");
      await s.waitFor("#saved-text", { text: "Đã lưu" });
      await expectStep("continue_draft", "đang làm dở", `Làm tiếp bài năm ${year}`, "21-home-draft");

      await answerAll("a");
      await s.click("#submit-assessment");
      await s.waitFor("#assess-status", { text: "Đã gửi" });
      await expectStep("send", "đang chờ gửi đi", "Mở mục Đồng bộ", "22-home-waiting-to-send");
      await s.click("#home-next");
      await s.waitFor("#sync-now");

      await sync();
      await expectStep("await_review", "đã gửi đến chi hội", "Xem bài đã gửi", "23-home-sent");

      // The branch returns it with a reason; the device learns it at its next sync.
      const reviewer = await officer(server, "kiemtra-x1");
      const listed = await reviewer("GET", "units/DEMO-X1/assessments");
      const mine = listed.find((a) => a.person_name === "Trần Văn Bình");
      assert.ok(mine, JSON.stringify(listed));
      await reviewer("POST", `assessments/${mine.id}/return`, { reason: "Thiếu ảnh giấy khen" });
      await sync();
      await expectStep("fix_returned", "Lý do: Thiếu ảnh giấy khen", `Sửa bài năm ${year}`, "24-home-returned");

      // Corrected and sent again; then approved, then recognised by decision.
      await s.click("#home-next");
      await s.click("#lvl-3-2-b");
      await s.waitFor("#saved-text", { text: "Đã lưu" });
      await s.click("#submit-assessment");
      await s.waitFor("#assess-status", { text: "Đã gửi" });
      await sync();
      await expectStep("await_review", "đã gửi đến chi hội", "Xem bài đã gửi");
      await reviewer("POST", `assessments/${mine.id}/approve`);
      await sync();
      await expectStep("await_recognition", "Chi hội đã duyệt", "Xem lịch sử", "25-home-approved");
      const recogniser = await officer(server, "congnhan-x1");
      await recogniser("POST", "units/DEMO-X1/recognitions", {
        decision_no: "12/QĐ-KH", decision_date: new Date().toISOString().slice(0, 10), assessments: [mine.id],
      });
      await sync();
      await expectStep("recognised", `được công nhận “Công dân học tập” năm ${year}`, "Xem lịch sử", "26-home-recognised");
      await s.click("#home-next");
      await s.waitFor("#app", { text: "Đã công nhận" });
    });
    await stop(s);
  } finally {
    server.stop();
  }
});
