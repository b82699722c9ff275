// Switchboard console: plain JS, no build step, no CDN. Every call goes to /admin/api with
// the operator's token in a header (kept in this tab's sessionStorage, never a cookie);
// state-changing calls also send X-Switchboard-Console: 1 (see bot/web/admin_api.py).
"use strict";

const API = "/admin/api";
const $ = (id) => document.getElementById(id);
let stream = null; // the AbortController of the open change stream
let renderId = 0;

function h(tag, attrs, ...children) {
  const el = tag === "svg" || attrs?.svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "svg" || v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}
const s = (tag, attrs, ...children) => h(tag, { ...attrs, svg: true }, ...children);

function headers(extra) {
  const token = sessionStorage.getItem("switchboard-token");
  return { ...(token ? { Authorization: "Bearer " + token } : {}), ...(extra || {}) };
}

async function api(path, body) {
  const init = body === undefined ? { headers: headers() } : {
    method: "POST", body: JSON.stringify(body),
    headers: headers({ "Content-Type": "application/json", "X-Switchboard-Console": "1" }),
  };
  const response = await fetch(API + path, init);
  if (response.status === 401) { showLogin("That token was not accepted."); throw new Error("unauthorized"); }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

function toast(message, bad) {
  const el = $("toast");
  el.textContent = message;
  el.className = bad ? "toast bad" : "toast";
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 4000);
}

async function act(path, body, done) {
  try {
    await api(path, body || {});
    toast(done);
    await route();
  } catch (err) { toast(err.message, true); }
}

// -- the change stream: server-sent events read with fetch (EventSource cannot send headers)
// The stream's first mark is the baseline: route() opens the stream and waits for it before it
// reads the page, so a change made while the page loads arrives as a later mark and re-renders
// (opened after the page, that change was in the baseline and was lost). After a reconnect the
// first mark counts as a change: something may have happened in the gap.
function watch(query, onChange) {
  if (stream) stream.abort();
  const controller = new AbortController();
  stream = controller;
  let baseline;
  const ready = new Promise((resolve) => { baseline = resolve; });
  (async () => {
    let reconnected = false;
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(API + "/stream" + query, { headers: headers(), signal: controller.signal });
        if (!response.ok) throw new Error(String(response.status));
        $("live").classList.add("on");
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "", first = true;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            if (block.includes("event: change")) {
              if (first && !reconnected) baseline(); else onChange();
              first = false;
            }
          }
        }
      } catch (err) {
        if (controller.signal.aborted) { baseline(); return; }
      }
      baseline(); // a stream that fails never holds the page up
      reconnected = true;
      $("live").classList.remove("on");
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();
  return ready;
}

// -- pages -------------------------------------------------------------------------------
// the list of conversations (#/) is in list.js

function when(iso) { return iso ? iso.replace("T", " ").slice(0, 19) : ""; }

function bubble(item) {
  if (item.type === "operator") {
    const after = item.after.state ? `${item.before.state} → ${item.after.state}` : JSON.stringify(item.after);
    return h("li", { class: "note operator" }, `${when(item.at)} · ${item.operator} ${item.action.replace("_", " ")} ${item.target || ""} (${after})`);
  }
  if (item.type === "consent") return h("li", { class: "note" }, `${when(item.at)} · consent ${item.status} (${item.source}${item.detail ? ": " + item.detail : ""})`);
  if (item.type === "outbox") {
    const status = item.delivery || item.status;
    return h("li", { class: "out outbox" }, h("p", {}, item.body),
      h("small", { class: "status " + status }, `${when(item.at)} · ${item.purpose} · ${status}${item.error ? " · " + item.error : ""}${item.error_code ? " (" + item.error_code + ")" : ""}`));
  }
  if (item.type === "timer") {
    const detail = item.event === "set" ? `due ${when(item.due_at)}` : item.reason || "";
    return h("li", { class: "note timer", "data-testid": "timer-event" }, `${when(item.at)} · timer ${item.name} ${item.event}${detail ? " (" + detail + ")" : ""}`);
  }
  if (item.type === "event") {
    return h("li", { class: "note" }, `${when(item.at)} · ${item.kind}${item.body ? ": " + item.body : ""} (${item.state_before || "·"} → ${item.state_after || "·"})`);
  }
  const media = item.media.map((url) => h("a", { href: url, rel: "noreferrer", target: "_blank" }, "media"));
  return h("li", { class: item.direction === "in" ? "in" : "out", "data-testid": "message" },
    h("p", {}, item.body || "(" + item.kind + ")", media),
    h("small", {}, `${when(item.at)}${item.state_after ? " · " + (item.state_before || "") + " → " + item.state_after : ""}`));
}

