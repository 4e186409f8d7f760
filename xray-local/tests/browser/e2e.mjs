// End-to-end test of the xray-local console in a real headless browser: Debian's chromium
// driven by playwright-core (no browser download). Started by xray-local/tests/ui_browser.rs,
// which runs the receiver with --ui and the `server` example sending traffic into it.
//
//   XRAY_UI_URL          the console, e.g. http://127.0.0.1:2080/
//   XRAY_UI_SCREENSHOTS  where to save screenshots (default target/ui-e2e)
//   XRAY_UI_MIN_TRACES   how many traces to wait for (default 5)
//   XRAY_UI_SERVICE      the example service's name (default example-server)
//   CHROMIUM             the browser (default /usr/bin/chromium)
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const url = process.env.XRAY_UI_URL;
assert.ok(url, "XRAY_UI_URL is not set");
const shots = process.env.XRAY_UI_SCREENSHOTS || "target/ui-e2e";
const minTraces = Number(process.env.XRAY_UI_MIN_TRACES || 5);
const service = process.env.XRAY_UI_SERVICE || "example-server";
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // Root in CI containers: chromium's sandbox needs user namespaces it may not have.
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  timeout: 60_000,
});
let passed = 0;
const step = (what) => { passed += 1; console.log(`ok ${passed} - ${what}`); };
const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
// The invalid filter's 400 is expected; the browser logs it as a failed resource.
page.on("console", (m) => {
  if (m.type() === "error" && !/status of 400/.test(m.text())) problems.push(`console error: ${m.text()}`);
});
const external = [];
page.on("request", (r) => { if (!r.url().startsWith(url.replace(/\/$/, ""))) external.push(r.url()); });
page.setDefaultTimeout(20_000);

