// The llmagentos dashboard: polls /api/dashboard, follows /api/events, draws with SVG.
// Every value from the server is inserted as text (never as HTML): names, logs and
// errors come from agent programs.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const TERMINAL = new Set(["done", "failed", "killed"]);
const KIND_COLORS = {
  llm: "#4fb3ff", tool: "#e6c35c", ipc: "#c678dd", storage: "#52c17a", memory: "#56b6c2",
  process: "#e5625c", clock: "#7d8794",
};
const state = {
  key: null, selected: null, last: null, timer: null, events: [], stream: null, eventsTimer: null,
};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

function fmt(n, digits = 0) {
  if (n === null || n === undefined) return "–";
  return Number(n).toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${state.key}` }, options.headers || {});
  const resp = await fetch(path, Object.assign({}, options, { headers }));
  if (!resp.ok) {
    let message = `${resp.status}`;
    try { message = (await resp.json()).error.message; } catch (_) { /* not JSON */ }
    const err = new Error(message);
    err.status = resp.status;
    throw err;
  }
  return resp.status === 204 ? null : resp.json();
}

function setStatus(text, ok) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = "status " + (ok ? "ok" : "bad");
}

// -- rendering ------------------------------------------------------------------------

function renderCards(d) {
  const live = d.processes.filter((p) => !TERMINAL.has(p.state)).length;
  const last = d.tokens[d.tokens.length - 1];
  const prev = d.tokens[d.tokens.length - 2];
  let rate = 0;
  if (last && prev && last.ts > prev.ts) {
    rate = (last.tokens_in + last.tokens_out - prev.tokens_in - prev.tokens_out) / (last.ts - prev.ts);
  }
  document.getElementById("c-live").textContent = fmt(live);
  document.getElementById("c-all").textContent = fmt(d.processes.length);
  document.getElementById("c-tokens").textContent = last ? fmt(last.tokens_in + last.tokens_out) : "0";
  document.getElementById("c-rate").textContent = fmt(rate, 1);
  document.getElementById("c-queued").textContent = fmt(d.scheduler.queued);
  document.getElementById("c-flight").textContent = fmt(d.scheduler.in_flight);
  document.getElementById("c-approvals").textContent = fmt(d.approvals.length);
}

function control(pid, action) {
  return async (ev) => {
    ev.stopPropagation();
    try { await api(`/api/processes/${pid}/${action}`, { method: "POST" }); refresh(); }
    catch (e) { alert(`${action} ${pid}: ${e.message}`); }
  };
}

function renderProcesses(d) {
  const body = document.querySelector("#procs tbody");
  const rows = d.processes.slice().reverse().map((p) => {
    const u = p.usage;
    const wall = p.started_at ? ((p.ended_at || d.now) - p.started_at) : 0;
    const actions = el("td");
    if (!TERMINAL.has(p.state)) {
      if (p.state === "suspended") actions.append(el("button", { onclick: control(p.pid, "resume") }, "resume"));
      else actions.append(el("button", { onclick: control(p.pid, "suspend") }, "suspend"));
      actions.append(" ", el("button", { class: "kill", onclick: control(p.pid, "kill") }, "kill"));
    }
    const tr = el("tr", { "data-pid": p.pid, onclick: () => select(p.pid) },
      el("td", { class: "num" }, p.pid), el("td", {}, p.name), el("td", { class: "muted" }, p.program),
      el("td", {}, el("span", { class: `state ${p.state}`, title: p.error || "" }, p.state)),
      el("td", { class: "num" }, p.priority), el("td", { class: "num" }, fmt(u.tokens_in + u.tokens_out)),
      el("td", { class: "num" }, u.llm_calls), el("td", { class: "num" }, u.tool_calls),
      el("td", { class: "num" }, u.syscalls), el("td", { class: "num" }, fmt(u.queue_time_s, 2)),
      el("td", { class: "num" }, fmt(wall, 1)), actions);
    if (p.pid === state.selected) tr.classList.add("selected");
    return tr;
  });
  body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 12, class: "empty" }, "no processes yet"))]));
  document.getElementById("proc-note").textContent = `(${d.processes.length} shown, newest first)`;
}

function renderTokens(d) {
  const svg = document.getElementById("tokens-plot");
  const W = 600, H = 180, pad = 24;
  const pts = d.tokens;
  const rates = [];
  for (let i = 1; i < pts.length; i++) {
    const dt = Math.max(1e-6, pts[i].ts - pts[i - 1].ts);
    rates.push({ ts: pts[i].ts, tin: (pts[i].tokens_in - pts[i - 1].tokens_in) / dt, tout: (pts[i].tokens_out - pts[i - 1].tokens_out) / dt });
  }
  const nodes = [];
  const max = Math.max(1, ...rates.map((r) => r.tin + r.tout));
  nodes.push(svgEl("line", { x1: pad, y1: H - pad, x2: W, y2: H - pad, stroke: "#2a323c" }));
  const label = svgEl("text", { x: 4, y: 14, fill: "#7d8794", "font-size": 11 });
  label.textContent = `${fmt(max, 1)} tok/s`;
  nodes.push(label);
  if (rates.length >= 1) {
    const t0 = rates[0].ts, t1 = Math.max(rates[rates.length - 1].ts, t0 + 1);
    const x = (t) => pad + ((t - t0) / (t1 - t0)) * (W - pad - 4);
    const y = (v) => H - pad - (v / max) * (H - 2 * pad);
    const area = (f, color) => {
      let path = `M ${x(rates[0].ts)} ${y(0)}`;
      for (const r of rates) path += ` L ${x(r.ts)} ${y(f(r))}`;
      path += ` L ${x(rates[rates.length - 1].ts)} ${y(0)} Z`;
      nodes.push(svgEl("path", { d: path, fill: color, "fill-opacity": 0.35, stroke: color }));
    };
    area((r) => r.tin + r.tout, "#4fb3ff");
    area((r) => r.tin, "#56b6c2");
    const span = svgEl("text", { x: W - 4, y: H - 6, fill: "#7d8794", "font-size": 11, "text-anchor": "end" });
    span.textContent = `last ${fmt(t1 - t0)} s`;
    nodes.push(span);
  } else {
    const wait = svgEl("text", { x: W / 2, y: H / 2, fill: "#7d8794", "text-anchor": "middle" });
    wait.textContent = "collecting samples…";
    nodes.push(wait);
  }
  svg.replaceChildren(...nodes);
}

function renderScheduler(d) {
  const res = d.scheduler.resources.map((r) => el("tr", {},
    el("td", {}, r.resource), el("td", { class: "num" }, r.limit ?? "∞"), el("td", { class: "num" }, r.queued),
    el("td", { class: "num" }, r.in_flight), el("td", { class: "num" }, d.peak_batch[r.resource] ?? "–"),
    el("td", { class: "num" }, fmt(r.completed)), el("td", { class: "num" }, fmt(r.oldest_wait_s, 2))));
  document.querySelector("#resources tbody").replaceChildren(...(res.length ? res : [el("tr", {}, el("td", { colspan: 7, class: "empty" }, "no resources used yet"))]));
  const progs = d.scheduler.programs.map((p) => el("tr", {},
    el("td", {}, p.program), el("td", { class: "num" }, fmt(p.tokens)), el("td", { class: "num" }, fmt(p.calls)),
    el("td", { class: "num" }, p.queued), el("td", { class: "num" }, p.in_flight)));
  document.querySelector("#programs tbody").replaceChildren(...progs);
}

function renderTimeline(traces, now) {
  const svg = document.getElementById("timeline");
  const W = 1000, H = 220, left = 110;
  const nodes = [];
  if (!traces.length) {
    const t = svgEl("text", { x: W / 2, y: H / 2, fill: "#7d8794", "text-anchor": "middle" });
    t.textContent = "no system calls yet";
    svg.replaceChildren(t);
    return;
  }
  const pids = [...new Set(traces.map((t) => t.pid))].slice(-10);
  const shown = traces.filter((t) => pids.includes(t.pid));
  const t0 = Math.min(...shown.map((t) => t.started_at));
  const t1 = Math.max(now, ...shown.map((t) => t.started_at + t.duration_s), t0 + 0.001);
  const lane = (H - 20) / pids.length;
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (W - left - 6);
  pids.forEach((pid, i) => {
    const label = svgEl("text", { x: 4, y: 14 + i * lane + lane / 2, fill: "#d8dee6", "font-size": 11 });
    const name = (state.last && state.last.processes.find((p) => p.pid === pid)) || null;
    label.textContent = `${pid} ${name ? name.name : ""}`.slice(0, 16);
    nodes.push(label);
    nodes.push(svgEl("line", { x1: left, x2: W, y1: 4 + (i + 1) * lane, y2: 4 + (i + 1) * lane, stroke: "#1d2530" }));
  });
  for (const t of shown) {
    const i = pids.indexOf(t.pid);
    const w = Math.max(2, x(t.started_at + t.duration_s) - x(t.started_at));
    const rect = svgEl("rect", {
      x: x(t.started_at), y: 6 + i * lane, width: w, height: Math.max(4, lane - 6),
      fill: KIND_COLORS[t.kind] || "#888", "fill-opacity": t.ok ? 0.85 : 0.35,
      stroke: t.ok ? "none" : "#e5625c",
    });
    const tip = svgEl("title", {});
    tip.textContent = `pid ${t.pid} #${t.seq} ${t.name} ${(t.duration_s * 1000).toFixed(1)} ms${t.ok ? "" : " " + (t.error_type || "error")}`;
    rect.append(tip);
    nodes.push(rect);
  }
  const span = svgEl("text", { x: W - 4, y: H - 4, fill: "#7d8794", "font-size": 11, "text-anchor": "end" });
  span.textContent = `${fmt(t1 - t0, 2)} s`;
  nodes.push(span);
  svg.replaceChildren(...nodes);
  const legend = Object.entries(KIND_COLORS).map(([k, c]) => el("span", {}, el("span", { class: "sw", style: `background:${c}` }), k));
  document.getElementById("timeline-legend").replaceChildren(...legend);
}

