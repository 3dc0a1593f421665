// A wrong server address, as a villager meets it: the join checks the server
// when a network is there (a page that is not CDHT, or nothing listening, is
// refused with the way out), and a join stored while the server could not be
// asked shows on the sync screen as what it is once the address answers
// something else, with "Quét lại mã QR của chi hội". Run by scripts/e2e.sh.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WORK_DIR } from "./webdriver.mjs";
import { freshDir } from "./fixtures.mjs";
import { freePort, nav, start, startFakeServer, step, stop } from "./harness.mjs";

async function joinTyped(s, server, unit) {
  await nav(s, "join");
  await s.type("#join-server", server);
  await s.type("#join-unit", unit);
  await s.type("#join-key", "ABCDEF12");
  await s.click("#join-typed-submit");
}

test("a server that is not CDHT is refused at join, and named on the sync screen later", { timeout: 240_000 }, async () => {
  const router = await startFakeServer("html");
  const s = await start(freshDir(WORK_DIR, "wrong-server"));
  await step(s, "wrong-server", async () => {
    // Something else answers at the address: refused, nothing stored.
    await joinTyped(s, router.url, "HD-CG-021");
    await s.waitFor("#join-error[data-kind=join_not_cdht]", { text: "không phải máy chủ CDHT" });
    await s.screenshot("30-join-not-cdht");
    // Nothing listens at the address while the network works: refused.
    const closed = await freePort();
    await joinTyped(s, `http://127.0.0.1:${closed}`, "HD-CG-022");
    await s.waitFor("#join-error[data-kind=join_server_not_answering]", { text: "không có máy chủ nào trả lời" });
    assert.equal((await s.findAll("#join-ok")).length, 0);

    // The link is down at join time: the join is stored offline. Later the
    // address answers, but not as CDHT: the sync screen says so and offers
    // to scan the unit's QR code again, instead of waiting for a network.
    const later = await startFakeServer("down");
    await joinTyped(s, later.url, "HD-CG-023");
    await s.waitFor("#join-ok", { text: "HD-CG-023" });
    later.setMode("html");
    await nav(s, "sync");
    await s.click("#sync-now");
    await s.waitFor("#sync-state[data-state=not_cdht]", { text: "không phải máy chủ CDHT", timeout: 30_000 });
    assert.ok((await s.text("#sync-state")).includes(later.url), "the screen names the address");
    await s.waitFor("#sync-rescan", { text: "Quét lại mã QR của chi hội" });
    await s.screenshot("31-sync-not-cdht");
    await s.click("#sync-rescan");
    await s.waitFor("#join-server");
    later.close();

    // A link too weak to answer: while the app waits for the server, the
    // screen says what it is doing and the button cannot join twice; after
    // its wait the join is stored for later.
    const weak = await startFakeServer("silent");
    await joinTyped(s, weak.url, "HD-CG-024");
    await s.waitFor("#join-checking", { text: "Đang kiểm tra máy chủ của chi hội" });
    assert.equal(await s.execute(`return document.querySelector("#join-typed-submit").disabled`), true);
    await s.screenshot("30b-join-checking");
    await s.waitFor("#join-ok", { text: "HD-CG-024", timeout: 30_000 });
    weak.close();
  });
  router.close();
  await stop(s);
});
