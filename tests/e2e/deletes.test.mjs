// End-to-end: an officer deletes a person and an assessment entered by
// mistake (docs/sync-protocol.md, "Deletes"), each after a confirmation in
// plain words; a person with an assessment left is refused with the reason.
// The real app under Xvfb, run by scripts/e2e.sh.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WORK_DIR, sleep } from "./webdriver.mjs";
import { nav, start, startFakeServer, step, stop } from "./harness.mjs";
import { freshDir } from "./fixtures.mjs";

const OFFLINE_SERVER = await startFakeServer("down");

async function addPerson(s, name) {
  await s.type("#officer-name", name);
  await s.type("#officer-birth-year", "1968");
  await s.click("#officer-add-submit");
  await s.waitFor("#officer-ok", { text: `Đã thêm ${name}` });
}

/** Narrows the list to one person by a search typed without diacritics. */
async function find(s, typed, name) {
  await s.type("#people-search", typed);
  await s.waitFor("#people-list .person-name", { text: name });
  await s.waitFor("#people-count", { text: "1 người" });
  // The list reloads a moment after typing: let it settle before clicking.
  await sleep(500);
}

/**
 * Opens a delete's confirmation (the button `#id`) and waits for its text
 * and its safe answer focused (the screen has scrolled it into sight, so a
 * click lands where it is). A click lost to a list re-rendering beside it
 * is made again.
 */
async function confirmation(s, id, text) {
  for (let attempt = 1; ; attempt++) {
    await s.click(`#${id}`);
    try {
      await s.waitFor(`#${id}-confirm`, { text, timeout: 5_000 });
      break;
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
  for (let i = 0; i < 100; i++) {
    if (await s.execute(`return document.activeElement?.id === "${id}-no"`)) return;
    await sleep(50);
  }
  assert.fail(`${id}-no was never focused`);
}

/** Clicks a row's button, again if the list re-rendered under the click. */
async function clickRow(s, selector, expect) {
  for (let attempt = 1; ; attempt++) {
    await s.click(selector);
    try {
      await s.waitFor(expect.selector, { text: expect.text, timeout: 5_000 });
      return;
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}

test("an officer deletes a person and an assessment entered by mistake, after confirming", { timeout: 240_000 }, async () => {
  const dir = freshDir(WORK_DIR, "deletes");
  const s = await start(dir);
  await step(s, "deletes", async () => {
    await nav(s, "join");
    await s.type("#join-server", OFFLINE_SERVER.url);
    await s.type("#join-unit", "HD-CG-003");
    await s.type("#join-key", "ABCDEF12");
    await s.click("#join-typed-submit");
    await s.waitFor("#join-ok", { text: "HD-CG-003" });
    await nav(s, "officer");
    await s.waitFor("#people-empty");
    await addPerson(s, "Lò Văn Nhầm");
    await addPerson(s, "Lò Văn Đúng");
    await s.waitFor("#people-count", { text: "2 người" });

    // Entered twice by mistake: the wrong one goes, after a "Không xoá" first.
    await find(s, "nham", "Lò Văn Nhầm");
    await clickRow(s, "#people-list .edit-person", { selector: "#officer-add-submit", text: "Lưu thay đổi" });
    await confirmation(s, "officer-delete", "Xoá Lò Văn Nhầm khỏi danh sách?");
    await s.screenshot("20-delete-person-confirm");
    await s.click("#officer-delete-no");
    await s.waitFor("#officer-delete");
    assert.equal(await s.execute(`return !!document.getElementById("officer-delete-confirm")`), false);
    await confirmation(s, "officer-delete", "Xoá Lò Văn Nhầm");
    await s.click("#officer-delete-yes");
    await s.waitFor("#officer-ok", { text: "Đã xoá Lò Văn Nhầm." });
    await s.waitFor("#people-empty");
    // The whole list (a fresh screen, no search): the other person only.
    await nav(s, "home");
    await nav(s, "officer");
    await s.waitFor("#people-count", { text: "1 người" });
    const names = await s.execute(`return [...document.querySelectorAll("#people-list .person-name")].map((e) => e.textContent)`);
    assert.deepEqual(names, ["Lò Văn Đúng"]);

    // An assessment opened for the wrong year: the person cannot go first.
    await find(s, "dung", "Lò Văn Đúng");
    await clickRow(s, "#people-list .person button", { selector: "#assess-person", text: "Lò Văn Đúng" });
    await nav(s, "officer");
    await find(s, "dung", "Lò Văn Đúng");
    await clickRow(s, "#people-list .edit-person", { selector: "#officer-add-submit", text: "Lưu thay đổi" });
    await confirmation(s, "officer-delete", "Xoá Lò Văn Đúng");
    await s.click("#officer-delete-yes");
    await s.waitFor("#officer-error", { text: "Người này còn bài đánh giá" });

    // The assessment is deleted from its screen, then the person.
    await clickRow(s, "#people-list .person button", { selector: "#assess-person", text: "Lò Văn Đúng" });
    await confirmation(s, "delete-assessment", "Xoá bài đánh giá năm");
    await s.screenshot("21-delete-assessment-confirm");
    await s.click("#delete-assessment-yes");
    await s.waitFor("#officer-login-ok", { text: "Đã xoá bài đánh giá của Lò Văn Đúng" });
    await find(s, "dung", "Lò Văn Đúng");
    await s.waitFor("#people-list .person .badge", { text: "Chưa đánh giá" });
    await clickRow(s, "#people-list .edit-person", { selector: "#officer-add-submit", text: "Lưu thay đổi" });
    await confirmation(s, "officer-delete", "Xoá Lò Văn Đúng");
    await s.click("#officer-delete-yes");
    await s.waitFor("#officer-ok", { text: "Đã xoá Lò Văn Đúng." });
    await nav(s, "home");
    await nav(s, "officer");
    await s.waitFor("#people-empty");
  });
  await stop(s);
});