const ui = {};

async function conversationPage(key) {
  const d = await api("/conversations/" + encodeURIComponent(key));
  const c = d.conversation;
  const base = "/conversations/" + encodeURIComponent(key);
  const version = { version: c.version };
  const flows = (await api("/flows")).flows;
  const flow = flows.find((f) => f.name === c.flow);
  // What the operator is choosing or typing survives the live re-renders of this page.
  if (ui.key !== key) Object.assign(ui, { key, move: null, run: false, data: null });
  const stateSelect = h("select", { "data-testid": "move-state", onchange: () => { ui.move = stateSelect.value; } },
    d.states.map((st) => h("option", { value: st, selected: st === (ui.move || c.state) }, st)));
  const runBox = h("input", { type: "checkbox", id: "run-callbacks", checked: ui.run, onchange: () => { ui.run = runBox.checked; } });
  const dataBox = h("textarea", { rows: 6, "data-testid": "data", oninput: () => { ui.data = dataBox.value; } },
    ui.data ?? JSON.stringify(c.data, null, 2));
  const thread = h("ol", { class: "thread", "data-testid": "thread" }, d.timeline.map(bubble));
  const handoff = await handoffCard(d, ui.me);
  setTimeout(() => { thread.scrollTop = thread.scrollHeight; }, 0);
  return [
    h("h1", {}, c.theirs, " ", h("small", {}, `${c.channel} · ${c.ours}`)),
    h("div", { class: "split" },
      h("section", { class: "phone-frame" }, thread),
      h("section", { class: "side" }, handoff,
        h("div", { class: "card" },
          h("p", {}, "Flow ", h("b", {}, c.flow), " · state ", h("span", { class: "state", "data-testid": "state" }, c.state),
            " · v", h("span", { "data-testid": "version" }, c.version), " · ",
            h("span", { "data-testid": "closed" }, c.closed ? "ended" : "open")),
          h("div", { class: "row" }, stateSelect, h("label", {}, runBox, " run on_enter"),
            h("button", { "data-testid": "move", onclick: () => { const state = stateSelect.value; ui.move = null; act(base + "/move", { ...version, state, run_callbacks: runBox.checked }, "Moved to " + state); } }, "Move")),
          h("div", { class: "row" },
            h("button", { "data-testid": "reset", onclick: () => confirm("Reset to the initial state and empty its data?") && act(base + "/reset", version, "Reset") }, "Reset"),
            h("button", { class: "danger", "data-testid": "end", disabled: c.closed, onclick: () => act(base + "/end", version, "Ended") }, "End")),
          h("div", { class: "row" }, "Consent: ", h("b", { "data-testid": "consent" }, d.consent || "not recorded"),
            h("button", { onclick: () => act(base + "/consent", { status: "opted_out" }, "Opted out") }, "Opt out"),
            h("button", { onclick: () => act(base + "/consent", { status: "opted_in" }, "Opted in") }, "Opt in")),
          d.window ? h("p", {}, `WhatsApp window: last inbound ${when(d.window.last_inbound) || "never"}`) : null),
        callStack(d.stack),
        h("div", { class: "card" }, h("h2", {}, "Data"), dataBox,
          h("button", { "data-testid": "save-data", onclick: () => {
            let data; try { data = JSON.parse(dataBox.value); } catch (err) { toast("Data is not JSON: " + err.message, true); return; }
            ui.data = null;
            act(base + "/data", { ...version, data }, "Data saved");
          } }, "Save data")),
        h("div", { class: "card" }, h("h2", {}, "Timers"),
          d.timers.length ? h("ul", { class: "plain" }, d.timers.map((t) => h("li", {}, `${t.name} → ${t.trigger} at ${when(t.due_at)} `,
            h("button", { onclick: () => act(`${base}/timers/${encodeURIComponent(t.name)}/fire`, {}, "Fired " + t.name) }, "Fire now"),
            h("button", { onclick: () => act(`${base}/timers/${encodeURIComponent(t.name)}/cancel`, {}, "Cancelled " + t.name) }, "Cancel")))) : h("p", { class: "empty" }, "No pending timers.")),
        h("div", { class: "card" }, h("h2", {}, "Outbox"),
          d.outbox.length ? h("ul", { class: "plain" }, d.outbox.map((m) => h("li", {}, `${m.status}${m.delivery ? "/" + m.delivery : ""}: ${m.body.slice(0, 50)} `,
            m.status === "pending" ? h("button", { onclick: () => act(`/outbox/${m.id}/cancel`, {}, "Cancelled") }, "Cancel") : null,
            ["failed", "blocked"].includes(m.status) ? h("button", { onclick: () => act(`/outbox/${m.id}/retry`, {}, "Queued again") }, "Retry") : null))) : h("p", { class: "empty" }, "Nothing sent through the outbox."))),
      flow ? h("section", { class: "card wide" }, h("h2", {}, "Where this conversation is"), diagram(flow, c.state)) : null),
  ];
}

