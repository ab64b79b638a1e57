// The live page: the queries of the process (`/`), and one query with the charts of Spark UI's
// Structured Streaming tab (`/queries/{id}`). Everything comes from the JSON API, polled every
// second while the page is open; charts are inline SVG drawn here, nothing is loaded from
// elsewhere.
"use strict";

const REFRESH_MS = 1000;
const HISTORY = 100; // progress reports per query the handle keeps (Spark's default)
const app = document.getElementById("app");
const refreshState = document.getElementById("refresh-state");
let refreshes = 0;

// ---------------------------------------------------------------------------------------------
// Formatting

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  }[c]));
}

function fmtNumber(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  const abs = Math.abs(n);
  if (abs >= 1e9) return (n / 1e9).toFixed(digits) + " G";
  if (abs >= 1e6) return (n / 1e6).toFixed(digits) + " M";
  if (abs >= 1e4) return (n / 1e3).toFixed(digits) + " k";
  if (Number.isInteger(n)) return String(n);
  return String(parseFloat(n.toFixed(abs < 10 ? 2 : digits)));
}

function fmtBytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(n) : n.toFixed(1)) + " " + units[i];
}

function fmtDuration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return ms + " ms";
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${sec} s`;
  return (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + " s";
}

function fmtTime(iso) {
  if (!iso) return "–";
  return iso.replace("T", " ").replace("Z", "");
}

function clock(ms) {
  const d = new Date(ms);
  return d.toISOString().slice(11, 19);
}

// A figure: its text for people, its raw value for programs (`data-value`).
function figure(key, label, text, raw) {
  return `<div class="figure" data-figure="${esc(key)}" data-value="${esc(raw ?? "")}">` +
    `<dt>${esc(label)}</dt><dd>${esc(text)}</dd></div>`;
}

function statusBadge(status) {
  return `<span class="status status-${esc(status.toLowerCase())}">${esc(status)}</span>`;
}

function backlogText(b) {
  if (!b) return "–";
  if (b.total !== undefined) return `${b.done} / ${b.total} ${b.unit}`;
  return `${b.pending} ${b.unit} pending`;
}

// ---------------------------------------------------------------------------------------------
// Charts: inline SVG, one point (circle or bar) per batch

const W = 520, H = 210, PAD = { left: 56, right: 12, top: 12, bottom: 30 };
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

// The step between grid lines: 1, 2, 2.5 or 5 times a power of ten, about a quarter of the
// range; whole numbers only for counts.
function niceStep(range, integer) {
  if (!(range > 0)) return 1;
  const raw = range / 4, p = Math.pow(10, Math.floor(Math.log10(raw)));
  let step = 10 * p;
  for (const m of [1, 2, 2.5, 5]) if (raw <= m * p * (1 + 1e-9)) { step = m * p; break; }
  return integer ? Math.max(1, Math.ceil(step)) : step;
}

// `series`: [{name, values: [y or null per batch]}]; `batches`: the progress reports.
function chart(key, title, batches, series, opts = {}) {
  const n = batches.length;
  const fmt = opts.format || ((v) => fmtNumber(v));
  const stacked = !!opts.stacked, bars = stacked || !!opts.bars;
  const present = series.map((s) => s.values.filter((v) => v !== null && v !== undefined));
  const points = stacked
    ? batches.filter((_, i) => series.some((s) => s.values[i] !== null && s.values[i] !== undefined)).length
    : Math.max(0, ...present.map((p) => p.length));
  const legend = series.length > 1
    ? `<span class="legend">${series.map((s, i) =>
      `<span><i style="background:${COLORS[i % COLORS.length]}"></i>${esc(s.name)}</span>`).join("")}</span>`
    : "";
  const head = `<figure class="chart" data-chart="${esc(key)}" data-points="${points}">` +
    `<figcaption><span class="title">${esc(title)}</span>${legend}</figcaption>`;
  if (points === 0) {
    return head + `<div class="empty">${esc(opts.empty || "no batches yet")}</div></figure>`;
  }
  let max;
  if (stacked) {
    max = Math.max(...batches.map((_, i) => series.reduce((a, s) => a + (s.values[i] || 0), 0)));
  } else {
    max = Math.max(...present.flat());
  }
  const low = Math.min(0, ...present.flat());
  const step = niceStep(Math.max(max, 0) - low, !!opts.integer);
  const ymin = Math.floor(low / step) * step;
  max = Math.max(step, Math.ceil(Math.max(max, 0) / step) * step);
  const innerW = W - PAD.left - PAD.right, innerH = H - PAD.top - PAD.bottom;
  const inset = 12; // keeps the first and last bars off the axes
  const x = (i) => PAD.left + inset + (n === 1 ? innerW / 2 - inset : (i * (innerW - 2 * inset)) / (n - 1));
  const y = (v) => PAD.top + innerH - ((v - ymin) / (max - ymin || 1)) * innerH;
  let svg = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`;
  const lines = Math.round((max - ymin) / step);
  for (let t = 0; t <= lines; t++) {
    const v = ymin + step * t, yy = y(v);
    svg += `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${yy}" y2="${yy}"/>` +
      `<text class="axis" x="${PAD.left - 6}" y="${yy + 4}" text-anchor="end">${esc(fmt(v))}</text>`;
  }
  const time = (i) => Date.parse(batches[i].timestamp);
  svg += `<text class="axis" x="${PAD.left}" y="${H - 8}" text-anchor="start">${esc(clock(time(0)))} · #${batches[0].batchId}</text>`;
  if (n > 1) {
    svg += `<text class="axis" x="${W - PAD.right}" y="${H - 8}" text-anchor="end">#${batches[n - 1].batchId} · ${esc(clock(time(n - 1)))}</text>`;
  }
  const barW = Math.max(2, Math.min(18, (innerW / Math.max(n, 1)) * 0.7));
  if (bars) {
    for (let i = 0; i < n; i++) {
      let base = 0;
      series.forEach((s, k) => {
        const v = s.values[i];
        if (v === null || v === undefined) return;
        const y0 = y(stacked ? base : 0), y1 = y(stacked ? base + v : v);
        const tip = `batch ${batches[i].batchId}${series.length > 1 ? " · " + s.name : ""}: ${fmt(v)}`;
        svg += `<rect class="pt" data-series="${esc(s.name)}" data-batch="${batches[i].batchId}" data-value="${v}" x="${x(i) - barW / 2}" y="${Math.min(y0, y1)}" ` +
          `width="${barW}" height="${Math.max(Math.abs(y0 - y1), v > 0 ? 1 : 0)}" fill="${COLORS[k % COLORS.length]}">` +
          `<title>${esc(tip)}</title></rect>`;
        if (stacked) base += v;
      });
    }
  } else {
    series.forEach((s, k) => {
      const color = COLORS[k % COLORS.length];
      const pts = [];
      s.values.forEach((v, i) => { if (v !== null && v !== undefined) pts.push([x(i), y(v), v, i]); });
      if (pts.length > 1) {
        svg += `<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${pts.map((p) => p[0] + "," + p[1]).join(" ")}"/>`;
      }
      for (const [cx, cy, v, i] of pts) {
        svg += `<circle class="pt" data-series="${esc(s.name)}" data-batch="${batches[i].batchId}" data-value="${v}" cx="${cx}" cy="${cy}" r="2.6" fill="${color}">` +
          `<title>${esc(`batch ${batches[i].batchId}${series.length > 1 ? " · " + s.name : ""}: ${fmt(v)}`)}</title></circle>`;
      }
    });
  }
  return head + svg + "</svg></figure>";
}

