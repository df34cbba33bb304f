// Drives telltale's live dashboard in Debian's headless Chromium.
//
//   TELLTALE_URL=http://127.0.0.1:PORT TELLTALE_TOKEN=... TELLTALE_DEVICE=name TELLTALE_SHOTS=DIR \
//     node tests/browser/dashboard.mjs
//
// Run by crates/telltale-cli/tests/dashboard.rs, which starts `telltale serve` and `telltale simulate` first.
// With TELLTALE_RESTART (JSON: {"pid": serve's pid, "serve": [argv], "simulate": [argv]}) the server is stopped
// under the open page, started again, and fed again: the page must reconnect by itself. The restarted server is
// stopped at the end.
// Checks: the token is enforced (page and API); the page, opened once with ?token=, keeps it; the device appears;
// an anomaly shows up shaded on its chart and in the feed; acknowledging it persists across a reload. Leaves
// screenshots in TELLTALE_SHOTS. Exits non-zero, naming the failed check, otherwise.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";

const base = process.env.TELLTALE_URL;
const token = process.env.TELLTALE_TOKEN;
const device = process.env.TELLTALE_DEVICE;
const shots = process.env.TELLTALE_SHOTS || ".";
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
assert.ok(base && token && device, "TELLTALE_URL, TELLTALE_TOKEN and TELLTALE_DEVICE are required");

