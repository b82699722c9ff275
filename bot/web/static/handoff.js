// Switchboard console, hand-off (issue 13): the inbox page and the hand-off card of a
// conversation. Loaded after console.js and uses its helpers (h, api, act, when, toast).
"use strict";

async function inboxPage() {
  const { handoffs } = await api("/handoffs");
  const rows = handoffs.map((c) => {
    const ho = c.handoff;
    const data = Object.fromEntries(Object.entries(c.data).filter(([k]) => k !== "_handoff"));
    return h("tr", { "data-key": c.key, "data-testid": "handoff-row" },
      h("td", {}, h("a", { href: "#/c/" + encodeURIComponent(c.key), "data-testid": "handoff-link" }, c.theirs)),
      h("td", {}, c.flow), h("td", { "data-testid": "handoff-reason" }, ho.reason),
      h("td", { "data-testid": "handoff-status" }, ho.status === "claimed" ? "claimed by " + ho.operator : "waiting"),
      h("td", { class: "when" }, when(ho.since)), h("td", {}, h("code", {}, JSON.stringify(data))));
  });
  return [h("h1", {}, "Inbox"), h("p", {}, "Conversations waiting for a person, the longest waiting first."),
    h("table", { class: "list", "data-testid": "inbox" },
      h("thead", {}, h("tr", {}, ["Person", "Flow", "Reason", "Status", "Since", "Data"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 6, class: "empty" }, "Nobody is waiting."))))];
}

async function handoffCard(d, me) {
  const c = d.conversation;
  const ho = c.data._handoff;
  const base = "/handoffs/" + encodeURIComponent(c.key);
  const version = { version: c.version };
  if (!ho) {
    if (c.closed || c.channel === "voice") return null;
    return h("div", { class: "card", "data-testid": "handoff-card" }, h("h2", {}, "Hand-off"),
      h("button", { "data-testid": "take-over", onclick: () => act(base + "/take_over", { ...version, reason: "taken over" }, "Taken over") }, "Take over"));
  }
  const status = ho.status === "claimed" ? "claimed by " + ho.operator : "waiting for a person";
  const head = [h("h2", {}, "Hand-off"),
    h("p", {}, "Reason: ", h("b", {}, ho.reason), " · ", h("span", { "data-testid": "handoff-state" }, status), ` · since ${when(ho.since)}`)];
  if (ho.status !== "claimed") {
    return h("div", { class: "card", "data-testid": "handoff-card" }, head,
      h("button", { "data-testid": "claim", onclick: () => act(base + "/claim", version, "Claimed") }, "Claim"));
  }
  if (ho.operator !== me) return h("div", { class: "card", "data-testid": "handoff-card" }, head);
  const options = await api(base + "/options");
  ui.reply = ui.reply || "";
  const text = h("textarea", { rows: 3, "data-testid": "reply-text", placeholder: "Your reply", oninput: () => { ui.reply = text.value; } }, ui.reply);
  const media = h("input", { placeholder: "media URL (optional)", "data-testid": "reply-media" });
  const template = options.free_form ? null : h("select", { "data-testid": "reply-template" },
    options.templates.map((t) => h("option", { value: t }, t)));
  const states = h("select", { "data-testid": "return-state" }, d.states.map((st) => h("option", { value: st, selected: st === (ho.resume || c.state) }, st)));
  const send = () => {
    const body = { ...version, text: text.value, media: media.value.trim() ? [media.value.trim()] : [] };
    if (template) body.template = template.value;
    ui.reply = "";
    act(base + "/reply", body, "Sent");
  };
  return h("div", { class: "card", "data-testid": "handoff-card" }, head,
    options.free_form ? null : h("p", { class: "error", "data-testid": "window-closed" },
      options.templates.length ? "The WhatsApp window is closed: only a template can be sent." : "The WhatsApp window is closed and no template is configured: nothing can be sent."),
    text, media, template,
    h("div", { class: "row" }, h("button", { "data-testid": "reply-send", onclick: send }, "Send")),
    h("div", { class: "row" }, "Return at ", states,
      h("button", { "data-testid": "return", onclick: () => act(base + "/return", { ...version, state: states.value }, "Returned to the flow") }, "Return to the flow"),
      h("button", { class: "danger", "data-testid": "handoff-close", onclick: () => act(base + "/close", version, "Closed") }, "Close")));
}