function stateSum(p, field) {
  if (!p.stateOperators || p.stateOperators.length === 0) return null;
  return p.stateOperators.reduce((a, s) => a + s[field], 0);
}

function charts(batches) {
  const col = (f) => batches.map(f);
  const phases = ["latestOffset", "getBatch", "addBatch", "walCommit", "commitOffsets"];
  const watermarkGap = (p) => {
    // As Spark UI: batches whose watermark is still at the epoch (no event time yet) are not drawn.
    const w = p.eventTime && p.eventTime.watermark ? Date.parse(p.eventTime.watermark) : 0;
    return w > 0 ? (Date.parse(p.timestamp) - w) / 1000 : null;
  };
  const backlog = (p) => {
    const b = p.sources && p.sources[0] && p.sources[0].backlog;
    return b ? b.pending : null;
  };
  const backlogUnit = batches.map((p) => p.sources && p.sources[0] && p.sources[0].backlog)
    .filter(Boolean).map((b) => b.unit)[0] || "";
  const stateful = batches.some((p) => p.stateOperators && p.stateOperators.length > 0);
  const noState = { empty: "stateless query: no state" };
  return [
    chart("input-rate", "Input rate vs process rate (rows/s)", batches, [
      { name: "input", values: col((p) => p.inputRowsPerSecond) },
      { name: "process", values: col((p) => p.processedRowsPerSecond) },
    ]),
    chart("input-rows", "Input rows", batches, [{ name: "rows", values: col((p) => p.numInputRows) }],
      { bars: true, integer: true }),
    chart("batch-duration", "Batch duration", batches,
      [{ name: "duration", values: col((p) => p.batchDuration) }], { integer: true, format: fmtDuration }),
    chart("operation-duration", "Operation duration (ms)", batches,
      phases.map((ph) => ({ name: ph, values: col((p) => p.durationMs[ph] ?? 0) })), { stacked: true, integer: true }),
    chart("watermark-gap", "Global watermark gap (s)", batches,
      [{ name: "gap", values: col(watermarkGap) }], { empty: "no watermark" }),
    chart("state-rows", "State rows", batches, [
      { name: "total", values: col((p) => stateSum(p, "numRowsTotal")) },
      { name: "updated", values: col((p) => stateSum(p, "numRowsUpdated")) },
      { name: "removed", values: col((p) => stateSum(p, "numRowsRemoved")) },
    ], Object.assign({ integer: true }, stateful ? {} : noState)),
    chart("state-memory", "State memory", batches,
      [{ name: "memory", values: col((p) => stateSum(p, "memoryUsedBytes")) }],
      Object.assign({ integer: true, format: fmtBytes }, stateful ? {} : noState)),
    chart("dropped-rows", "Rows dropped by the watermark", batches,
      [{ name: "dropped", values: col((p) => stateful ? stateSum(p, "numRowsDroppedByWatermark") : null) }],
      Object.assign({ bars: true, integer: true }, stateful ? {} : noState)),
    chart("malformed-rows", "Malformed rows", batches,
      [{ name: "malformed", values: col((p) => (p.sources || []).reduce((a, s) => a + (s.numMalformedRows || 0), 0)) }],
      { bars: true, integer: true }),
    chart("backlog", `Backlog${backlogUnit ? " (" + backlogUnit + ")" : ""}`, batches,
      [{ name: "pending", values: col(backlog) }], { integer: true, empty: "the source does not report a backlog" }),
  ].join("");
}