const step = (what) => console.log(`- ${what}`);
let restarted = null;
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
try {
  // Without the token: the page asks for it, the API refuses.
  const stranger = await browser.newContext();
  const denied = await stranger.newPage();
  const page401 = await denied.goto(base + "/");
  assert.equal(page401.status(), 401, "the page without a token");
  assert.match(await denied.textContent("body"), /requires a token/);
  const api401 = await stranger.request.get(base + "/api/devices");
  assert.equal(api401.status(), 401, "the API without a token");
  const wrong = await stranger.request.get(base + "/api/devices", { headers: { authorization: "Bearer not-the-token" } });
  assert.equal(wrong.status(), 401, "the API with a wrong token");
  const wrongPage = await denied.goto(base + "/?token=not-the-token");
  assert.equal(wrongPage.status(), 401, "the page with a wrong token");
  await stranger.close();
  step("token enforced on the page and the API");

  // With it, once: the page keeps it (cookie) and the address bar loses it.
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // A link to one device, with the token: the page opens on that device, the token leaves the address bar.
  await page.goto(`${base}/?device=${encodeURIComponent(device)}&token=${encodeURIComponent(token)}`);
  assert.ok(!page.url().includes("token="), `the token left the address bar: ${page.url()}`);
  assert.ok(page.url().includes(`device=${encodeURIComponent(device)}`), `the link keeps its device: ${page.url()}`);
  await page.waitForFunction((d) => document.getElementById("device-name").textContent === d, device, { timeout: 15000 });
  const row = page.locator(`#fleet tbody tr[data-device="${device}"]`);
  await row.waitFor({ timeout: 30000 });
  step(`device ${device} listed and opened from a link`);
  if (process.env.TELLTALE_FLEET) {
    // Hundreds of devices: all counted, the table sorts and filters.
    const fleet = Number(process.env.TELLTALE_FLEET);
    await page.waitForFunction((n) => document.getElementById("k-devices").textContent.replace(/,/g, "") === String(n), fleet, { timeout: 15000 });
    await page.click('#fleet th[data-key="device"]');
    await page.waitForFunction(() => document.querySelector("#fleet tbody tr").dataset.device === "dev-1", null, { timeout: 5000 });
    await page.fill("#filter", "fleet-dev-29");
    await page.waitForFunction(() => document.querySelectorAll("#fleet tbody tr").length === 10, null, { timeout: 5000 });
    await page.fill("#filter", "");
    await page.waitForFunction((n) => document.querySelectorAll("#fleet tbody tr").length === n, fleet, { timeout: 5000 });
    step(`${fleet} devices counted, sorted and filtered`);
  }
  await row.click();
  await page.waitForFunction((d) => document.getElementById("device-name").textContent === d, device);
  await page.waitForFunction(() => document.getElementById("conn").textContent === "live", null, { timeout: 15000 });

  // An anomaly, shaded on its chart: the span is drawn (count and a shaded pixel in the score chart).
  await page.waitForFunction(() => Number(document.getElementById("charts").dataset.spans) > 0, null, { timeout: 30000 });
  const shade = await page.evaluate(() => {
    const c = document.getElementById("scores"), x = Number(document.getElementById("charts").dataset.firstSpanX);
    const dpr = window.devicePixelRatio || 1;
    const p = c.getContext("2d").getImageData(Math.round(x * dpr), Math.round(8 * dpr), 1, 1).data;
    return Array.from(p);
  });
  assert.ok(shade[3] > 0 && shade[0] > shade[2], `the anomaly span is shaded red at its middle: rgba ${shade}`);
  step("anomaly shaded on the device's chart");

  // In the feed, with its causes and alerts; acknowledged, and still acknowledged after a reload.
  // The anomaly that raised an alert (later ones fall in the alert cooldown and raise none).
  const item = page.locator("#feed tbody tr").filter({ hasText: device }).filter({ hasText: "mqtt:" }).first();
  await item.waitFor({ timeout: 30000 });
  const id = await item.getAttribute("data-anomaly");
  assert.match(await item.textContent(), /mqtt: (sent|pending|failed)/, "its MQTT alert's state is shown");
  await page.screenshot({ path: `${shots}/dashboard.png` });
  await item.locator("button.ack").click();
  const acked = page.locator(`#feed tbody tr[data-anomaly="${id}"] [data-acked]`);
  await acked.waitFor({ timeout: 10000 });
  await page.reload();
  await page.locator(`#feed tbody tr[data-anomaly="${id}"] [data-acked]`).waitFor({ timeout: 15000 });
  step(`anomaly ${id} acknowledged, still so after a reload`);

  // A threshold changed on the page re-judges the kept scores at once and is recorded.
  await page.locator(`#fleet tbody tr[data-device="${device}"]`).click();
  await page.waitForFunction(() => document.getElementById("thr-note").textContent.includes("windows"), null, { timeout: 15000 });
  await page.fill("#thr-value", "1e9");
  await page.click("#thr-device");
  await page.waitForFunction(() => /^0 of the last/.test(document.getElementById("thr-note").textContent), null, { timeout: 10000 });
  await page.waitForFunction((d) => document.getElementById("changes").textContent.includes(d), device, { timeout: 10000 });
  await page.click("#thr-clear");
  await page.waitForFunction(() => document.getElementById("changes").textContent.includes("cleared"), null, { timeout: 10000 });
  step("threshold set and cleared from the page, both recorded");

  if (process.env.TELLTALE_RESTART) {
    const r = JSON.parse(process.env.TELLTALE_RESTART);
    process.kill(r.pid, "SIGTERM");
    await page.waitForFunction(() => document.getElementById("conn").textContent !== "live", null, { timeout: 20000 });
    step("server stopped: the page says it is reconnecting");
    restarted = spawn(r.serve[0], r.serve.slice(1), { stdio: "ignore" });
    await page.waitForFunction(() => document.getElementById("conn").textContent === "live", null, { timeout: 60000 });
    const fed = spawnSync(r.simulate[0], r.simulate.slice(1), { encoding: "utf8", timeout: 60000 });
    assert.equal(fed.status, 0, `simulate after the restart: ${fed.stderr}`);
    // The new server's readings reach the same page, with no reload: its count for the device is what was sent.
    const sent = JSON.parse(fed.stdout).readings;
    await page.waitForFunction((n) => {
      const m = document.getElementById("device-info").textContent.match(/^([\d,]+) readings/);
      return m && Number(m[1].replace(/,/g, "")) === n;
    }, sent, { timeout: 30000 });
    // And the new server lists the device again in the fleet table.
    await page.locator(`#fleet tbody tr[data-device="${device}"]`).waitFor({ timeout: 10000 });
    step("server restarted: the page reconnected and shows the new server's readings");
  }
  await page.screenshot({ path: `${shots}/dashboard-after.png` });
  assert.deepEqual(errors, [], "no script errors on the page");
  await context.close();
} finally {
  await browser.close();
  if (restarted) restarted.kill("SIGTERM");
}
console.log("dashboard: all checks passed");
