// The officers' dashboard in a real browser (Debian's Chromium) against the
// real server: log in, approve one assessment and return another with a
// reason, see a second reviewer's conflict, recognise a batch, open a report
// and check its XLSX and CSV, download a certificate and check its text and
// QR, open the verify page; an officer of another commune sees nothing of
// the first. Screenshots land in target/dashboard-shots/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import ExcelJS from "exceljs";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { api, launch, login, makeJpeg, phone, SHOTS, startServer, YEAR } from "./harness.mjs";
import { checkA11y } from "./axe.mjs";

const DECISION = "15/QĐ-KH";
const REASON = "Thiếu ảnh minh chứng chỉ số 1.2";
let server, browser, page, ids, photo, otherId;
const work = mkdtempSync(path.join(tmpdir(), "cdht-dashboard-files-"));

async function shot(name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  await checkA11y(page, name);
}

async function signIn(username) {
  await page.goto(`${server.url}/`);
  await page.getByLabel("Tên đăng nhập").fill(username);
  await page.getByLabel("Mật khẩu").fill(server.password(username));
  await page.getByRole("button", { name: "Đăng nhập" }).click();
  await page.locator("#who").waitFor();
}

async function signOut() {
  await page.locator("#logout").click();
  await page.locator("#login-form").waitFor();
}

/** Saves what clicking `selector` downloads; returns its path. */
async function downloadOf(selector, name) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator(selector).click()]);
  const file = path.join(work, name);
  await download.saveAs(file);
  return file;
}

before(async () => {
  server = await startServer();
  browser = await launch();
  photo = await makeJpeg(browser);
  const c1 = await phone(server, "DEMO-X1-C1");
  // 0 gets a photo and is approved in the browser; 1 is approved by another
  // reviewer behind the page's back; 2 fails and is returned; 3 and 4 are
  // approved through the API, for a batch of recognitions.
  ids = await c1.push([
    { name: "Nguyễn Thị Hằng", points: 8, photo, birthYear: 1968, address: "Hộ ông Nguyễn Văn Tư, xóm Đông" },
    { name: "Trần Văn Đức", points: 9 },
    { name: "Lê Thị Ánh", points: [8, 8, 8, 8, 3, 8, 8, 8, 8, 8], group: "workers" },
    { name: "Phạm Thị Thuỷ", points: 8 },
    { name: "Đặng Quốc Việt", points: 9, group: "officials" },
  ]);
  const admin = await login(server, "admin-tinh");
  for (const id of [ids[3], ids[4]]) {
    assert.equal((await api(server, "POST", `/api/v1/assessments/${id}/approve`, { token: admin, body: {} })).status, 204);
  }
  const x2 = await phone(server, "DEMO-X2-C1");
  [otherId] = await x2.push([{ name: "Hoàng Văn Sơn", points: 8 }]);
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, acceptDownloads: true, locale: "vi-VN" });
  page = await context.newPage();
  page.on("pageerror", (e) => { throw e; });
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test("the login page is Vietnamese, in the bundled font, behind a strict CSP", async () => {
  const res = await page.goto(`${server.url}/`);
  assert.equal(new URL(page.url()).pathname, "/dashboard/");
  assert.match(res.headers()["content-security-policy"], /script-src 'self'/);
  await page.locator("#login-form").waitFor();
  assert.equal(await page.locator("h1").textContent(), "Bảng điều khiển CDHT");
  await page.getByLabel("Tên đăng nhập").waitFor();
  await page.getByLabel("Mật khẩu").waitFor();
  await page.getByRole("button", { name: "Đăng nhập" }).waitFor();
  await page.evaluate(() => document.fonts.ready);
  const font = await page.evaluate(() => ({
    family: getComputedStyle(document.body).fontFamily,
    loaded: [...document.fonts].filter((f) => f.status === "loaded").map((f) => f.family),
    // The bundled Vietnamese subset (ạ … ỹ) is what drew the page's text.
    vietnamese: [...document.fonts].some((f) => f.status === "loaded" && f.family.includes("Noto Sans") && /1EA0/i.test(f.unicodeRange)),
  }));
  assert.match(font.family, /Noto Sans/);
  assert.ok(font.loaded.some((f) => f.includes("Noto Sans")), JSON.stringify(font));
  assert.ok(font.vietnamese);
  await shot("01-login");
  // A wrong password says so, in Vietnamese.
  await page.getByLabel("Tên đăng nhập").fill("kiemtra-x1");
  await page.getByLabel("Mật khẩu").fill("sai-mat-khau");
  await page.getByRole("button", { name: "Đăng nhập" }).click();
  await page.locator("#login-error").getByText("Sai tên đăng nhập hoặc mật khẩu.").waitFor();
});