try {
  await page.goto(url);
  await page.waitForSelector(`#map [data-node="${service}"]`);
  await page.waitForFunction((n) => Number(document.querySelector("#traces").dataset.count || 0) >= n, minTraces);
  const status = await page.textContent("#status");
  assert.match(status, /\d+ traces held \(max \d+/, status);
  step(`page loaded: ${status.trim()}`);

  // Auto-refresh: traffic keeps flowing, and the list grows without a reload.
  const before = Number(await page.getAttribute("#traces", "data-count"));
  await page.waitForFunction((n) => Number(document.querySelector("#traces").dataset.count) > n, before);
  step(`auto-refresh: ${before} → ${await page.getAttribute("#traces", "data-count")} traces without reloading`);

  // The map: the client, the service, its database; client → service, the /chain self-call
  // and the database call, each labelled with requests and average latency.
  const nodes = await page.$$eval("#map [data-node]", (els) => els.map((e) => e.dataset.node));
  assert.ok(nodes.includes("client"), `nodes: ${nodes}`);
  assert.ok(nodes.includes(service), `nodes: ${nodes}`);
  assert.ok(nodes.some((n) => n.endsWith(".db") || n.includes("@")), `no database node: ${nodes}`);
  const edges = await page.$$eval("#map [data-edge]", (els) => els.map((e) => [e.dataset.edge, e.querySelector("text").textContent]));
  const edge = (name) => edges.find(([e]) => e === name);
  assert.ok(edge(`client>${service}`), `edges: ${JSON.stringify(edges)}`);
  assert.ok(edge(`${service}>${service}`), `no /chain self-edge: ${JSON.stringify(edges)}`);
  for (const [, label] of edges) assert.match(label, /^\d+ req · [\d.]+ (ms|s)$/, label);
  // Node health: the service answered 4xx, 429 and 5xx, so its ring has those arcs.
  for (const cls of ["ok", "error", "fault", "throttle"]) {
    assert.ok(await page.$(`#map [data-node="${service}"] circle.arc.${cls}`), `no ${cls} arc`);
  }
  step(`service map: nodes ${nodes.join(", ")}; edges ${edges.map(([e, l]) => `${e} (${l})`).join(", ")}`);
  await page.screenshot({ path: join(shots, "console.png"), fullPage: true });

  // A filter expression narrows the trace list.
  const all = Number(await page.getAttribute("#traces", "data-count"));
  await page.fill("#filter", "http.status >= 500");
  await page.press("#filter", "Enter");
  await page.waitForFunction((n) => {
    const c = Number(document.querySelector("#traces").dataset.count);
    return c > 0 && c < n;
  }, all);
  const statuses = await page.$$eval("#traces tbody tr td:nth-child(6)", (tds) => tds.map((t) => parseInt(t.textContent, 10)));
  assert.ok(statuses.length > 0 && statuses.every((s) => s >= 500), `statuses: ${statuses}`);
  step(`filter http.status >= 500: ${statuses.length} of ${all} traces (${statuses.join(", ")})`);

  // A group (--group faults=fault) has its own map and trace list.
  await page.fill("#filter", "");
  await page.press("#filter", "Enter");
  await page.selectOption("#group", "faults");
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll("#traces tbody tr[data-trace-id]")];
    return rows.length > 0 && rows.every((r) => r.querySelector(".badge.fault"));
  });
  await page.waitForFunction(() => /in group faults/.test(document.querySelector("#map-caption").textContent));
  const groupMap = await page.textContent("#map-caption");
  const groupCount = await page.getAttribute("#traces", "data-count");
  assert.ok(!(await page.$('#map [data-node$=".db"]')), "the faults group's map has no database call");
  await page.selectOption("#group", "");
  step(`group faults: ${groupCount} traces, map ${groupMap}`);

  // A parse error points at its position.
  await page.fill("#filter", "fault AND");
  await page.press("#filter", "Enter");
  await page.waitForSelector("#filter-error:not([hidden])");
  const message = await page.textContent("#filter-error");
  assert.match(message, /position 10/, message);
  assert.ok(await page.$("#filter.invalid"));
  step(`invalid filter reported: ${message.split("\n")[0]}`);

  // Clicking a node lists its traces; clicking an edge lists the traces of that call.
  await page.click(`#map [data-node="${service}"]`);
  await page.waitForFunction((s) => document.querySelector("#filter").value === `service("${s}")`, service);
  await page.waitForFunction(() => document.querySelector("#filter-error").hidden);
  step(`node click filters: ${await page.inputValue("#filter")} (${await page.getAttribute("#traces", "data-count")} traces)`);
  await page.click(`#map [data-edge="${service}>${service}"] text`);
  await page.waitForFunction((s) => document.querySelector("#filter").value === `edge("${s}", "${s}")`, service);
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll("#traces tbody tr td:nth-child(5)")];
    return rows.length > 0 && rows.every((td) => td.textContent.includes("/chain"));
  });
  step(`edge click filters: ${await page.inputValue("#filter")} (${await page.getAttribute("#traces", "data-count")} traces, all /chain)`);

  // A trace opens with its timeline: the /chain segment, its HTTP call, and the /hello
  // segment it caused, nested; details show annotations.
  await page.click("#traces tbody tr[data-trace-id]");
  await page.waitForSelector("#timeline .row[data-entity]");
  const rows = await page.$$eval("#timeline .row[data-entity]", (els) => els.map((e) => ({
    name: e.dataset.name,
    indent: parseInt(e.querySelector(".label").style.paddingLeft, 10) || 0,
    width: parseFloat(e.querySelector(".bar").style.width),
    meta: e.querySelector(".meta").textContent,
  })));
  assert.ok(rows.length >= 3, JSON.stringify(rows));
  assert.equal(rows[0].name, service);
  assert.equal(rows[0].indent, 0);
  assert.ok(rows.some((r) => r.name === service && r.indent > 0), `no nested downstream segment: ${JSON.stringify(rows)}`);
  assert.ok(rows.every((r) => r.width > 0 && /ms|s/.test(r.meta)), JSON.stringify(rows));
  const nested = rows.find((r) => r.name === service && r.indent > 0);
  await page.click(`#timeline .row[data-entity]:nth-of-type(${rows.indexOf(nested) + 2})`);
  await page.waitForSelector("#timeline .details");
  const detail = await page.textContent("#timeline .details");
  assert.match(detail, /Annotations[\s\S]*greeting/, detail);
  step(`trace timeline: ${rows.map((r) => `${"  ".repeat(r.indent / 16)}${r.name} ${r.meta}`).join(" | ")}`);
  await page.screenshot({ path: join(shots, "trace.png"), fullPage: true });

  assert.deepEqual(external, [], "requests outside the console");
  assert.deepEqual(problems, []);
  step("no page errors, nothing loaded from elsewhere");
  console.log(`${passed} passed, 0 failed`);
} catch (e) {
  await page.screenshot({ path: join(shots, "failure.png"), fullPage: true }).catch(() => {});
  console.error(`not ok - ${e.stack || e}`);
  if (problems.length) console.error(problems.join("\n"));
  await browser.close();
  process.exit(1);
}
await browser.close();