// ---------------------------------------------------------------------------------------------
// Views

// Draws a view as named parts, replacing only the parts whose markup changed since the last
// refresh, so a part being read (a scrolled plan, selected text) is left alone until it changes.
let layout = null;
function render(view, parts) {
  if (!layout || layout.view !== view) {
    app.innerHTML = parts.map(([name]) => `<div data-part="${name}"></div>`).join("");
    layout = { view, html: {} };
  }
  for (const [name, html] of parts) {
    if (layout.html[name] !== html) {
      app.querySelector(`[data-part="${name}"]`).innerHTML = html;
      layout.html[name] = html;
    }
  }
}

async function getJson(url) {
  const response = await fetch(url, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `${url}: HTTP ${response.status}`);
  return body;
}

function queryLink(q) {
  return `<a href="/queries/${esc(q.runId)}">${esc(q.name || q.pipeline)}</a>`;
}

function listRow(q) {
  const cell = (field, text, raw) =>
    `<td data-field="${field}" data-value="${esc(raw ?? "")}">${text}</td>`;
  return `<tr data-query-id="${esc(q.id)}" data-run-id="${esc(q.runId)}">` +
    cell("name", queryLink(q), q.name || "") +
    cell("status", statusBadge(q.status), q.status) +
    cell("id", `<code>${esc(q.id)}</code>`, q.id) +
    cell("started", esc(fmtTime(q.startTimestamp)), q.startTimestamp) +
    cell("uptime", esc(fmtDuration(q.uptimeMs)), q.uptimeMs) +
    cell("batches", esc(q.batches), q.batches) +
    cell("inputRate", esc(fmtNumber(q.inputRowsPerSecond)), q.inputRowsPerSecond) +
    cell("processRate", esc(fmtNumber(q.processedRowsPerSecond)), q.processedRowsPerSecond) +
    cell("latestBatchDuration", esc(fmtDuration(q.latestBatchDurationMs)), q.latestBatchDurationMs) +
    cell("watermark", esc(fmtTime(q.watermark)), q.watermark) +
    cell("stateRows", esc(q.stateRows ?? "–"), q.stateRows) +
    cell("backlog", esc(backlogText(q.backlog)), q.backlog ? q.backlog.pending : "") +
    "</tr>";
}

function table(title, key, queries) {
  const head = ["Name", "Status", "ID", "Started", "Uptime", "Batches", "Input rows/s", "Process rows/s",
    "Latest batch", "Watermark", "State rows", "Backlog"].map((h) => `<th>${h}</th>`).join("");
  const body = queries.length
    ? queries.map(listRow).join("")
    : `<tr><td colspan="12" class="muted">none</td></tr>`;
  return `<section><h2>${esc(title)} (${queries.length})</h2>` +
    `<table class="queries" id="${key}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></section>`;
}

async function renderList() {
  const queries = await getJson("/api/queries");
  const active = queries.filter((q) => q.status === "RUNNING");
  const done = queries.filter((q) => q.status !== "RUNNING").reverse();
  document.title = `Sluice · ${active.length} active queries`;
  render("list", [
    ["title", `<h1>Streaming queries</h1>`],
    ["active", table("Active queries", "active-queries", active)],
    ["completed", table("Completed queries", "completed-queries", done)],
  ]);
}

