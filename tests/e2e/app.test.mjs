// End-to-end tests of the real CDHT app (the debug build with the UI embedded),
// driven through tauri-driver → WebKitWebDriver under Xvfb. Run by scripts/e2e.sh.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { WORK_DIR, sleep } from "./webdriver.mjs";
import { fillProfile, nav, start, startFakeServer, startSyncServer, step, stop } from "./harness.mjs";
import { damagedQr, freshDir, photoJpeg, plainPng, qrPng } from "./fixtures.mjs";

// The unit's server, out of reach: its link is down (the app checks a join's
// server when it can; with no answer, the join is stored offline).
const OFFLINE_SERVER = await startFakeServer("down");
const UNIT_QR = `${OFFLINE_SERVER.url}/j/HD-CG-001?v=1#k=7K3Q9XPA`;
async function joinTyped(s, unit = "HD-CG-002", key = "ABCDEF12") {
  await nav(s, "join");
  await s.type("#join-server", OFFLINE_SERVER.url);
  await s.type("#join-unit", unit);
  await s.type("#join-key", key);
  await s.click("#join-typed-submit");
  await s.waitFor("#join-ok", { text: unit });
}

/** The app's process id, found by the unique data folder on its command line. */
function appPid(dataDir) {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (cmdline.includes(dataDir) && cmdline.includes("--data-dir")) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return null;
}

