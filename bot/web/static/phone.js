// Switchboard console, the simulated phone (dev mode): text or call any routed number.
// Loaded after console.js and uses its helpers (h, api, route, toast, $).
// A call is driven as Twilio drives one (bot/web/simulator.py): ring, play what the TwiML
// says, answer its <Gather>/<Dial>/<Record> at the action URL it gave, follow <Redirect>,
// and send the status callback "completed" on <Hangup>, at the end of a document, or when
// the caller hangs up.
"use strict";

const phone = { from: "+15550001234", to: "+15550100000", channel: "sms", mode: "text", log: [], call: null };

// -- a call ----------------------------------------------------------------------------
function heard(kind, text) { phone.call.log.push({ kind, text }); }

async function callRequest(body) {
  const c = phone.call;
  const answer = await api("/simulate/call", { from: c.from, to: c.to, ...(c.sid ? { call: c.sid } : {}), ...body });
  c.sid = answer.call;
  c.key = answer.key;
  return answer;
}

// Play a document's verbs in order until one waits for the caller or ends the call.
async function play(verbs) {
  const c = phone.call;
  for (let i = 0; i < verbs.length; i++) {
    const v = verbs[i];
    if (v.verb === "Say") heard("say", v.text);
    else if (v.verb === "Play") heard("play", "♪ " + v.text);
    else if (v.verb === "Pause") heard("info", `(pause ${v.attrs.length || 1}s)`);
    else if (v.verb === "Gather") {
      for (const child of v.children) heard(child.verb === "Play" ? "play" : "say", child.verb === "Play" ? "♪ " + child.text : child.text);
      c.waiting = { verb: "Gather", attrs: v.attrs, rest: verbs.slice(i + 1) };
      c.keys = "";
      return;
    } else if (v.verb === "Dial") {
      const to = v.text || v.children.map((n) => n.text).join(", ");
      heard("info", `Dialing ${to}…`);
      if (v.attrs.action) { c.waiting = { verb: "Dial", attrs: v.attrs, rest: verbs.slice(i + 1) }; return; }
    } else if (v.verb === "Record") {
      heard("info", "(recording: press Stop, or the finish key)");
      c.waiting = { verb: "Record", attrs: v.attrs, rest: verbs.slice(i + 1) };
      return;
    } else if (v.verb === "Redirect") { await answerAt(v.text, {}); return; }
    else if (v.verb === "Hangup" || v.verb === "Reject") { await hangUp("the call hung up"); return; }
    else heard("info", `(${v.verb})`);
  }
  await hangUp("the call ended"); // a document that runs out hangs up, as on Twilio
}

async function answerAt(action, body) {
  phone.call.waiting = null;
  const answer = await callRequest({ action, ...body });
  await play(answer.verbs);
}

async function hangUp(why) {
  const c = phone.call;
  if (!c || c.ended) return;
  c.waiting = null;
  c.ended = true;
  await callRequest({ hangup: true });
  heard("info", `${why} (status: completed)`);
}

async function callStep(fn) {
  try { await fn(); } catch (err) { toast(err.message, true); }
  await route();
}

function pressKey(k) {
  const c = phone.call, w = c?.waiting;
  if (!w) return;
  if (w.verb === "Record") {
    if ((w.attrs.finishOnKey || "1234567890*#").includes(k)) callStep(() => answerAt(w.attrs.action, { recording: 5, digits: k }));
    return;
  }
  if (w.verb !== "Gather" || !(w.attrs.input || "dtmf").includes("dtmf")) return; // speech only: keys are ignored
  const finish = w.attrs.finishOnKey ?? "#";
  if (finish && k === finish) { sendKeys(); return; }
  c.keys += k;
  if (w.attrs.numDigits && c.keys.length >= Number(w.attrs.numDigits)) sendKeys();
  else route();
}

function sendKeys(speech) {
  const c = phone.call, w = c.waiting;
  const keys = c.keys;
  c.keys = "";
  if (keys) heard("pressed", "pressed " + keys);
  if (speech) heard("pressed", "said “" + speech + "”");
  const empty = !keys && !speech;
  if (empty && w.attrs.actionOnEmptyResult !== "true") { c.waiting = null; callStep(() => play(w.rest)); return; }
  callStep(() => answerAt(w.attrs.action, { ...(keys ? { digits: keys } : {}), ...(speech ? { speech } : {}) }));
}

function callControls() {
  const c = phone.call, w = c?.waiting;
  if (!c || c.ended) {
    return h("div", { class: "row" }, h("button", { class: "call", "data-testid": "call-start", onclick: () => {
      Object.assign(phone, { from: $("main").querySelector("[data-testid=phone-from]").value.trim(), to: $("main").querySelector("[data-testid=phone-to]").value.trim() });
      phone.call = { from: phone.from, to: phone.to, sid: null, log: [], keys: "", waiting: null, ended: false };
      heard("info", `Calling ${phone.to}…`);
      callStep(async () => play((await callRequest({})).verbs));
    } }, "📞 Call"));
  }
  const speech = h("input", { placeholder: "say something", "data-testid": "call-speech", autocomplete: "off" });
  return h("div", {},
    h("p", { "data-testid": "call-status" }, w ? `waiting at <${w.verb}>` + (c.keys ? ` · keys ${c.keys}` : "") : "on the line"),
    w?.verb === "Gather" ? h("div", { class: "row" },
      h("button", { "data-testid": "call-send-keys", onclick: () => sendKeys() }, c.keys ? "Send keys" : "Stay silent"),
      (w.attrs.input || "dtmf").includes("speech") ? [speech, h("button", { "data-testid": "call-say", onclick: () => speech.value.trim() && sendKeys(speech.value.trim()) }, "Say")] : null) : null,
    w?.verb === "Dial" ? h("div", { class: "row" }, "The call we placed: ", ["completed", "busy", "no-answer", "failed"].map((s) =>
      h("button", { "data-testid": "dial-" + s, onclick: () => { heard("pressed", "dial " + s); callStep(() => answerAt(w.attrs.action, { dial: s })); } }, s === "completed" ? "answered" : s))) : null,
    w?.verb === "Record" ? h("div", { class: "row" }, h("button", { "data-testid": "record-stop", onclick: () => callStep(() => answerAt(w.attrs.action, { recording: 5 })) }, "Stop recording (5 s)")) : null,
    h("button", { class: "danger", "data-testid": "call-hangup", onclick: () => callStep(() => hangUp("you hung up")) }, "Hang up"));
}