function backlogSection(b) {
  if (!b) return "";
  const parts = b.partitions
    ? `<ul class="partitions">${Object.entries(b.partitions).map(([p, n]) =>
      `<li><code>${esc(p)}</code> ${esc(n)}</li>`).join("")}</ul>`
    : "";
  if (b.total !== undefined) {
    const pct = b.total === 0 ? 100 : (100 * b.done) / b.total;
    return `<section id="backlog" data-done="${b.done}" data-total="${b.total}" data-unit="${esc(b.unit)}">` +
      `<h2>Backlog (available now)</h2><progress max="${b.total}" value="${b.done}"></progress>` +
      `<span class="backlog-text">${esc(backlogText(b))} · ${pct.toFixed(0)} %</span>${parts}</section>`;
  }
  return `<section id="backlog" data-pending="${b.pending}" data-unit="${esc(b.unit)}">` +
    `<h2>Backlog</h2><span class="backlog-text">${esc(backlogText(b))}</span>${parts}</section>`;
}

async function renderQuery(id) {
  const [q, batches] = await Promise.all([
    getJson(`/api/queries/${encodeURIComponent(id)}`),
    getJson(`/api/queries/${encodeURIComponent(id)}/progress?last=${HISTORY}`),
  ]);
  const last = batches.length ? batches[batches.length - 1] : null;
  const t = q.totals;
  document.title = `Sluice · ${q.name || q.pipeline}`;
  render("query:" + q.runId, [
    ["head",
      `<p class="crumbs"><a href="/">Streaming queries</a> ›</p>` +
      `<h1>${esc(q.name || q.pipeline)} ${statusBadge(q.status)}</h1>` +
      `<p class="ids">id <code id="query-id">${esc(q.id)}</code> · run <code id="run-id">${esc(q.runId)}</code>` +
      ` · ${esc(q.pipeline)} · <span id="status-message">${esc(q.statusMessage)}</span></p>` +
      (q.exception ? `<pre class="exception" id="exception">${esc(q.exception)}</pre>` : "")],
    ["figures",
      `<dl class="figures" id="figures">` +
      figure("started", "Started", fmtTime(q.startTimestamp), q.startTimestamp) +
      figure("uptime", "Uptime", fmtDuration(q.uptimeMs), q.uptimeMs) +
      figure("batches", "Batches", q.batches, q.batches) +
      figure("latestBatchId", "Latest batch", q.latestBatchId ?? "–", q.latestBatchId) +
      figure("inputRowsPerSecond", "Input rows/s", fmtNumber(q.inputRowsPerSecond), q.inputRowsPerSecond) +
      figure("processedRowsPerSecond", "Process rows/s", fmtNumber(q.processedRowsPerSecond), q.processedRowsPerSecond) +
      figure("latestBatchDurationMs", "Latest batch duration", fmtDuration(q.latestBatchDurationMs), q.latestBatchDurationMs) +
      figure("watermark", "Watermark", fmtTime(q.watermark), q.watermark) +
      figure("stateRows", "State rows", q.stateRows ?? "–", q.stateRows) +
      figure("inputRows", "Input rows (total)", fmtNumber(t.inputRows), t.inputRows) +
      figure("outputRows", "Output rows (total)", fmtNumber(t.outputRows), t.outputRows) +
      figure("rowsDroppedByWatermark", "Dropped by watermark (total)", fmtNumber(t.rowsDroppedByWatermark), t.rowsDroppedByWatermark) +
      figure("malformedRows", "Malformed rows (total)", fmtNumber(t.malformedRows), t.malformedRows) +
      `</dl>`],
    ["backlog", backlogSection(q.backlog)],
    ["charts",
      `<section><h2>Recent batches (${batches.length} of the last ${HISTORY})</h2>` +
      `<div class="charts" id="charts">${charts(batches)}</div></section>`],
    ["details",
      `<section class="two"><div><h2>Latest progress</h2>` +
      `<pre id="latest-progress">${esc(last ? JSON.stringify(last, null, 2) : "no batch yet")}</pre></div>` +
      `<div><h2>Plan</h2><pre id="plan">${esc(q.plan)}</pre></div></section>`],
  ]);
}

// ---------------------------------------------------------------------------------------------
// Refresh loop

function route() {
  const m = location.pathname.match(/^\/queries\/([^/]+)\/?$/);
  return m ? decodeURIComponent(m[1]) : null;
}

async function refresh() {
  const id = route();
  try {
    if (id) await renderQuery(id);
    else await renderList();
    refreshes += 1;
    document.body.dataset.refreshes = String(refreshes);
    refreshState.textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC · every ${REFRESH_MS / 1000} s`;
    refreshState.classList.remove("failed");
  } catch (e) {
    refreshState.textContent = `cannot refresh: ${e.message}`;
    refreshState.classList.add("failed");
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

refresh();