test("a reviewer approves one, returns another with a reason, and meets a second reviewer", async () => {
  await signIn("kiemtra-x1");
  await page.locator("#queue-table").waitFor();
  const names = await page.locator("#queue-table tbody tr td:first-child a").allTextContents();
  assert.deepEqual(new Set(names), new Set(["Nguyễn Thị Hằng", "Trần Văn Đức", "Lê Thị Ánh"]));
  await shot("02-queue");

  await page.getByRole("link", { name: "Nguyễn Thị Hằng" }).click();
  await page.locator("#review-person").getByText("Nguyễn Thị Hằng").waitFor();
  assert.equal(await page.locator("#review-indicators > li").count(), 10);
  assert.match(await page.locator("#review-score").textContent(), /80\/100/);
  const thumb = page.locator(`button.thumb-open[data-sha] img`);
  await thumb.waitFor();
  assert.ok(await thumb.evaluate((img) => img.complete && img.naturalWidth === 640));
  await shot("03-review");
  await page.locator("button.thumb-open").click();
  await page.locator("#photo-viewer img").waitFor();
  assert.equal(await page.locator("#photo-viewer img").evaluate((img) => img.naturalWidth), 640);
  await page.screenshot({ path: path.join(SHOTS, "04-photo.png") });
  await page.keyboard.press("Escape");
  await page.locator("#photo-viewer").waitFor({ state: "detached" });
  // The keyboard: a approves.
  await page.keyboard.press("a");
  await page.locator("#review-done").getByText("Đã duyệt.").waitFor();
  assert.equal(await page.locator("#review-state").textContent(), "Chi hội đã duyệt");

  // j walks to the next of the queue as it was listed.
  await page.goto(`${server.url}/dashboard/queue`);
  await page.locator("#queue-table").waitFor();
  const listed = await page.locator("#queue-table tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.id));
  await page.locator(`tr[data-id="${listed[0]}"] a`).click();
  await page.locator("#review-person").waitFor();
  await page.keyboard.press("j");
  await page.waitForURL(`**/review/${listed[1]}**`);

  // Trần Văn Đức: another reviewer approves it while this page shows it.
  await page.goto(`${server.url}/dashboard/review/${ids[1]}`);
  await page.locator("#review-person").getByText("Trần Văn Đức").waitFor();
  const admin = await login(server, "admin-tinh");
  assert.equal((await api(server, "POST", `/api/v1/assessments/${ids[1]}/approve`, { token: admin, body: {} })).status, 204);
  await page.locator("#approve").click();
  const conflict = page.locator("#review-conflict");
  await conflict.waitFor();
  assert.match(await conflict.textContent(), /^Bản này đã được admin-tinh duyệt lúc .+\. Không có gì bị ghi đè\.$/);
  await shot("05-conflict");
  // Nothing was overwritten: still approved, by the other reviewer.
  const detail = await api(server, "GET", `/api/v1/assessments/${ids[1]}`, { token: admin });
  assert.equal(detail.json.state, "approved");
  assert.equal(detail.json.last_review.actor, "admin-tinh");

  // Lê Thị Ánh fails on indicator 2.1: returned with a reason (required).
  await page.goto(`${server.url}/dashboard/review/${ids[2]}`);
  await page.locator("#review-reasons").waitFor();
  // The server's reasons are codes, worded by the catalogs.
  assert.match(await page.locator("#review-reasons").textContent(), /Chỉ số 2\.1 chỉ có \d+ điểm, cần ít nhất 5\./);
  await page.locator("#return").click();
  assert.equal(await page.locator("#return-reason").evaluate((el) => el === document.activeElement), true);
  await page.locator("#return-reason").fill(REASON);
  await page.locator("#return").click();
  await page.locator("#review-done").getByText("Đã trả lại kèm lý do.").waitFor();
  assert.equal(await page.locator("#review-state").textContent(), "Bị trả lại");
  const returned = await api(server, "GET", `/api/v1/assessments/${ids[2]}`, { token: admin });
  assert.equal(returned.json.return_reason, REASON);
  await signOut();
});

test("a recogniser recognises a batch and gets the decision's list", async () => {
  await signIn("congnhan-x1");
  await page.locator("#nav-recognition").click();
  await page.locator("#approved-list").waitFor();
  assert.equal(await page.locator("#approved-list li").count(), 4);
  await page.locator("#select-all").check();
  await page.locator("#decision-no").fill(DECISION);
  await page.locator("#decision-date").fill(`${YEAR}-11-20`);
  await shot("06-recognition");
  await page.locator("#recognise").click();
  await page.locator("#recognition-done").getByText(`Đã công nhận 4 người theo quyết định ${DECISION}.`).waitFor();
  await page.locator("#recognition-empty").waitFor();
  const list = await downloadOf("#recognition-done #decision-xlsx", "decision.xlsx");
  const book = new ExcelJS.Workbook();
  await book.xlsx.readFile(list);
  const cells = [];
  book.worksheets[0].eachRow((row) => cells.push(...row.values.filter((v) => typeof v === "string")));
  for (const name of ["Nguyễn Thị Hằng", "Trần Văn Đức", "Phạm Thị Thuỷ", "Đặng Quốc Việt"]) assert.ok(cells.includes(name), `${name} in ${cells}`);
  const pdf = await downloadOf("#recognition-done #decision-pdf", "decision.pdf");
  assert.match(execFileSync("pdftotext", [pdf, "-"], { encoding: "utf8" }), /Đặng Quốc Việt/);
});

test("the report's page, its drill-down, its XLSX and CSV agree with the JSON", async () => {
  await page.locator("#nav-reports").click();
  await page.locator("#report-counts").waitFor();
  const token = await page.evaluate(() => sessionStorage.getItem("cdht.dashboard.token"));
  const json = (await api(server, "GET", `/api/v1/units/DEMO-X1/report?year=${YEAR}`, { token })).json;
  assert.deepEqual([json.registered, json.submitted, json.approved, json.returned, json.recognised, json.passed], [5, 5, 4, 1, 4, 4]);
  const row = await page.locator("#report-counts tbody td").allTextContents();
  assert.deepEqual(row.slice(0, 6), ["5", "5", "4", "1", "4", "4"]);
  assert.equal(await page.locator("#progress-adults").getAttribute("data-target"), String(json.progress.adults_recognised_target));
  assert.ok(await page.locator("#chart-indicators rect.chart-bar").count() === 10);
  // Each indicator by its id and the catalog's title, in the table and the chart, in the language chosen.
  const weakest = json.indicators[0];
  assert.ok(weakest.title.vi && weakest.title.en && weakest.title.vi !== weakest.id);
  const firstRow = page.locator("#report-indicators tbody tr").first();
  assert.equal(await firstRow.locator("th").textContent(), `${weakest.id} ${weakest.title.vi}`);
  const label = await page.locator("#chart-indicators .chart-label").first().textContent();
  assert.ok(`${weakest.id} ${weakest.title.vi}`.startsWith(label.replace(/…$/, "")), label);
  await shot("07-report");
  await page.locator("#lang-select").selectOption("en");
  await firstRow.locator("th").getByText(`${weakest.id} ${weakest.title.en}`, { exact: true }).waitFor();
  await page.locator("#report-indicators").screenshot({ path: path.join(SHOTS, "07b-report-indicators-en.png") });
  await page.locator("#lang-select").selectOption("vi");
  await firstRow.locator("th").getByText(`${weakest.id} ${weakest.title.vi}`, { exact: true }).waitFor();

  const xlsx = await downloadOf("#report-xlsx", "report.xlsx");
  const book = new ExcelJS.Workbook();
  await book.xlsx.readFile(xlsx);
  const summary = book.getWorksheet("Tổng hợp");
  const value = (label) => {
    let found;
    summary.eachRow((r) => { if (r.getCell(1).value === label) found = r.getCell(2).value; });
    return found;
  };
  assert.equal(value("Người đăng ký"), json.registered);
  assert.equal(value("Bản đã gửi"), json.submitted);
  assert.equal(value("Được công nhận"), json.recognised);
  assert.equal(value("Bị trả lại"), json.returned);
  assert.equal(typeof value("Đạt (điểm máy chủ)"), "number");
  const children = book.getWorksheet("Theo đơn vị trực thuộc");
  assert.equal(children.getRow(2).getCell(1).value, "DEMO-X1-C1");
  const csv = readFileSync(await downloadOf("#report-csv", "report.csv"));
  assert.deepEqual([...csv.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  assert.match(csv.toString("utf8"), /Được công nhận/);

  // A click on a child unit's row opens its own report.
  await page.locator('#report-children tr[data-unit="DEMO-X1-C1"]').click();
  await page.locator("#report-heading").getByText(/Chi hội khuyến học thôn Đông/).waitFor();
  assert.match(page.url(), /unit=DEMO-X1-C1/);
});

test("a certificate's PDF carries the name and a QR to the public verify page", async () => {
  await page.goto(`${server.url}/dashboard/review/${ids[0]}`);
  const pdf = await downloadOf("#certificate", "certificate.pdf");
  const text = execFileSync("pdftotext", [pdf, "-"], { encoding: "utf8" });
  for (const want of ["Nguyễn Thị Hằng", "Công dân học tập", DECISION, String(YEAR)]) assert.ok(text.includes(want), `${want} in ${text}`);
  execFileSync("pdftoppm", ["-r", "150", "-png", "-singlefile", pdf, path.join(work, "certificate")]);
  const png = PNG.sync.read(readFileSync(path.join(work, "certificate.png")));
  writeFileSync(path.join(SHOTS, "08-certificate.png"), readFileSync(path.join(work, "certificate.png")));
  const qr = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  assert.ok(qr, "a QR code on the certificate");
  assert.match(qr.data, new RegExp(`^${server.url}/v/[A-Za-z0-9_-]{20,}$`));
  const verify = await browser.newPage();
  await verify.goto(qr.data);
  const body = await verify.locator("body").textContent();
  assert.match(body, /N\.\s?T\.\s?H\./);
  assert.ok(!body.includes("Nguyễn Thị Hằng"), "only initials on the public page");
  assert.ok(body.includes(DECISION));
  await verify.screenshot({ path: path.join(SHOTS, "09-verify.png"), fullPage: true });
  await verify.close();
  await signOut();
});

test("an officer of another commune sees nothing of the first", async () => {
  await signIn("kiemtra-x2");
  await page.locator("#queue-table").waitFor();
  const names = await page.locator("#queue-table tbody tr td:first-child a").allTextContents();
  assert.deepEqual(names, ["Hoàng Văn Sơn"]);
  assert.deepEqual(await page.locator("#scope-unit option").evaluateAll((o) => o.map((x) => x.value)), ["DEMO-X2", "DEMO-X2-C1", "DEMO-X2-T1"]);
  await page.goto(`${server.url}/dashboard/review/${ids[0]}`);
  await page.locator("#error").getByText("Tài khoản hoặc thiết bị này không có quyền với bản ghi hay đơn vị đó.").waitFor();
  assert.equal(await page.locator("#review-person").count(), 0);
  await shot("10-out-of-scope");
  await page.goto(`${server.url}/dashboard/reports?unit=DEMO-X1&year=${YEAR}`);
  await page.locator("#error").waitFor();
  assert.equal(await page.locator("#report-counts").count(), 0);
  const token = await page.evaluate(() => sessionStorage.getItem("cdht.dashboard.token"));
  const sha = (await api(server, "GET", `/api/v1/assessments/${ids[0]}`, { token: await login(server, "kiemtra-x1") })).json.indicators[0].evidence[0];
  for (const p of [`/api/v1/assessments/${ids[0]}`, `/api/v1/assessments/${ids[0]}/certificate.pdf`,
    `/api/v1/units/DEMO-X1/report?year=${YEAR}`, `/api/v1/units/DEMO-X1/report.xlsx?year=${YEAR}`,
    `/api/v1/units/DEMO-X1/review-queue?year=${YEAR}`, `/api/v1/units/DEMO-X1/duplicates`,
    `/api/v1/units/DEMO-X1/recognition-list.pdf?decision_no=${encodeURIComponent(DECISION)}`]) {
    assert.equal((await api(server, "GET", p, { token })).status, 403, p);
  }
  // A photo outside one's subtrees is not found (the server does not even
  // say it exists); the first commune's reviewer gets it.
  assert.equal((await api(server, "GET", `/api/v1/evidence/${sha}`, { token })).status, 404);
  // Their own commune's assessment opens.
  await page.goto(`${server.url}/dashboard/review/${otherId}`);
  await page.locator("#review-person").getByText("Hoàng Văn Sơn").waitFor();
});

test("an expired session shows its own page; English is one switch away; a phone fits", async () => {
  await page.evaluate(() => sessionStorage.setItem("cdht.dashboard.token", "0".repeat(64)));
  await page.goto(`${server.url}/dashboard/queue`);
  await page.locator("#session-expired").getByText("Phiên đăng nhập đã hết hạn").waitFor();
  await shot("11-expired");
  await page.locator("#lang-select").selectOption("en");
  await page.locator("#session-expired").getByText("Your session has expired").waitFor();
  await page.locator("#login-again").click();
  await page.getByLabel("Username").waitFor();
  await page.locator("#lang-select").selectOption("vi");

  await page.setViewportSize({ width: 390, height: 844 });
  await signIn("kiemtra-x1");
  await page.goto(`${server.url}/dashboard/review/${ids[0]}`);
  await page.locator("#review-person").waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no sideways scrolling on a phone (${overflow}px)`);
  await shot("12-phone-review");
});

test("the duplicates page puts one person's two assessments side by side, with units and states", async () => {
  // Same CCCD, same year, in a hamlet of each commune; the mountain one is approved.
  const cccd = "034085001234";
  const [east] = await (await phone(server, "DEMO-X1-C1")).push([{ name: "Phạm Văn Nam", points: 8, cccd }]);
  const [mountain] = await (await phone(server, "DEMO-X2-C1")).push([{ name: "Pham Van Nam", points: 9, cccd }]);
  const admin = await login(server, "admin-tinh");
  assert.equal((await api(server, "POST", `/api/v1/assessments/${mountain}/approve`, { token: admin, body: {} })).status, 204);

  await page.setViewportSize({ width: 1366, height: 768 });
  await signOut();
  await signIn("admin-tinh");
  await page.goto(`${server.url}/dashboard/duplicates?unit=DEMO-T&year=${YEAR}`);
  const group = page.locator(".dup-group");
  await group.first().waitFor();
  assert.equal(await group.count(), 1);
  assert.equal(await group.locator("h3").textContent(),
    `2 bản năm ${YEAR}: Chi hội khuyến học thôn Đông, Chi hội khuyến học bản Na Cô Sa`);
  const card = (id) => group.locator(`.dup-member[data-id="${id}"]`);
  await card(east).waitFor();
  await card(mountain).waitFor();
  // Side by side: one row, the officer's order (the first unit's on the left).
  const [left, right] = await Promise.all([card(east).boundingBox(), card(mountain).boundingBox()]);
  assert.ok(Math.abs(left.y - right.y) < 2 && left.x + left.width <= right.x, JSON.stringify({ left, right }));
  const text = async (id) => (await card(id).innerText()).replace(/\s+/g, " ");
  assert.match(await text(east), /^Phạm Văn Nam Chi hội khuyến học thôn Đông \(DEMO-X1-C1\) Đã gửi · 80\/80 /);
  assert.match(await text(mountain), /^Pham Van Nam Chi hội khuyến học bản Na Cô Sa \(DEMO-X2-C1\) Chi hội đã duyệt · 90\/\d+ /);
  // What each reviewer should do is said on the page.
  await page.locator("#duplicates").getByText("Máy chủ không tự gộp hay xoá.", { exact: false }).waitFor();
  await shot("13-duplicates");
  // Each side opens its review page.
  await card(east).getByRole("link").click();
  await page.locator("#review-person").getByText("Phạm Văn Nam").waitFor();

  // A commune's reviewer sees their own side; the other is named by unit only.
  await signOut();
  await signIn("kiemtra-x1");
  await page.goto(`${server.url}/dashboard/duplicates?unit=DEMO-X1&year=${YEAR}`);
  await card(east).waitFor();
  const outside = group.locator(".dup-member.outside");
  await outside.waitFor();
  assert.equal((await outside.innerText()).replace(/\s+/g, " "),
    "DEMO-X2-C1 Bản này ở đơn vị ngoài phạm vi tài khoản của bạn.");
  assert.doesNotMatch(await group.innerText(), /Pham Van Nam/);
  await shot("14-duplicates-one-side");
});
