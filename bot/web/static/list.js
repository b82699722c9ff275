// Switchboard console, the list of conversations (#/): search by number, flow, state,
// channel and status; "stuck" means open and quiet for longer than "stuck after" minutes
// (the admin API's stuck_minutes, 60 unless given). Loaded after console.js and uses its
// helpers (h, api, when).
"use strict";

const FILTERS = ["number", "flow", "state", "channel", "status", "stuck_minutes"];
const STATUSES = ["all", "open", "stuck", "closed"];

function stuckField(params, status) {
  const shown = (params.get("status") || "all") === "stuck";
  const input = h("input", { name: "stuck_minutes", type: "number", min: "1", step: "1",
    placeholder: "60", value: params.get("stuck_minutes") || "", disabled: !shown,
    title: "open and quiet for longer than this many minutes", "data-testid": "filter-stuck-minutes" });
  status.addEventListener("change", () => { input.disabled = status.value !== "stuck"; });
  return h("label", { class: "stuck" }, "stuck after ", input, " min");
}

function filterForm(params) {
  const status = h("select", { name: "status", "data-testid": "filter-status" }, STATUSES.map((c) =>
    h("option", { value: c, selected: (params.get("status") || "all") === c }, c)));
  const form = h("form", { class: "filters", "data-testid": "filters", onsubmit: (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const name of FILTERS) {
      const field = form.elements[name];
      const v = field.disabled ? "" : field.value.trim();
      if (v) q.set(name, v);
    }
    location.hash = "#/?" + q;
  } },
    h("input", { name: "number", placeholder: "number", value: params.get("number") || "", "data-testid": "filter-number" }),
    h("input", { name: "flow", placeholder: "flow", value: params.get("flow") || "" }),
    h("input", { name: "state", placeholder: "state", value: params.get("state") || "" }),
    h("select", { name: "channel" }, ["", "sms", "whatsapp", "voice"].map((c) =>
      h("option", { value: c, selected: params.get("channel") === c }, c || "any channel"))),
    status, stuckField(params, status),
    h("button", { type: "submit", "data-testid": "search" }, "Search"));
  return form;
}

async function listPage(params) {
  const query = new URLSearchParams();
  for (const name of FILTERS) if (params.get(name)) query.set(name, params.get(name));
  if (params.get("status") !== "stuck") query.delete("stuck_minutes");
  if (params.get("cursor")) query.set("cursor", params.get("cursor"));
  const page = await api("/conversations?" + query);
  const rows = page.conversations.map((c) => h("tr", { "data-key": c.key },
    h("td", {}, h("a", { href: "#/c/" + encodeURIComponent(c.key), "data-testid": "conversation-link" }, c.theirs)),
    h("td", {}, c.channel), h("td", {}, c.flow), h("td", {}, h("span", { class: "state" }, c.state)),
    h("td", {}, c.closed ? "closed" : "open"), h("td", {}, "v" + c.version), h("td", { class: "when" }, when(c.updated_at))));
  const next = page.next ? h("a", { href: "#/?" + withParam(params, "cursor", page.next), class: "more" }, "Older →") : null;
  return [h("h1", {}, "Conversations"), filterForm(params),
    h("table", { class: "list", "data-testid": "conversations" },
      h("thead", {}, h("tr", {}, ["Person", "Channel", "Flow", "State", "", "Version", "Updated"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 7, class: "empty" }, "No conversations match.")))),
    next];
}

function withParam(params, name, value) {
  const q = new URLSearchParams(params);
  q.set(name, value);
  return q.toString();
}