test("join by QR image, assess with two photos, see the verdict, restart, everything is still there", { timeout: 300_000 }, async () => {
  const dir = freshDir(WORK_DIR, "citizen");
  const files = freshDir(WORK_DIR, "files");
  const goodQr = await qrPng(path.join(files, "unit-qr.png"), UNIT_QR);
  const foreignQr = await qrPng(path.join(files, "foreign-qr.png"), "https://example.com/khuyen-mai?ma=123");
  const noQr = plainPng(path.join(files, "no-qr.png"));
  const tornQr = damagedQr(goodQr, path.join(files, "torn-qr.png"));
  const photo1 = photoJpeg(path.join(files, "chung-nhan.jpg"), { label: "Chứng nhận tin học" });
  const notPhoto = path.join(files, "giay-to.jpg");
  writeFileSync(notPhoto, "Đây không phải là ảnh, chỉ là chữ.");
  const photo2 = photoJpeg(path.join(files, "the-thu-vien.jpg"), { width: 1200, height: 1600, label: "Thẻ thư viện", color: "#b9d7ee" });

  let s = await start(dir);
  await step(s, "home", async () => {
    assert.equal(await s.text("#app-title"), "Công dân học tập");
    await s.waitFor("#home-next", { text: "Tham gia đơn vị" });
    await s.screenshot("01-home");
  });

  await step(s, "join-errors", async () => {
    await nav(s, "join");
    await s.upload("#join-qr-input", [noQr]);
    await s.waitFor("#join-error", { text: "Không thấy mã QR trong ảnh" });
    await s.upload("#join-qr-input", [foreignQr]);
    await s.waitFor("#join-error", { text: "không phải mã đơn vị" });
    assert.equal(await s.property("#join-error", "dataset").then((d) => d.kind), "qr_not_cdht");
    await s.upload("#join-qr-input", [tornQr]);
    const torn = await s.waitFor("#join-error");
    const tornText = await s.textOf(torn);
    assert.match(tornText, /Mã QR bị mờ hoặc hỏng|Không thấy mã QR/, tornText);
    await s.screenshot("02-join-error");
  });

  await step(s, "join", async () => {
    await s.upload("#join-qr-input", [goodQr]);
    await s.waitFor("#join-ok", { text: "Đã tham gia đơn vị HD-CG-001" });
    await s.click("#join-next");
  });

  await step(s, "profile", async () => {
    await s.waitFor("#profile-name");
    await s.type("#profile-name", "Nguyễn Thị Hoà");
    await s.type("#profile-birth-year", "1970");
    await s.selectValue("#profile-gender", "female");
    await s.type("#profile-ethnicity", "Tày");
    const group = await s.execute(`return document.querySelector("#profile-group option:nth-child(2)").value`);
    await s.selectValue("#profile-group", group);
    // A CCCD without consent is refused with a clear message.
    assert.equal(await s.property("#profile-cccd", "disabled"), true);
    await s.click("#profile-cccd-consent");
    await s.type("#profile-cccd", "0011 7000 123");
    await s.waitFor("#profile-cccd-error", { text: "12 chữ số" });
    await s.type("#profile-cccd", "001170001234");
    await s.click("#profile-save");
    await s.waitFor("#profile-ok", { text: "Đã lưu hồ sơ" });
    await s.waitFor("#profile-cccd-stored", { text: "••••••••1234" });
    const shown = await s.execute(`return document.body.innerText`);
    assert.ok(!shown.includes("001170001234"), "the full CCCD is never shown after entry");
    await s.screenshot("03-profile");
    await s.click("#profile-next");
  });

  await step(s, "assess", async () => {
    await s.waitFor("#indicator-3-2");
    await s.waitFor("#verdict", { text: "Còn 10 chỉ số chưa trả lời" });
    await s.waitFor("#score-unanswered", { text: "3.2" });
    const indicators = ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2"];
    // 2.2 (foreign language) at its lowest level: a fail with a reason and a fix.
    for (const id of indicators) {
      const slug = id.replace(".", "-");
      const level = id === "2.2" ? await s.execute(
        `const r = document.querySelectorAll('input[name="ind-2.2"]'); return r[r.length - 1].value`) : "a";
      await s.click(`#lvl-${slug}-${level}`);
      await s.waitFor("#saved-text", { text: "Đã lưu" });
    }
    await s.waitFor("#verdict", { text: "Chưa đạt" });
    await s.waitFor("#score-reasons");
    const improvements = await s.text("#score-improvements");
    assert.match(improvements, /2\.2/, improvements);
    await s.screenshot("04-assess-fail");
    // Why and how to pass, worded by the catalogs from codes: the indicator's
    // title comes from the assessment's catalog.
    const reasons = await s.text("#score-reasons");
    assert.match(reasons, /Chỉ số 2\.2 chỉ có 0 điểm, cần ít nhất 5\./, reasons);
    assert.match(improvements, /Nâng chỉ số 2\.2 “[^”]+” từ 0 lên 5 điểm \(mức c\), thêm 5 điểm\./, improvements);
    assert.doesNotMatch(improvements, /\{\w+\}/, improvements);
    await s.execute(`const side = document.querySelector(".assess-side"); side.scrollTop = side.scrollHeight; return true;`);
    await s.screenshot("04c-assess-improvements");
    // Raise 2.2 to the best level: passed.
    await s.click("#lvl-2-2-a");
    await s.waitFor("#verdict", { text: "Đạt" });
    assert.equal(await s.text("#score-total"), "Điểm: 100/100");

    // Keyboard focus on the photo button is visible: its real input is an
    // invisible overlay, so the outline goes on the button around it.
    const focusOutline = await s.execute(`
      const input = document.querySelector("#photo-input-1-1");
      input.focus();
      const style = getComputedStyle(input.closest(".file-button"));
      return [document.activeElement === input, style.outlineStyle, style.outlineWidth];`);
    assert.deepEqual(focusOutline, [true, "solid", "3px"], String(focusOutline));
    await s.screenshot("04b-photo-button-focused");
    await s.execute(`document.activeElement.blur(); return true;`);

    // Not a photo: refused with a Vietnamese message, nothing stored.
    await s.upload("#photo-input-1-2", [notPhoto]);
    const refusal = await s.textOf(await s.waitFor("#photo-error-1-2"));
    assert.match(refusal, /ảnh/, refusal);
    assert.equal((await s.findAll("#thumbs-1-2 .thumb")).length, 0);

    await s.upload("#photo-input-1-1", [photo1, photo2]);
    for (let i = 0; i < 200; i++) {
      if ((await s.findAll("#thumbs-1-1 .thumb img")).length === 2) break;
      await sleep(200);
    }
    assert.equal((await s.findAll("#thumbs-1-1 .thumb img")).length, 2, "two photo thumbnails");
    await s.waitFor("#evidence-summary", { text: "2 ảnh, cho 1/10 chỉ số" });
    await s.waitFor("#saved-text", { text: "Đã lưu" });
    await s.execute(`document.querySelector("#indicator-1-1").scrollIntoView()`);
    await s.screenshot("05-assess-photos");
  });
  await stop(s);

  // Restart: a new app process on the same data folder.
  s = await start(dir);
  await step(s, "restart", async () => {
    await s.waitFor("#home-person", { text: "Nguyễn Thị Hoà" });
    await s.waitFor("#home-unit", { text: "HD-CG-001" });
    await nav(s, "assess");
    await s.waitFor("#indicator-3-2");
    for (const slug of ["1-1", "1-4", "2-2", "3-2"]) {
      assert.equal(await s.property(`#lvl-${slug}-a`, "checked"), true, `indicator ${slug} kept its answer`);
    }
    assert.equal((await s.findAll("#thumbs-1-1 .thumb img")).length, 2, "both photos are still there");
    await s.waitFor("#verdict", { text: "Đạt" });
    // The whole photo opens over the page and closes again.
    await s.click("#thumbs-1-1 .thumb-open");
    await s.waitFor("#photo-viewer img");
    await sleep(300);
    await s.screenshot("06-photo-viewer");
    await s.click("#photo-close");
    assert.deepEqual(await s.findAll("#photo-viewer"), []);
    await nav(s, "profile");
    await s.waitFor("#profile-cccd-stored", { text: "••••••••1234" });
    assert.equal(await s.property("#profile-name", "value"), "Nguyễn Thị Hoà");
  });

  await step(s, "submit", async () => {
    await nav(s, "assess");
    await s.click("#submit-assessment");
    await s.waitFor("#assess-flash", { text: "Đã gửi" });
    await s.waitFor("#assess-status", { text: "Đã gửi" });
    assert.deepEqual(await s.findAll("#submit-assessment"), [], "no submit button once submitted");
    await nav(s, "sync");
    // The profile and the submitted assessment wait in the outbox.
    const waiting = await s.textOf(await s.waitFor("#sync-records"));
    assert.match(waiting, /^Bài và hồ sơ đang chờ gửi: [1-9]\d*$/, waiting);
    await s.waitFor("#sync-waiting", { text: `Bài tự đánh giá năm ${new Date().getFullYear()} của Nguyễn Thị Hoà` });
    // Its two photos are named by person and year too.
    await s.waitFor("#sync-waiting", { text: `Ảnh minh chứng trong bài năm ${new Date().getFullYear()} của Nguyễn Thị Hoà` });
    assert.equal(await s.text("#sync-photos"), "Ảnh đang chờ gửi: 2");
    // The background sync: a "Sync now" button and a plain-language state
    // (the typed server's link is down: never "Đã đồng bộ").
    await s.waitFor("#sync-now", { text: "Đồng bộ ngay" });
    const syncState = await s.text("#sync-state");
    assert.ok(syncState && syncState !== "Đã đồng bộ", syncState);
    await s.screenshot("06b-sync");
    await nav(s, "history");
    await s.waitFor("#history-list", { text: "Đã gửi" });
    await s.screenshot("07-history");
  });
  await stop(s);
});