// The subflow call stack: callers outermost first, each waiting in a state that runs the
// next flow down; the last frame is the flow running now.
function callStack(stack) {
  if (!stack || stack.length < 2) return null;
  return h("div", { class: "card" }, h("h2", {}, "Call stack"),
    h("ol", { class: "calls", "data-testid": "call-stack" }, stack.map((f) => h("li", { class: f.running ? "running" : "", "data-testid": "frame" },
      `${f.flow} · ${f.state}`, f.calls ? ` ⇒ runs ${f.calls}` : " (running)",
      f.waits_for.length ? h("small", {}, ` · waits for ${f.waits_for.join(" / ")}`) : null))));
}

function levels(flow) {
  const level = { [flow.initial]: 0 };
  const queue = [flow.initial];
  while (queue.length) {
    const st = queue.shift();
    for (const t of flow.transitions) {
      const sources = t.source === "*" ? flow.states : [t.source];
      if (sources.includes(st) && t.dest !== st && flow.states.includes(t.dest) && level[t.dest] === undefined) {
        level[t.dest] = level[st] + 1;
        queue.push(t.dest);
      }
    }
  }
  let last = Math.max(0, ...Object.values(level));
  for (const st of flow.states) if (level[st] === undefined) level[st] = ++last;
  return level;
}

function diagram(flow, current) {
  const level = levels(flow), rows = {}, at = {};
  const W = 150, H = 44, GX = 60, GY = 26;
  for (const st of flow.states) {
    const col = level[st];
    rows[col] = (rows[col] || 0) + 1;
    at[st] = { x: 10 + col * (W + GX), y: 10 + (rows[col] - 1) * (H + GY) };
  }
  const width = 20 + (Math.max(...Object.values(level)) + 1) * (W + GX);
  const height = 20 + Math.max(...Object.values(rows)) * (H + GY);
  const edges = [];
  const seen = new Set();
  for (const t of flow.transitions) {
    const sources = t.source === "*" ? [] : [t.source];
    for (const src of sources) {
      const dest = t.dest;
      if (dest === src || !at[src] || !at[dest] || seen.has(src + ">" + dest)) continue;
      seen.add(src + ">" + dest);
      const a = at[src], b = at[dest];
      const back = b.x <= a.x;
      const x1 = back ? a.x + W / 2 : a.x + W, y1 = back ? a.y + H : a.y + H / 2;
      const x2 = back ? b.x + W / 2 : b.x, y2 = back ? b.y + H : b.y + H / 2;
      const path = back ? `M${x1},${y1} C${x1},${y1 + 40} ${x2},${y2 + 40} ${x2},${y2 + 4}` : `M${x1},${y1} L${x2 - 4},${y2}`;
      edges.push(s("path", { d: path, class: "edge", "marker-end": "url(#arrow)" }));
    }
  }
  const nodes = flow.states.map((st) => {
    const { x, y } = at[st];
    const open = flow.open[st] || 0, idle = flow.idle[st] || 0;
    const cls = ["node", st === current ? "current" : "", flow.final.includes(st) ? "final" : ""].join(" ");
    return s("g", { class: cls, "data-state": st },
      s("rect", { x, y, width: W, height: H, rx: 8 }),
      s("text", { x: x + 10, y: y + 18, class: "name" }, st),
      s("text", { x: x + 10, y: y + 35, class: "count" }, `${open} open${idle ? " · " + idle + " idle" : ""}`));
  });
  return s("svg", { viewBox: `0 0 ${width} ${height + 40}`, width, height: height + 40, class: "diagram", "data-testid": "diagram", "data-flow": flow.name },
    s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))),
    edges, nodes);
}

async function flowsPage() {
  const { flows } = await api("/flows");
  return [h("h1", {}, "Flows"), h("p", {}, "Open conversations per state; idle means open and quiet for over an hour (stuck)."),
    flows.map((f) => h("section", { class: "card wide" }, h("h2", {}, f.name, " ", h("small", {}, `initial ${f.initial}`), " ",
      h("a", { href: "#/stats/" + encodeURIComponent(f.name), "data-testid": "flow-stats-link" }, "statistics")), diagram(f, null)))];
}

function seconds(value) {
  if (value === null) return "—";
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) if (value >= size) return `${(value / size).toFixed(1)}${unit}`;
  return `${value.toFixed(1)}s`;
}