function renderApprovals(d) {
  const items = d.approvals.map((a) => el("li", {},
    el("strong", {}, `#${a.id}`), `pid ${a.pid} (${a.program}) ${a.kind} `, el("code", {}, a.target),
    el("span", { class: "muted" }, ` — ${a.reason}`),
    el("button", { class: "approve", onclick: () => decide(a.id, "approve") }, "approve"),
    el("button", { class: "reject", onclick: () => decide(a.id, "reject") }, "reject")));
  document.getElementById("approvals").replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, "nothing waiting for a decision")]));
}

function renderLogs(lines, note) {
  const box = document.getElementById("logs");
  const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
  const out = lines.map((l) => el("div", { class: `lvl-${l.level}` },
    `${new Date(l.ts * 1000).toLocaleTimeString()} [${l.pid}] ${l.level}: ${l.message}`));
  box.replaceChildren(...(out.length ? out : [el("div", { class: "empty" }, "no log lines yet")]));
  if (atEnd) box.scrollTop = box.scrollHeight;
  document.getElementById("log-note").textContent = note;
}

// -- actions and refresh --------------------------------------------------------------

async function decide(id, action) {
  try { await api(`/api/approvals/${id}/${action}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ note: "from the dashboard" }) }); refresh(); }
  catch (e) { alert(`${action} #${id}: ${e.message}`); }
}

function select(pid) {
  state.selected = state.selected === pid ? null : pid;
  document.getElementById("timeline-note").textContent = state.selected === null
    ? "(recent, all processes — click a process to focus)" : `(process ${state.selected}; click it again for all)`;
  refresh();
}

async function refresh() {
  try {
    const d = await api("/api/dashboard");
    state.last = d;
    setStatus("connected", true);
    renderCards(d);
    renderProcesses(d);
    renderTokens(d);
    renderScheduler(d);
    renderApprovals(d);
    if (state.selected === null) {
      renderTimeline(d.recent_syscalls, d.now);
      renderLogs(d.logs, "(all processes)");
    } else {
      const pid = state.selected;
      const [rows, logs] = await Promise.all([api(`/api/processes/${pid}/syscalls?limit=200`), api(`/api/processes/${pid}/logs?limit=200`)]);
      const traces = rows.map((r) => ({ pid, seq: r.seq, name: r.name, kind: r.kind, started_at: r.started_at,
        duration_s: r.duration_s ?? Math.max(0, d.now - r.started_at), ok: r.status !== "error", error_type: null }));
      renderTimeline(traces, d.now);
      renderLogs(logs, `(process ${pid})`);
    }
  } catch (e) {
    setStatus(`error: ${e.message}`, false);
    if (e.status === 401) { stop(); state.key = null; showLogin(); }
  }
}

function scheduleEvents(box) {
  // A busy kernel emits hundreds of events a second: draw at most four times a second.
  if (state.eventsTimer) return;
  state.eventsTimer = setTimeout(() => {
    state.eventsTimer = null;
    box.replaceChildren(...state.events.map((e) => el("div", {},
      `${new Date(e.ts * 1000).toLocaleTimeString()} ${e.type} pid ${e.pid} ${JSON.stringify(e.data)}`)));
    box.scrollTop = box.scrollHeight;
  }, 250);
}

async function followEvents() {
  // EventSource cannot send an Authorization header, so the stream is read with fetch.
  const box = document.getElementById("events");
  while (state.key) {
    try {
      const ctrl = new AbortController();
      state.stream = ctrl;
      const resp = await fetch("/api/events", { headers: { Authorization: `Bearer ${state.key}` }, signal: ctrl.signal });
      if (!resp.ok) throw new Error(String(resp.status));
      const reader = resp.body.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const frame = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const data = frame.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
          if (!data) continue;
          state.events.push(JSON.parse(data));
          if (state.events.length > 60) state.events.shift();
          scheduleEvents(box);
        }
      }
    } catch (e) {
      if (!state.key) return;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function stop() {
  if (state.timer) clearTimeout(state.timer);
  state.timer = null;
  if (state.stream) state.stream.abort();
}

function showLogin() {
  document.getElementById("login").hidden = false;
}

async function connect(key) {
  state.key = key;
  try {
    const me = await api("/api/whoami");
    sessionStorage.setItem("llmagentos-key", key);
    document.getElementById("login").hidden = true;
    document.getElementById("whoami").textContent = `key ${me.name} (${me.scopes.join(", ")})`;
  } catch (e) {
    setStatus(`error: ${e.message}`, false);
    state.key = null;
    showLogin();
    return;
  }
  // Each refresh is scheduled when the previous one is done, so a slow server is never
  // asked for a second snapshot while it is still building the first.
  const loop = async () => {
    await refresh();
    if (state.key) state.timer = setTimeout(loop, 1000);
  };
  await loop();
  followEvents();
}

document.getElementById("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  connect(document.getElementById("key").value.trim());
});

(function start() {
  // A key may come in the URL fragment (never sent to the server): take it, then drop it.
  const match = location.hash.match(/key=([^&]+)/);
  if (match) {
    sessionStorage.setItem("llmagentos-key", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname);
  }
  const key = sessionStorage.getItem("llmagentos-key");
  if (key) connect(key); else showLogin();
})();