test("an officer adds three people and finds one by a search typed without diacritics", { timeout: 180_000 }, async () => {
  const dir = freshDir(WORK_DIR, "officer");
  const s = await start(dir);
  await step(s, "officer", async () => {
    await joinTyped(s);
    await nav(s, "officer");
    await s.waitFor("#people-empty");
    const people = [
      ["Nguyễn Văn Thắng", "1960", "Hộ ông Thắng, xóm 3"],
      ["Trần Thị Bình", "1975", "Hộ bà Bình, xóm 1"],
      ["Lê Đức Cường", "1982", "Hộ anh Cường, xóm 2"],
    ];
    for (const [name, year, household] of people) {
      await s.type("#officer-name", name);
      await s.type("#officer-birth-year", year);
      await s.type("#officer-household", household);
      if (name === "Trần Thị Bình") {
        // A CCCD only behind the consent box; 12 digits; shown masked afterwards.
        assert.equal(await s.property("#officer-cccd", "disabled"), true, "CCCD field locked before consent");
        await s.click("#officer-cccd-consent");
        await s.type("#officer-cccd", "07917500123");
        await s.waitFor("#officer-cccd-error", { text: "đúng 12 chữ số" });
        await s.type("#officer-cccd", "0791 7500 1234");
        assert.equal(await s.text("#officer-cccd-error"), "");
      }
      await s.click("#officer-add-submit");
      await s.waitFor("#officer-ok", { text: `Đã thêm ${name}` });
    }
    await s.waitFor("#people-count", { text: "3 người" });
    // Grouped by household, each person with their status; the CCCD masked.
    const households = await s.execute(`return [...document.querySelectorAll("#people-list .household-label")].map((e) => e.textContent)`);
    assert.deepEqual(households, ["Hộ anh Cường, xóm 2 · 1 người", "Hộ bà Bình, xóm 1 · 1 người", "Hộ ông Thắng, xóm 3 · 1 người"]);
    const statuses = await s.execute(`return [...document.querySelectorAll("#people-list .person .badge")].map((e) => e.textContent)`);
    assert.deepEqual(statuses, ["Chưa đánh giá", "Chưa đánh giá", "Chưa đánh giá"]);
    await s.waitFor("#people-list .person-cccd", { text: "CCCD: ••••••••1234" });
    const cccds = await s.execute(`return [...document.querySelectorAll("#people-list .person-cccd")].map((e) => e.textContent)`);
    assert.deepEqual(cccds, ["CCCD: ••••••••1234"]);
    const page = await s.execute(`return document.body.innerText + [...document.querySelectorAll("input")].map((e) => e.value).join(" ")`);
    assert.ok(!page.replace(/\s/g, "").includes("079175001234"), "the full CCCD is never shown again");
    assert.equal(await s.property("#officer-cccd", "value"), "");
    assert.equal(await s.property("#officer-cccd-consent", "checked"), false);
    await s.screenshot("08a-officer-households-cccd");

    // Each search typed without diacritics finds exactly the one person.
    for (const [typed, expected] of [["nguyen van thang", "Nguyễn Văn Thắng"], ["cuong", "Lê Đức Cường"], ["binh", "Trần Thị Bình"]]) {
      await s.type("#people-search", typed);
      await s.waitFor("#people-list .person-name", { text: expected });
      await s.waitFor("#people-count", { text: "1 người" });
      const names = await s.execute(`return [...document.querySelectorAll("#people-list .person-name")].map((e) => e.textContent)`);
      assert.deepEqual(names, [expected], `search "${typed}"`);
    }
    await s.screenshot("08-officer-search");

    // A typo fixed: edit the found person, the list shows the new name.
    await s.click("#people-list .edit-person");
    await s.waitFor("#officer-add-submit", { text: "Lưu thay đổi" });
    assert.equal(await s.property("#officer-name", "value"), "Trần Thị Bình");
    await s.waitFor("#officer-cccd-stored", { text: "••••••••1234" });
    assert.equal(await s.property("#officer-cccd", "value"), "");
    await s.type("#officer-name", "Trần Thị Bính");
    await s.click("#officer-add-submit");
    await s.waitFor("#officer-ok", { text: "Đã lưu thông tin của Trần Thị Bính" });
    await s.waitFor("#officer-cccd-saved", { text: "CCCD: ••••••••1234" });
    await s.type("#people-search", "tran thi");
    await s.waitFor("#people-list .person-name", { text: "Trần Thị Bính" });
    await s.waitFor("#people-count", { text: "1 người" });

    // The officer opens that person's self-assessment from the list.
    // The list re-renders as the search settles: a click on a row being
    // replaced is lost, so click again if the screen did not change.
    for (let attempt = 1; ; attempt++) {
      await s.click("#people-list .person button");
      try {
        await s.waitFor("#assess-person", { text: "Trần Thị Bính", timeout: 5_000 });
        break;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
    await s.setWindowSize(360, 640);
    await nav(s, "officer");
    await s.waitFor("#people-count", { text: "3 người" });
    await s.screenshot("12-officer-360x640");
  });
  await stop(s);
});

test("Vietnamese renders: UTF-8 page, bundled Noto Sans, text read back with diacritics; English switchable", { timeout: 120_000 }, async () => {
  const dir = freshDir(WORK_DIR, "render");
  const s = await start(dir);
  await step(s, "render", async () => {
    await s.setWindowSize(360, 640);
    const charset = await s.execute(`return document.characterSet`);
    assert.equal(charset, "UTF-8");
    // On a phone-sized window the sections fold behind one button.
    assert.equal(await s.text("#menu-toggle"), "Các mục · đang ở: Trang chính");
    assert.equal(await s.text("#nav-assess"), "", "folded tabs are not shown");
    await s.screenshot("09-home-360x640");
    await s.click("#menu-toggle");
    const expected = {
      "#app-title": "Công dân học tập",
      "#nav-assess": "Tự đánh giá",
      "#nav-history": "Lịch sử",
      "#nav-sync": "Đồng bộ",
      "#home-next": "Tham gia đơn vị",
    };
    for (const [css, text] of Object.entries(expected)) {
      assert.equal(await s.text(css), text, css);
    }
    const fontOk = await s.execute(`
      const done = arguments[arguments.length - 1];
      return document.fonts.ready.then(() => document.fonts.check("19px 'Noto Sans'", "Công dân học tập ệ ữ ặ"));`);
    assert.equal(fontOk, true, "Noto Sans (bundled) renders the Vietnamese text");
    const fontFamily = await s.execute(`return getComputedStyle(document.body).fontFamily`);
    assert.match(fontFamily, /Noto Sans/);
    const baseSize = await s.execute(`return parseFloat(getComputedStyle(document.documentElement).fontSize)`);
    assert.ok(baseSize >= 18, `base font ${baseSize}px`);
    const small = await s.execute(`
      return [...document.querySelectorAll("button, select, .file-button")]
        .filter((el) => el.offsetParent !== null)
        .map((el) => [el.id || el.textContent.trim(), el.getBoundingClientRect().height])
        .filter(([, h]) => h < 47.5);`);
    assert.deepEqual(small, [], "every touch target is at least 48px tall");
    await s.screenshot("09b-menu-open-360x640");

    // Larger text for weak eyes, kept across screens, and back.
    await s.click("#text-size-larger");
    await s.waitFor("#text-size-larger[aria-pressed=true]");
    assert.equal(await s.execute(`return getComputedStyle(document.documentElement).fontSize`), "25px");
    await s.click("#text-size-normal");
    await s.waitFor("#text-size-normal[aria-pressed=true]");

    // Every letter Vietnamese adds, stacked tones included, in the bundled font
    // (regular and bold), pictured at phone and desktop sizes.
    await diacriticsSample(s, "09c-diacritics-360x640");
    await s.setWindowSize(1000, 800);
    await diacriticsSample(s, "09d-diacritics-1000x800");
    await s.setWindowSize(360, 640);

    assert.equal(await s.execute(`return document.documentElement.lang`), "vi");
    await s.selectValue("#lang-select", "en");
    await s.waitFor("#app-title", { text: "Learning Citizen" });
    await s.waitFor("#home-next", { text: "Join a unit" });
    assert.equal(await s.execute(`return document.documentElement.lang`), "en", "<html lang> follows the language");
    await s.screenshot("10-home-english");
    // Errors read in English too (Rust's Vietnamese message is the fallback).
    await nav(s, "join");
    await s.type("#join-server", OFFLINE_SERVER.url);
    await s.type("#join-unit", "HD-CG-001");
    await s.type("#join-key", "12");
    await s.click("#join-typed-submit");
    await s.waitFor("#join-error", { text: "The join key is missing or not right" });
    await s.selectValue("#lang-select", "vi");
    await s.waitFor("#app-title", { text: "Công dân học tập" });
    assert.equal(await s.execute(`return document.documentElement.lang`), "vi");

    // The address field comes pre-filled with "https://". Typed after it as
    // the poster prints it, "http://…" is corrected, not doubled; a scheme
    // typed wrong is refused with the way to write it.
    await nav(s, "join");
    assert.equal(await s.execute(`return document.querySelector("#join-server").value`), "https://");
    await s.append("#join-server", `http//127.0.0.1:${OFFLINE_SERVER.port}`);
    await s.type("#join-unit", "HD-CG-009");
    await s.type("#join-key", "ABCDEF12");
    await s.click("#join-typed-submit");
    await s.waitFor("#join-error", { text: "Địa chỉ máy chủ không đúng" });
    await s.screenshot("10b-join-address-refused");
    await s.type("#join-server", "https://");
    await s.append("#join-server", `http://127.0.0.1:${OFFLINE_SERVER.port}/`);
    await s.click("#join-typed-submit");
    await s.waitFor("#join-ok", { text: "HD-CG-009" });
    await nav(s, "join");
    await s.waitFor("#join-units", { text: `Máy chủ: http://127.0.0.1:${OFFLINE_SERVER.port}` });
    assert.doesNotMatch(await s.text("#join-units"), /https:\/\/http/);
    await s.screenshot("10c-join-address-corrected");
  });
  await stop(s);
});

/**
 * Shows every Vietnamese letter with a diacritic over the page for a moment,
 * checks the bundled Noto Sans has them (regular and bold), and pictures it.
 */
async function diacriticsSample(s, name) {
  const letters = "ă â đ ê ô ơ ư Ă Â Đ Ê Ô Ơ Ư à ả ã á ạ ằ ẳ ẵ ắ ặ ầ ẩ ẫ ấ ậ è ẻ ẽ é ẹ ề ể ễ ế ệ ì ỉ ĩ í ị ò ỏ õ ó ọ ồ ổ ỗ ố ộ ờ ở ỡ ớ ợ ù ủ ũ ú ụ ừ ử ữ ứ ự ỳ ỷ ỹ ý ỵ Ẫ Ặ Ổ Ữ Ợ";
  const fonts = await s.execute(`
    const p = document.createElement("div");
    p.id = "diacritics-sample";
    p.style.cssText = "position:fixed;inset:auto 0 0 0;z-index:50;background:#fff;padding:8px;border-top:3px solid #0b5d3b";
    const regular = document.createElement("p");
    regular.textContent = arguments[0];
    const bold = document.createElement("p");
    bold.style.fontWeight = "700";
    bold.textContent = "Bold: " + arguments[0];
    p.append(regular, bold);
    document.querySelector("main").append(p);
    return document.fonts.ready.then(() => [
      document.fonts.check("19px 'Noto Sans'", arguments[0]),
      document.fonts.check("700 19px 'Noto Sans'", arguments[0]),
    ]);`, [letters]);
  assert.deepEqual(fonts, [true, true], "the bundled font has every Vietnamese letter, regular and bold");
  await sleep(300);
  await s.screenshot(name);
  await s.execute(`document.getElementById("diacritics-sample").remove(); return true;`);
}

test("killing the app (SIGKILL) right after 'Đã lưu' loses nothing", { timeout: 180_000 }, async () => {
  const dir = freshDir(WORK_DIR, "kill");
  let s = await start(dir);
  await step(s, "kill-before", async () => {
    await joinTyped(s, "HD-CG-003", "KILL1234");
    await fillProfile(s, "Phạm Văn Kiên");
    await nav(s, "assess");
    await s.waitFor("#indicator-1-1");
    // Quick changes of mind on one indicator: the last one is what is stored.
    await s.click("#lvl-1-1-a");
    await s.click("#lvl-1-1-c");
    await s.click("#lvl-1-1-b");
    await s.click("#lvl-3-1-a");
    await s.waitFor("#saved-text", { text: "Đã lưu" });
    // The tick is up for the last change only once its save returned.
    await s.waitFor("#verdict", { text: "Còn 8 chỉ số" });
    // The same screen on a small phone: the score bar stays at the bottom.
    await s.setWindowSize(360, 640);
    await s.execute(`document.querySelector("#indicator-1-2").scrollIntoView()`);
    await s.screenshot("11-assess-360x640");
  });
  const pid = appPid(dir);
  assert.ok(pid, "found the app process");
  process.kill(pid, "SIGKILL");
  await stop(s);

  s = await start(dir);
  await step(s, "kill-after", async () => {
    await nav(s, "assess");
    await s.waitFor("#indicator-1-1");
    assert.equal(await s.property("#lvl-1-1-b", "checked"), true);
    assert.equal(await s.property("#lvl-3-1-a", "checked"), true);
    await s.waitFor("#verdict", { text: "Còn 8 chỉ số" });
  });
  await stop(s);
});

// ---- With a real sync server ----------------------------------------------

test("with a real sync server: join by its QR, save a profile, 'Đồng bộ ngay', everything sent and the unit named", { timeout: 300_000 }, async () => {
  const server = await startSyncServer();
  try {
    const dir = freshDir(WORK_DIR, "synced");
    const files = freshDir(WORK_DIR, "sync-files");
    const unit = server.demo.units.find((u) => u.code === "DEMO-X1-C1");
    const qr = await qrPng(path.join(files, "demo-qr.png"), unit.qr_url);
    const s = await start(dir);
    await step(s, "sync-real-server", async () => {
      await nav(s, "join");
      await s.upload("#join-qr-input", [qr]);
      await s.waitFor("#join-ok", { text: "DEMO-X1-C1" });
      await fillProfile(s, "Phạm Thị Mai");
      await nav(s, "sync");
      await s.waitFor("#sync-now", { text: "Đồng bộ ngay" });
      await s.click("#sync-now");
      await s.waitFor("#sync-state", { text: "Đã đồng bộ", timeout: 60_000 });
      await s.waitFor("#sync-nothing", { text: "Không có gì đang chờ gửi." });
      await s.waitFor("#sync-last", { text: "Lần đồng bộ thành công gần nhất" });
      // The round may have ended just before the click (the join nudged one):
      // its progress line shows once the screen heard of a round.
      const progress = await s.textOf(await s.waitFor("#sync-progress-text"));
      assert.match(progress, /^(\d+)\/\1 mục · (\d+)\/\2 KB$/, progress);
      await s.screenshot("13-sync-real-server");
      // The enrolment brought the unit's real name from the server.
      await nav(s, "home");
      await s.waitFor("#app", { text: unit.name });
    });
    await stop(s);
  } finally {
    server.stop();
  }
});

test("with a real sync server: a pass in a difficult area by the 70-point rule is marked provisional", { timeout: 300_000 }, async () => {
  const server = await startSyncServer();
  try {
    const dir = freshDir(WORK_DIR, "difficult");
    const files = freshDir(WORK_DIR, "difficult-files");
    // Bản Na Cô Sa, under xã Nậm Pồ: a difficult area (threshold 70).
    const unit = server.demo.units.find((u) => u.code === "DEMO-X2-C1");
    const qr = await qrPng(path.join(files, "difficult-qr.png"), unit.qr_url);
    const s = await start(dir);
    await step(s, "provisional-verdict", async () => {
      await nav(s, "join");
      await s.upload("#join-qr-input", [qr]);
      await s.waitFor("#join-ok", { text: "DEMO-X2-C1" });
      await fillProfile(s, "Lò Thị Ánh");
      // The enrolment brings the unit's area type; the assessment takes it.
      await nav(s, "sync");
      await s.click("#sync-now");
      await s.waitFor("#sync-state", { text: "Đã đồng bộ", timeout: 60_000 });
      await nav(s, "home");
      await s.waitFor("#app", { text: unit.name });
      await nav(s, "assess");
      await s.waitFor("#indicator-3-2");
      // Every indicator at its second level (7 points): 70 of 100.
      for (const id of ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2"]) {
        await s.click(`#lvl-${id.replace(".", "-")}-b`);
        await s.waitFor("#saved-text", { text: "Đã lưu" });
      }
      await s.waitFor("#verdict", { text: "Đạt" });
      assert.equal(await s.text("#score-total"), "Điểm: 70/100");
      await s.waitFor("#score-provisional", { text: "Đạt theo ngưỡng 70 điểm vùng khó khăn — quy định đang chờ xác nhận." });
      await s.execute(`document.getElementById("verdict").scrollIntoView({ block: "start" })`);
      await s.screenshot("19-provisional-verdict");
    });
    await stop(s);
  } finally {
    server.stop();
  }
});

/** A UUIDv7 (time-ordered), as devices make batch and record ids. */
function uuidv7() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const ms = BigInt(Date.now());
  for (let i = 0; i < 6; i++) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Another phone of the unit, over the protocol itself: enrols with the unit's
 * join key and pushes a person, their draft assessment and a photo. Each record's
 * hash is the sha256 of the body's canonical JSON (compact, fields in the
 * declaration order of cdht_core::sync, which JSON.stringify keeps).
 */
async function pushFromAnotherPhone(server, unit, fullName, photo) {
  const post = async (route, body, token, method = "POST") => {
    const binary = body instanceof Uint8Array;
    const res = await fetch(`${server.url}/api/v1/${route}`, {
      method,
      headers: { "content-type": binary ? "application/octet-stream" : "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: binary ? body : JSON.stringify(body),
    });
    const json = await res.json();
    assert.equal(res.status, 200, `${route}: ${JSON.stringify(json)}`);
    return json;
  };
  const enrolled = await post("enrol", { unit: unit.code, join_key: unit.join_key, device_id: uuidv7(), device_label: "Điện thoại khác" });
  const person = uuidv7();
  const answers = {};
  for (const id of ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2"]) answers[id] = "a";
  const { createHash } = await import("node:crypto");
  const assessment = uuidv7();
  const sha256 = createHash("sha256").update(photo).digest("hex");
  const bodies = [
    { kind: "person", id: person, full_name: fullName, birth_year: 1972, cccd: null, phone: null, address: null },
    { kind: "assessment", id: assessment, person, year: new Date().getFullYear(), catalog: "324-2023", group: "residents",
      answers, state: "draft", device_total: 100 },
    { kind: "evidence", id: uuidv7(), assessment, indicator: "1.1", sha256, size: photo.length, content_type: "image/jpeg" },
  ];
  const records = bodies.map((body) => ({
    version: 1,
    hash: createHash("sha256").update(JSON.stringify(body), "utf8").digest("hex"),
    body,
  }));
  const pushed = await post("push", { batch_id: uuidv7(), seq: 1, records }, enrolled.token);
  assert.deepEqual(pushed.acks.map((a) => a.outcome), ["accepted", "accepted", "accepted"], JSON.stringify(pushed.acks));
  // The photo's bytes, in one chunk (under 256 KiB).
  const status = await post(`evidence/${sha256}?offset=0`, photo, enrolled.token, "PUT");
  assert.equal(status.complete, true, JSON.stringify(status));
  // Later, this phone submits the draft (version 2 of the assessment).
  return async () => {
    const body = { ...bodies[1], state: "submitted" };
    const hash = createHash("sha256").update(JSON.stringify(body), "utf8").digest("hex");
    const again = await post("push", { batch_id: uuidv7(), seq: 2, records: [{ version: 2, hash, body }] }, enrolled.token);
    assert.equal(again.acks[0].outcome, "accepted", JSON.stringify(again.acks));
  };
}

test("with a real sync server: an officer logs in on the device and sees a person another phone pushed", { timeout: 300_000 }, async () => {
  const server = await startSyncServer();
  try {
    const unit = server.demo.units.find((u) => u.code === "DEMO-X1-C1");
    const officer = server.demo.officers.find((o) => o.username === "nhaplieu-x1-c1");
    assert.ok(officer?.password, "the demo has a collector of DEMO-X1-C1");
    const files = freshDir(WORK_DIR, "officer-files");
    const photo = readFileSync(photoJpeg(path.join(files, "bang-khen.jpg"), { width: 640, height: 480, label: "Bằng khen" }));
    const editOnOtherPhone = await pushFromAnotherPhone(server, unit, "Hoàng Thị Nguyệt", photo);
    const dir = freshDir(WORK_DIR, "officer-device");
    const qr = await qrPng(path.join(files, "qr.png"), unit.qr_url);
    const s = await start(dir);
    await step(s, "officer-login", async () => {
      await nav(s, "join");
      await s.upload("#join-qr-input", [qr]);
      await s.waitFor("#join-ok", { text: "DEMO-X1-C1" });
      await nav(s, "sync");
      await s.click("#sync-now");
      await s.waitFor("#sync-state", { text: "Đã đồng bộ", timeout: 60_000 });
      // A citizen's phone: nobody else's people.
      await nav(s, "officer");
      await s.waitFor("#officer-login", { text: "Cán bộ đăng nhập trên máy này" });
      await s.waitFor("#people-empty");
      await s.type("#officer-username", officer.username);
      await s.type("#officer-password", "sai-mat-khau");
      await s.click("#officer-login-submit");
      await s.waitFor("#officer-login-error", { text: "Sai tên đăng nhập hoặc mật khẩu" });
      await s.type("#officer-password", officer.password);
      await s.click("#officer-login-submit");
      await s.waitFor("#officer-bound", { text: `Máy của cán bộ ${officer.username}: nhận hồ sơ của cả đơn vị` });
      // The round the login started brings the unit's records into the list.
      await s.waitFor("#people-list", { text: "Hoàng Thị Nguyệt", timeout: 60_000 });
      await s.waitFor("#people-list", { text: "Đang làm" });
      const page = await s.text("#screen-officer");
      assert.ok(page.includes("Hoàng Thị Nguyệt") && page.includes("Cán bộ đăng nhập trên máy này"), page);
      assert.ok(!/Ã|Æ|á»|\uFFFD/.test(page), `mojibake in: ${page}`);
      await s.screenshot("14-officer-unit-records");
      // Its photo stays on the server until opened: a placeholder, "Tải ảnh", the photo.
      await s.execute(`[...document.querySelectorAll("#people-list .person")].find((li) => li.textContent.includes("Hoàng Thị Nguyệt")).querySelector(".person-actions button").click()`);
      await s.waitFor("#thumbs-1-1 .thumb-server", { text: "Ảnh đang ở máy chủ" });
      await s.execute(`document.getElementById("thumbs-1-1").scrollIntoView({ block: "center" })`);
      await sleep(300); // the screenshot shows the page as last painted
      await s.screenshot("15-photo-on-server");
      await s.click("#thumbs-1-1 .fetch-photo");
      await s.waitFor("#thumbs-1-1 img");
      await s.execute(`document.getElementById("thumbs-1-1").scrollIntoView({ block: "center" })`);
      await sleep(300);
      await s.screenshot("16-photo-fetched");
      // Both phones edit the same version of her draft; the other phone's
      // submission reaches the server first, so this device's is refused and
      // the winner pulled in the same round replaces it. Nothing is left to
      // fix, and the answer this device had chosen is kept and shown when the
      // assessment is opened, in the chosen language.
      await editOnOtherPhone();
      await s.click("#lvl-1-1-b");
      await s.waitFor("#saved-text", { text: "Đã lưu" });
      await s.click("#submit-assessment");
      await s.waitFor("#assess-flash", { text: "Đã gửi" });
      await nav(s, "sync");
      await s.click("#sync-now");
      await s.waitFor("#sync-nothing", { text: "Không có gì đang chờ gửi", timeout: 60_000 });
      await s.waitFor("#sync-state", { text: "Đã đồng bộ", timeout: 60_000 });
      assert.equal((await s.findAll("#sync-parked li")).length, 0, "the refusal is settled by the winner");
      await nav(s, "officer");
      await s.waitFor("#people-list", { text: "Hoàng Thị Nguyệt" });
      await s.execute(`[...document.querySelectorAll("#people-list .person")].find((li) => li.textContent.includes("Hoàng Thị Nguyệt")).querySelector(".person-actions button").click()`);
      await s.waitFor("#assess-replaced", { text: "đã được sửa và gửi từ máy khác" });
      const notice = await s.text("#assess-replaced");
      assert.ok(!/Ã|Æ|á»|\uFFFD/.test(notice), `mojibake in: ${notice}`);
      await s.execute(`document.getElementById("assess-replaced").scrollIntoView({ block: "center" })`);
      await sleep(300);
      await s.screenshot("17-kept-answers-vi");
      await s.selectValue("#lang-select", "en");
      await s.waitFor("#assess-replaced", { text: "changed and sent from another device" });
      await s.execute(`document.getElementById("assess-replaced").scrollIntoView({ block: "center" })`);
      await sleep(300);
      await s.screenshot("18-kept-answers-en");
      await s.selectValue("#lang-select", "vi");
      await s.click("#replaced-seen");
      for (let i = 0; (await s.findAll("#assess-replaced")).length > 0; i++) {
        assert.ok(i < 100, "'Đã xem' hides the kept answers");
        await sleep(100);
      }
      await nav(s, "officer");
      await s.click("#officer-logout");
      await s.waitFor("#officer-login-ok", { text: "Đã đăng xuất cán bộ" });
    });
    await stop(s);
  } finally {
    server.stop();
  }
});