// Per-state statistics (`switchboard stats`): read once per visit, not on every live change.
async function statsPage(name, params) {
  const since = params.get("since") || "7d";
  const s = await api(`/flows/${encodeURIComponent(name)}/stats?since=${encodeURIComponent(since)}`);
  const head = ["state", "entered", "left to", "timed out", "handed off", "gave up", "stopped", "median time"];
  const rows = s.states.map((r) => h("tr", { "data-testid": "stats-row", "data-state": r.state },
    h("td", {}, r.state), h("td", {}, String(r.entered)),
    h("td", {}, Object.entries(r.left).map(([to, n]) => `${to} ${n}`).join(", ") || "—"),
    h("td", {}, String(r.timed_out)), h("td", {}, String(r.handed_off)), h("td", {}, String(r.gave_up)),
    h("td", {}, String(r.stopped)), h("td", {}, seconds(r.median_seconds))));
  const spans = ["1d", "7d", "30d"].map((d) => h("a", { href: `#/stats/${encodeURIComponent(name)}?since=${d}`, class: d === since ? "current" : "" }, d));
  return [h("h1", {}, `Statistics: ${name}`),
    h("p", { "data-testid": "stats-summary" }, `Last ${since}: ${s.started} started, ${s.completed} completed (${(100 * s.completion_rate).toFixed(1)}%). Window: `, ...spans.flatMap((a) => [a, " "])),
    h("section", { class: "card wide" }, h("table", { class: "stats", "data-testid": "stats-table" },
      h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))), h("tbody", {}, rows))),
    h("p", {}, "Entered: first steps and moves into the state. Gave up: open and idle over 24 h there. Stopped: sent STOP there. Median: time per step spent there (estimated from buckets). Handed off: always 0 for now (not yet read from hand-off records).")];
}

// -- routing and sign-in -----------------------------------------------------------------
function showLogin(message) {
  if (stream) stream.abort();
  stream = null; // signed in again: route() opens a new one
  $("login").hidden = false;
  $("view").replaceChildren();
  $("login-error").textContent = message || "";
}

// What each page reads, and what its live changes do (re-render it unless said otherwise).
function pageOf(path, params) {
  if (path.startsWith("/c/")) {
    const key = decodeURIComponent(path.slice(3));
    return { name: "conversation", load: () => conversationPage(key),
             watchQuery: "?conversation=" + encodeURIComponent(key), again: route };
  }
  if (path === "/flows") return { name: "flows", load: flowsPage, watchQuery: "", again: route };
  if (path === "/inbox") return { name: "inbox", load: inboxPage, watchQuery: "", again: route };
  if (path.startsWith("/stats/")) {
    const flow = decodeURIComponent(path.slice(7));
    // heavy on a big log: no re-render on every live change (its own stream, whose
    // callback does nothing)
    return { name: "stats", load: () => statsPage(flow, params), watchQuery: "?stats=1", again: () => {} };
  }
  if (path === "/phone") {
    // live changes update the state only: the page is being typed on
    return { name: "phone", load: phonePage, watchQuery: "", again: phoneLive };
  }
  return { name: "list", load: () => listPage(params), watchQuery: "", again: route };
}

async function route() {
  const id = ++renderId;
  const [path, query] = location.hash.slice(1).split("?");
  const page = pageOf(path, new URLSearchParams(query || ""));
  if (stream?.query !== page.watchQuery) { // the stream's baseline first (see watch)
    const ready = watch(page.watchQuery, () => page.again());
    stream.query = page.watchQuery;
    await Promise.race([ready, new Promise((r) => setTimeout(r, 3000))]);
  }
  let content;
  try {
    content = await page.load();
  } catch (err) {
    if (err.message !== "unauthorized") toast(err.message, true);
    return;
  }
  if (id !== renderId) return; // a newer render started meanwhile
  document.body.dataset.page = page.name;
  $("login").hidden = true;
  $("view").replaceChildren(...[content].flat(Infinity).filter(Boolean));
}

async function start() {
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    sessionStorage.setItem("switchboard-token", $("token").value.trim());
    $("token").value = "";
    await signIn();
  });
  window.addEventListener("hashchange", route);
  await signIn();
}

async function signIn() {
  try {
    const me = await api("/whoami");
    ui.me = me.operator;
    $("who").textContent = me.mode === "dev" ? "dev mode (no token)" : "signed in as " + me.operator;
    $("who").dataset.testid = "who";
    document.body.dataset.mode = me.mode;
    await route();
  } catch (err) { /* showLogin already ran for a 401 */ }
}

document.addEventListener("DOMContentLoaded", start);
