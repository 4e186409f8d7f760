// The xray-local console: polls the JSON API, draws the service map as SVG, lists traces and
// shows one trace's timeline. No libraries: everything the page needs is in this file.
"use strict";

const REFRESH_MS = 2000;
const SVG = "http://www.w3.org/2000/svg";
const state = { group: "", filter: "", selected: null, traceId: null, open: new Set(), timer: null };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const ns = ["svg", "g", "circle", "path", "text", "line", "marker", "defs", "title", "tspan"].includes(tag);
  const node = ns ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "onclick") node.addEventListener("click", v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function ms(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const v = seconds * 1000;
  return v >= 1000 ? (v / 1000).toFixed(2) + " s" : v.toFixed(v < 10 ? 2 : 1) + " ms";
}

function clock(epoch) {
  if (!epoch) return "–";
  const d = new Date(epoch * 1000);
  return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

async function api(path, options) {
  const res = await fetch(path, options);
  const body = await res.json().catch(() => ({}));
  return { ok: res.ok, status: res.status, body };
}

function query(extra) {
  const p = new URLSearchParams();
  if (state.group) p.set("group", state.group);
  for (const [k, v] of Object.entries(extra || {})) if (v) p.set(k, v);
  const s = p.toString();
  return s ? "?" + s : "";
}

// ---- status and groups ----

async function refreshStatus() {
  const { ok, body } = await api("/api/status");
  if (!ok) return;
  const age = body.MaxTraceAgeSeconds ? `, kept ${Math.round(body.MaxTraceAgeSeconds)} s` : "";
  $("status").textContent =
    `${body.TracesHeld} traces held (max ${body.MaxTraces}${age}; ${body.TracesDropped} dropped) · udp://${body.ListenAddress}`;
  $("status").dataset.held = body.TracesHeld;
}

async function refreshGroups() {
  const { ok, body } = await api("/api/groups");
  if (!ok) return;
  const select = $("group");
  const current = state.group;
  select.replaceChildren(el("option", { value: "", text: "All traces" }));
  for (const g of body.Groups) {
    select.append(el("option", { value: g.GroupName, title: g.FilterExpression, text: `${g.GroupName}  (${g.FilterExpression})` }));
  }
  select.value = body.Groups.some((g) => g.GroupName === current) ? current : "";
  state.group = select.value;
  $("delete-group").disabled = !state.group;
}

// ---- service map ----

function layout(services) {
  // Columns by the longest path from a caller-less node; back edges (cycles) are ignored.
  const level = new Map(services.map((s) => [s.ReferenceId, 0]));
  const incoming = new Map(services.map((s) => [s.ReferenceId, 0]));
  for (const s of services) for (const e of s.Edges) if (e.ReferenceId !== s.ReferenceId) incoming.set(e.ReferenceId, incoming.get(e.ReferenceId) + 1);
  for (let pass = 0; pass < services.length; pass++) {
    let changed = false;
    for (const s of services) {
      for (const e of s.Edges) {
        if (e.ReferenceId === s.ReferenceId) continue;
        const want = level.get(s.ReferenceId) + 1;
        if (want > level.get(e.ReferenceId) && want < services.length) {
          level.set(e.ReferenceId, want);
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  const columns = [];
  for (const s of services) {
    const l = level.get(s.ReferenceId);
    (columns[l] = columns[l] || []).push(s);
  }
  // Room above the first row for a self-call's loop and its label.
  const colW = 260, rowH = 150, pad = 90, top0 = 70;
  const height = Math.max(...columns.map((c) => (c ? c.length : 0)), 1) * rowH + 40 + top0;
  const pos = new Map();
  columns.forEach((col, x) => {
    if (!col) return;
    const top = top0 + (height - top0 - col.length * rowH) / 2;
    col.forEach((s, y) => pos.set(s.ReferenceId, { x: pad + x * colW, y: top + rowH / 2 + y * rowH }));
  });
  return { pos, width: pad * 2 + (columns.length - 1) * colW + 80, height };
}

function stats(s) {
  const t = s.TotalCount || 0;
  const fault = s.FaultStatistics ? s.FaultStatistics.TotalCount : 0;
  const throttle = s.ErrorStatistics ? s.ErrorStatistics.ThrottleCount : 0;
  const error = s.ErrorStatistics ? s.ErrorStatistics.OtherCount : 0;
  return { total: t, ok: s.OkCount || 0, error, fault, throttle, avg: t ? s.TotalResponseTime / t : null };
}

function donut(cx, cy, r, st) {
  // One arc per health class, proportional to its share of requests.
  const g = el("g");
  const parts = [["ok", st.ok], ["error", st.error], ["throttle", st.throttle], ["fault", st.fault]].filter(([, n]) => n > 0);
  const total = parts.reduce((a, [, n]) => a + n, 0);
  if (!total) {
    g.append(el("circle", { cx, cy, r, fill: "none", stroke: "#c3cad2", "stroke-width": 6 }));
    return g;
  }
  const C = 2 * Math.PI * r;
  let offset = 0;
  for (const [cls, n] of parts) {
    const len = (n / total) * C;
    g.append(el("circle", {
      cx, cy, r, fill: "none", class: "arc " + cls, stroke: `var(--${cls})`, "stroke-width": 6,
      "stroke-dasharray": `${len} ${C - len}`, "stroke-dashoffset": -offset, transform: `rotate(-90 ${cx} ${cy})`,
    }));
    offset += len;
  }
  return g;
}

function radius(total, max) {
  return 22 + 18 * Math.sqrt(max ? total / max : 0);
}

async function refreshMap() {
  const { ok, body } = await api("/api/service-graph" + query());
  if (!ok) return;
  const svg = $("map");
  const services = body.Services;
  $("map-caption").textContent = `${services.length} nodes from ${body.TraceCount} traces` + (state.group ? ` in group ${state.group}` : "");
  if (!services.length) {
    svg.replaceChildren(el("text", { x: 20, y: 40, fill: "#66717f", text: "No traces yet: point AWS_XRAY_DAEMON_ADDRESS at this receiver and send requests." }));
    svg.setAttribute("width", 700);
    svg.setAttribute("height", 80);
    return;
  }
  const { pos, width, height } = layout(services);
  svg.setAttribute("width", Math.max(width, 600));
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${Math.max(width, 600)} ${height}`);
  const max = Math.max(...services.map((s) => s.SummaryStatistics.TotalCount || 0));
  const byRef = new Map(services.map((s) => [s.ReferenceId, s]));
  const defs = el("defs", {}, el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8a96a3" })));
  const edges = el("g"), nodes = el("g");
  for (const s of services) {
    for (const e of s.Edges) {
      const t = byRef.get(e.ReferenceId);
      const a = pos.get(s.ReferenceId), b = pos.get(e.ReferenceId);
      const ra = radius(s.SummaryStatistics.TotalCount, max), rb = radius(t.SummaryStatistics.TotalCount, max);
      const st = stats(e.SummaryStatistics);
      let d, lx, ly;
      if (s.ReferenceId === e.ReferenceId) {
        // A service calling itself: a loop above the node.
        d = `M${a.x - 12},${a.y - ra} C${a.x - 50},${a.y - ra - 70} ${a.x + 50},${a.y - ra - 70} ${a.x + 12},${a.y - ra}`;
        lx = a.x; ly = a.y - ra - 58;
      } else {
        const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
        const back = dx <= 0;
        const x1 = a.x + (dx / len) * ra, y1 = a.y + (dy / len) * ra, x2 = b.x - (dx / len) * (rb + 4), y2 = b.y - (dy / len) * (rb + 4);
        const bend = back ? 60 : 0;
        const mx = (x1 + x2) / 2 - (dy / len) * bend, my = (y1 + y2) / 2 + (dx / len) * bend;
        d = `M${x1},${y1} Q${mx},${my} ${x2},${y2}`;
        lx = mx; ly = my - 6;
      }
      const label = `${st.total} req · ${ms(st.avg)}`;
      const g = el("g", {
        class: "edge" + (st.fault ? " faulty" : "") + (state.selected === `edge:${s.Name}>${t.Name}` ? " selected" : ""),
        "data-edge": `${s.Name}>${t.Name}`,
        onclick: () => select(`edge:${s.Name}>${t.Name}`, `edge(${JSON.stringify(s.Name)}, ${JSON.stringify(t.Name)})`),
      },
        el("title", { text: `${s.Name} → ${t.Name}: ${label}, ${st.error} errors, ${st.throttle} throttled, ${st.fault} faults` }),
        el("path", { class: "hit", d }),
        el("path", { class: "line", d, "marker-end": "url(#arrow)" }),
        el("text", { x: lx, y: ly, "text-anchor": "middle", text: label }));
      edges.append(g);
    }
  }
  for (const s of services) {
    const p = pos.get(s.ReferenceId);
    const st = stats(s.SummaryStatistics);
    const r = radius(st.total, max);
    const isClient = s.Kind === "client";
    const key = `node:${s.Name}`;
    const filter = isClient ? "" : `service(${JSON.stringify(s.Name)})`;
    const health = st.total ? ` · ${Math.round((100 * (st.total - st.ok)) / st.total)}% failed` : "";
    const g = el("g", { class: "node" + (state.selected === key ? " selected" : ""), "data-node": s.Name, onclick: () => select(key, filter) },
      el("title", { text: `${s.Name} (${s.Type}): ${st.total} requests, ${st.ok} ok, ${st.error} errors, ${st.throttle} throttled, ${st.fault} faults, avg ${ms(st.avg)}` }),
      el("circle", { class: "core", cx: p.x, cy: p.y, r: r - 4, fill: isClient ? "#eef1f4" : "#fff", stroke: "#d5dbe1" }),
      donut(p.x, p.y, r, st),
      el("text", { class: "name", x: p.x, y: p.y + r + 16, "text-anchor": "middle", text: s.Name }),
      el("text", { class: "sub", x: p.x, y: p.y + r + 30, "text-anchor": "middle", text: `${s.Type} · ${st.total} req${health}` }),
      el("text", { class: "sub", x: p.x, y: p.y + 4, "text-anchor": "middle", text: st.avg === null ? "" : ms(st.avg) }));
    nodes.append(g);
  }
  svg.replaceChildren(defs, edges, nodes);
}

function select(key, filter) {
  state.selected = state.selected === key ? null : key;
  applyFilter(state.selected ? filter : "");
}

// ---- traces ----

function flags(t) {
  const out = [];
  if (t.HasFault) out.push(el("span", { class: "badge fault", text: "fault" }));
  if (t.HasThrottle) out.push(el("span", { class: "badge throttle", text: "throttle" }));
  else if (t.HasError) out.push(el("span", { class: "badge error", text: "error" }));
  if (!out.length) out.push(el("span", { class: "badge ok", text: "ok" }));
  if (t.IsPartial) out.push(el("span", { class: "badge partial", text: "partial" }));
  return out;
}

function annotationText(annotations) {
  return Object.entries(annotations || {})
    .map(([k, vs]) => `${k}=${vs.map((v) => { const a = v.AnnotationValue || {}; return JSON.stringify(a.StringValue ?? a.NumberValue ?? a.BooleanValue); }).join("|")}`)
    .join(" ");
}

async function refreshTraces() {
  const { ok, status, body } = await api("/api/traces" + query({ filter: state.filter }));
  const error = $("filter-error");
  if (!ok) {
    if (status === 400) {
      error.textContent = body.message;
      error.hidden = false;
      const input = $("filter");
      input.classList.add("invalid");
      // Put the cursor where the expression went wrong (unless the user is typing elsewhere).
      if (typeof body.Position === "number" && document.activeElement === input && input.value.trim() === state.filter) {
        input.setSelectionRange(body.Position, body.Position + 1);
      }
    }
    return;
  }
  error.hidden = true;
  $("filter").classList.remove("invalid");
  const rows = body.TraceSummaries.map((t) => {
    const h = t.Http || {};
    return el("tr", { "data-trace-id": t.Id, class: t.Id === state.traceId ? "selected" : null, onclick: () => openTrace(t.Id) },
      el("td", { text: clock(t.StartTime) }),
      el("td", { class: "id", text: t.Id }),
      el("td", { text: t.Name || "–" }),
      el("td", { text: h.HttpMethod || "" }),
      el("td", { title: h.HttpURL || "", text: h.HttpURL || "" }),
      el("td", {}, el("span", { text: (h.HttpStatus ?? "") + " " }), ...flags(t)),
      el("td", { text: ms(t.ResponseTime) }),
      el("td", { text: ms(t.Duration) }),
      el("td", { class: "ann", text: annotationText(t.Annotations) }));
  });
  const tbody = $("traces").tBodies[0];
  if (rows.length) tbody.replaceChildren(...rows);
  else tbody.replaceChildren(el("tr", {}, el("td", { colspan: 9, class: "empty", text: "No traces match." })));
  const scope = state.filter ? ` matching ${state.filter}` : "";
  $("traces-caption").textContent = `${body.MatchedCount} of ${body.TracesProcessedCount}${scope}` + (body.MatchedCount > body.TraceSummaries.length ? ` (newest ${body.TraceSummaries.length} shown)` : "");
  $("traces").dataset.count = body.MatchedCount;
}

// ---- one trace ----

function entities(docs) {
  // Flatten every document's subsegments; then hang each segment under the subsegment that
  // called it (its parent_id), as the receiver does.
  const all = new Map();
  const walk = (doc, parent, kind) => {
    const e = { doc, kind, children: [], parent };
    all.set(doc.id, e);
    for (const s of doc.subsegments || []) walk(s, doc.id, "subsegment");
    return e;
  };
  const tops = docs.map((d) => walk(d, null, d.type === "subsegment" ? "subsegment" : "segment"));
  for (const e of all.values()) {
    if (e.parent === null && e.doc.parent_id && all.has(e.doc.parent_id)) e.parent = e.doc.parent_id;
  }
  const roots = [];
  for (const e of all.values()) {
    if (e.parent !== null && all.has(e.parent)) all.get(e.parent).children.push(e);
    else if (tops.includes(e)) roots.push(e);
  }
  const byStart = (a, b) => a.doc.start_time - b.doc.start_time;
  for (const e of all.values()) e.children.sort(byStart);
  roots.sort(byStart);
  return { roots, all };
}

function statusOf(doc) {
  if (doc.fault) return "fault";
  if (doc.throttle) return "throttle";
  if (doc.error) return "error";
  return "ok";
}

function details(doc) {
  const box = el("div", { class: "details" });
  const section = (title, value) => {
    if (value === undefined || value === null || (typeof value === "object" && !Object.keys(value).length)) return;
    box.append(el("h4", { text: title }), el("pre", { text: typeof value === "string" ? value : JSON.stringify(value, null, 2) }));
  };
  section("Id", `${doc.id}${doc.parent_id ? "  (parent " + doc.parent_id + ")" : ""}${doc.namespace ? "  namespace " + doc.namespace : ""}${doc.origin ? "  origin " + doc.origin : ""}`);
  section("Annotations", doc.annotations);
  section("Metadata", doc.metadata);
  section("HTTP", doc.http);
  section("AWS", doc.aws);
  section("SQL", doc.sql);
  if (doc.cause) {
    const c = doc.cause;
    const text = typeof c === "string" ? `exception ${c} (recorded elsewhere in the trace)` :
      (c.exceptions || []).map((x) => `${x.type || "Error"}: ${x.message || ""}${x.remote ? " (remote)" : ""}` +
        (x.stack || []).map((f) => `\n    at ${f.label || "?"} (${f.path || "?"}:${f.line ?? "?"})`).join("")).join("\n") || JSON.stringify(c, null, 2);
    section("Cause", text);
  }
  return box;
}

async function openTrace(id) {
  state.traceId = id;
  for (const tr of document.querySelectorAll("#traces tbody tr")) tr.classList.toggle("selected", tr.dataset.traceId === id);
  const { ok, body } = await api("/api/traces/" + encodeURIComponent(id));
  const section = $("trace-section");
  section.hidden = false;
  $("trace-id").textContent = id;
  const box = $("timeline");
  if (!ok || !body.Traces.length) {
    box.replaceChildren(el("p", { class: "empty", text: "This trace is no longer held (retention)." }));
    return;
  }
  const docs = body.Traces[0].Segments.map((s) => JSON.parse(s.Document));
  const { roots, all } = entities(docs);
  const starts = [...all.values()].map((e) => e.doc.start_time);
  const ends = [...all.values()].map((e) => e.doc.end_time || e.doc.start_time);
  const t0 = Math.min(...starts), t1 = Math.max(...ends);
  const span = Math.max(t1 - t0, 1e-6);
  const rows = [el("div", { class: "axis" }, el("span", { text: "Name" }),
    el("span", { class: "ticks" }, ...[0, 0.25, 0.5, 0.75, 1].map((f) => el("span", { text: ms(span * f) }))), el("span", { text: "Duration · status" }))];
  const visit = (e, depth) => {
    const d = e.doc;
    const end = d.end_time;
    const cls = ["bar", e.kind, statusOf(d) !== "ok" ? statusOf(d) : "", end ? "" : "pending"].join(" ");
    const left = ((d.start_time - t0) / span) * 100;
    const width = end ? Math.max(((end - d.start_time) / span) * 100, 0.3) : 100 - left;
    const http = d.http && d.http.response && d.http.response.status ? `${d.http.response.status} ` : "";
    const ann = Object.keys(d.annotations || {}).length ? " ✎" : "";
    const row = el("div", { class: "row", "data-entity": d.id, "data-name": d.name },
      el("div", { class: "label", style: `padding-left:${depth * 16}px`, title: d.name },
        el("span", { text: d.name }), el("span", { class: "kind", text: (e.kind === "segment" ? "segment" : d.namespace || "subsegment") + ann + (d.cause ? " ⚠" : "") })),
      el("div", { class: "track" }, el("div", { class: cls, style: `left:${left}%;width:${width}%`, title: `${d.name}: ${end ? ms(end - d.start_time) : "in progress"}` })),
      el("div", { class: "meta", text: `${end ? ms(end - d.start_time) : "in progress"} · ${http}${statusOf(d)}` }));
    const key = d.id;
    row.addEventListener("click", () => {
      if (state.open.has(key)) state.open.delete(key); else state.open.add(key);
      openTrace(id);
    });
    rows.push(row);
    if (state.open.has(key)) rows.push(details(d));
    for (const c of e.children) visit(c, depth + 1);
  };
  for (const r of roots) visit(r, 0);
  box.replaceChildren(...rows);
  box.dataset.entities = all.size;
}

// ---- wiring ----

function applyFilter(text) {
  $("filter").value = text;
  state.filter = text.trim();
  refreshTraces();
  refreshMap();
}

async function refresh() {
  try {
    await Promise.all([refreshStatus(), refreshMap(), refreshTraces()]);
    // Groups may be added through the API, and an open trace may still be growing.
    await refreshGroups();
    if (state.traceId && !$("trace-section").hidden) await openTrace(state.traceId);
  } catch (e) {
    $("status").textContent = "cannot reach the receiver: " + e.message;
  }
}

function schedule() {
  clearInterval(state.timer);
  if ($("auto").checked) state.timer = setInterval(refresh, REFRESH_MS);
}

$("filter-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  state.selected = null;
  applyFilter($("filter").value);
});
$("clear").addEventListener("click", () => { state.selected = null; applyFilter(""); });
$("group").addEventListener("change", () => {
  state.group = $("group").value;
  $("delete-group").disabled = !state.group;
  refresh();
});
$("save-group").addEventListener("click", async () => {
  const expr = $("filter").value.trim();
  if (!expr) { alert("Type a filter expression first."); return; }
  const name = prompt("Group name for " + expr);
  if (!name) return;
  const { ok, body } = await api("/api/groups", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ GroupName: name, FilterExpression: expr }) });
  if (!ok) { alert(body.message); return; }
  state.group = name;
  await refreshGroups();
  refresh();
});
$("delete-group").addEventListener("click", async () => {
  if (!state.group) return;
  await api("/api/groups/" + encodeURIComponent(state.group), { method: "DELETE" });
  state.group = "";
  await refreshGroups();
  refresh();
});
$("auto").addEventListener("change", schedule);
$("close-trace").addEventListener("click", () => { state.traceId = null; $("trace-section").hidden = true; });

refreshGroups().then(refresh);
schedule();