// -- the page --------------------------------------------------------------------------
async function sendText(from, to, channel) {
  Object.assign(phone, { from: from.value.trim(), to: to.value.trim(), channel: channel.value });
  const text = phone.draft || "";
  phone.draft = "";
  phone.log.push({ me: true, text });
  try {
    const answer = await api("/simulate", { from: phone.from, to: phone.to, channel: phone.channel, text });
    phone.textKey = answer.key;
    for (const reply of answer.replies) phone.log.push({ me: false, text: reply });
  } catch (err) { toast(err.message, true); }
  await route();
  $("main").querySelector("[data-testid=phone-text]")?.focus();
}

function phoneKey() { return phone.mode === "call" ? phone.call?.key : phone.textKey; }

async function conversationState(key) {
  const none = { state: "", closed: false, version: 0 };
  if (!key) return none;
  try { return (await api("/conversations/" + encodeURIComponent(key))).conversation; } catch (err) { return none; }
}

// A live change (this conversation or any other) updates the state shown, not the page: a
// re-render would replace the input and the buttons under the person's fingers.
async function phoneLive() {
  const { state, closed, version } = await conversationState(phoneKey());
  const shown = $("main").querySelector("[data-testid=phone-state]");
  if (!shown) return;
  shown.textContent = state || "—";
  const versionShown = $("main").querySelector("[data-testid=phone-version]");
  versionShown.textContent = version ? "v" + version : "";
  const ended = $("main").querySelector("[data-testid=phone-closed]");
  if (closed && !ended) versionShown.after(h("span", { "data-testid": "phone-closed" }, " (ended)"));
}

async function phonePage() {
  // The draft outlives a live re-render of this page (the thread updates while one types).
  const calling = phone.mode === "call";
  const input = h("input", { placeholder: "Type a message", "data-testid": "phone-text", autocomplete: "off",
    value: phone.draft || "", oninput: () => { phone.draft = input.value; } });
  const from = h("input", { value: phone.from, "data-testid": "phone-from" });
  const to = h("input", { value: phone.to, "data-testid": "phone-to" });
  const channel = h("select", {}, ["sms", "whatsapp"].map((c) => h("option", { value: c, selected: c === phone.channel }, c)));
  const key = phoneKey();
  const { state, closed, version } = await conversationState(key);
  const thread = calling
    ? h("ol", { class: "thread call", "data-testid": "call-thread" }, (phone.call?.log || []).map((m) =>
      h("li", { class: m.kind === "pressed" ? "out" : m.kind === "info" ? "note" : "in", "data-testid": m.kind === "info" ? "call-note" : m.kind === "pressed" ? "call-pressed" : "call-heard" }, m.kind === "info" ? m.text : h("p", {}, m.text))))
    : h("ol", { class: "thread", "data-testid": "phone-thread" }, phone.log.map((m) =>
      h("li", { class: m.me ? "out" : "in", "data-testid": m.me ? "phone-sent" : "phone-reply" }, h("p", {}, m.text))));
  const keypad = h("div", { class: "keypad" }, ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"].map((k) =>
    h("button", { type: "button", "data-testid": "key-" + k, onclick: () => {
      if (calling) { pressKey(k); return; }
      input.value += k; phone.draft = input.value; input.focus();
    } }, k)));
  const form = h("form", { class: "compose", onsubmit: (e) => { e.preventDefault(); sendText(from, to, channel); } },
    input, h("button", { type: "submit", "data-testid": "phone-send" }, "Send"));
  const tabs = h("div", { class: "row tabs" }, ["text", "call"].map((m) => h("button", { "data-testid": "phone-mode-" + m,
    class: m === phone.mode ? "current" : "", onclick: () => { phone.mode = m; route(); } }, m === "text" ? "Text" : "Call")));
  return [h("h1", {}, "Simulated phone"),
    h("p", {}, "Dev mode: text or call any routed number as anyone. Answers come from the real engine; the conversation is stored like any other."),
    tabs, h("div", { class: "row" }, "From ", from, " to ", to, calling ? null : [" on ", channel]),
    h("div", { class: "split" }, h("section", { class: "phone-frame" }, thread, calling ? callControls() : form, keypad),
      h("section", { class: "side card" }, h("p", {}, "State: ", h("span", { class: "state", "data-testid": "phone-state" }, state || "—"), " ",
        h("span", { "data-testid": "phone-version" }, version ? "v" + version : ""),
        closed ? h("span", { "data-testid": "phone-closed" }, " (ended)") : null),
        key ? h("a", { href: "#/c/" + encodeURIComponent(key), "data-testid": "phone-open" }, "Open this conversation") : null))];
}
