// The station's touchscreen UI: a thin view over the websocket. The server
// holds the session and every flow; this page renders its view, sends the
// operator's steps and shows the rules' messages in the chosen language.
// This module is the connection and the dispatch: it picks the screen for
// the view (screens/*.js, one per state and flow kind, each holding what
// its flow needs between renders) and draws the status bar, the toast, the
// language toggle and the dev panel.
import { Conn } from "./conn.js";
import { t, text, apply, setLang, currentLang } from "./i18n.js";
import { h } from "./dom.js";
import { State, Kind } from "./steps.js";
import { hwState } from "./screens/common.js";
import { createFlow } from "./screens/frame.js";
import * as lockScreen from "./screens/lock.js";
import * as pinScreen from "./screens/pin.js";
import * as homeScreen from "./screens/home.js";
import * as issue from "./screens/issue.js";
import * as pickup from "./screens/pickup.js";
import * as ret from "./screens/return.js";
import * as extend from "./screens/extend.js";
import * as block from "./screens/block.js";
import * as stockReceive from "./screens/stock_receive.js";
import * as stockCount from "./screens/stock_count.js";
import * as stockVoid from "./screens/stock_void.js";
import * as status from "./screens/status.js";
import * as daylist from "./screens/daylist.js";
import * as admins from "./screens/admins.js";

const $ = (id) => document.getElementById(id);
let snapshot = null;
let view = { state: State.Locked };
let connState = "connecting";

// The flow screens by kind; a kind this page does not know gets the bare
// flow frame (its steps show their names).
const flows = {
  [Kind.Issue]: issue,
  [Kind.Pickup]: pickup,
  [Kind.Return]: ret,
  [Kind.Extend]: extend,
  [Kind.Block]: block,
  [Kind.StockReceive]: stockReceive,
  [Kind.StockCount]: stockCount,
  [Kind.StockVoid]: stockVoid,
  [Kind.Status]: status,
  [Kind.DayList]: daylist,
  [Kind.Admins]: admins,
};
const unknownFlow = { create: (c) => createFlow(c, {}) };

// What the screens may use: requests (with the toast on refusal), the
// flow's steps, a re-render, the station's snapshot.
const ctx = {
  req,
  step,
  toast,
  render,
  request: (type, payload) => conn.request(type, payload),
  snapshot: () => snapshot,
  setSnapshot: (s) => { snapshot = s; },
};

function renderConn() {
  const el = $("conn");
  el.dataset.state = connState;
  el.textContent = t("conn." + connState);
}

function renderStatus() {
  if (!snapshot) return;
  $("station-name").textContent = snapshot.station.name;
  const hw = snapshot.hardware || {};
  for (const dev of ["reader", "drawer", "printer"]) {
    const d = hw[dev];
    $("st-" + dev).textContent = d ? hwState(d.state) + (d.detail ? ` (${d.detail})` : "") : t("state.unknown");
  }
  $("st-outbox").textContent = String(snapshot.outbox);
  $("clock-warning").hidden = !snapshot.clock.blocking;
  $("devpanel").hidden = !snapshot.simulation;
}

// toast shows a problem that no screen shows where it happened, at the top
// (never over the keypad or the keyboard). Rule IDs are not shown: they are
// in the audit log; each message says what is wrong and what to do.
function toast(problem) {
  const el = $("toast");
  el.textContent = text(problem.text) || problem.key;
  el.dataset.rule = problem.rule || "";
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

// shownInView are the requests whose refusals the counter's view shows in
// place (the step's or the home screen's messages): one place per message.
const shownInView = new Set(["flow.step", "flow.start"]);

function req(type, payload) {
  return conn.request(type, payload).catch((p) => { if (!shownInView.has(type)) toast(p); throw p; });
}

function step(name, data) {
  return req("flow.step", { step: name, data: data || {} });
}

let viewKey = "";

function setView(v) {
  v = v || { state: State.Locked };
  // The server announces every request; re-render only when what the
  // screen shows changed, so a tap is never lost to a needless redraw.
  const key = JSON.stringify({ ...v, rev: 0 });
  if (key === viewKey) { renderStatus(); return; }
  viewKey = key;
  // A toast speaks of the screen it came from: a new state (logged in,
  // locked) takes it away.
  if (view.state !== v.state) { $("toast").hidden = true; clearTimeout(toast.timer); }
  view = v;
  render();
}

// The screen shown, and what it holds: made when its state, flow kind or
// session starts, dropped (with everything typed, chosen or drawn in it)
// when that changes — logout, lock, idle, another flow, back home.
let current = { key: null, screen: null };

function screenKey(v) {
  if (v.state !== State.Ready) return v.state;
  const session = v.operator ? String(v.operator.since) : "";
  return v.flow ? `${session} flow ${v.flow.kind}` : `${session} home`;
}

function screenFor(v) {
  const key = screenKey(v);
  if (key !== current.key) {
    let mod = lockScreen;
    if (v.state === State.Pin) mod = pinScreen;
    else if (v.state === State.Ready && v.flow) mod = flows[v.flow.kind] || unknownFlow;
    else if (v.state === State.Ready) mod = homeScreen;
    current = { key, screen: mod.create(ctx) };
  }
  return current.screen;
}

function render() {
  renderStatus();
  $("operator").textContent = view.operator ? view.operator.name : "";
  $("logout").hidden = view.state !== State.Ready;
  // The idle lock is near: "Mer tid" keeps the session (a touch).
  $("idle").hidden = !(view.state === State.Ready && view.idle_locks_at);
  const screen = $("screen");
  screen.dataset.state = view.state;
  screen.replaceChildren(screenFor(view).render(view));
  screen.classList.toggle("inflow", view.state === State.Ready && !!view.flow);
}

const conn = new Conn(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`, {
  onState(state) {
    connState = state;
    renderConn();
  },
  onMessage(msg) {
    switch (msg.type) {
      case "hello":
      case "state":
        snapshot = msg.payload;
        setView(snapshot.session && snapshot.session.view);
        loadDevCards();
        break;
      case "event": {
        const topic = msg.payload.topic;
        if (topic.startsWith("device.") && snapshot) {
          snapshot.hardware[msg.payload.data.device] = msg.payload.data.state;
          renderStatus();
          if (view.flow && view.flow.kind === Kind.Status) render();
        } else if (topic === "session.changed") {
          conn.request("session.get").then((s) => setView(s.view)).catch(toast);
        } else if (topic.startsWith("card.")) {
          markCardEvent(msg.payload);
        } else {
          conn.request("status.get").then((s) => { snapshot = s; renderStatus(); }).catch(toast);
        }
        break;
      }
      case "error":
        toast(msg.payload);
        break;
    }
  },
});

// markCardEvent shows a card going in or out at once, before the flow's
// answer; the benchmark measures from the reader event to this change.
function markCardEvent(p) {
  const el = $("card-activity");
  el.textContent = `${p.data.kind} ${p.data.reader || ""}`;
  el.dataset.seq = String(p.seq);
  el.dataset.at = p.at;
}

// The dev panel drives the simulated hardware (served only in simulation).
const devButtons = [
  { id: "dev-drawer-open", key: "dev.drawer.open", type: "dev.drawer.open" },
  { id: "dev-drawer-close", key: "dev.drawer.close", type: "dev.drawer.close" },
  { id: "dev-drawer-fail", key: "dev.drawer.fail", type: "dev.drawer.fail" },
  { id: "dev-drawer-repair", key: "dev.drawer.repair", type: "dev.drawer.repair" },
  { id: "dev-printer-paused", key: "dev.printer.paused", type: "dev.printer.paused", toggle: true },
  { id: "dev-printer-offline", key: "dev.printer.offline", type: "dev.printer.offline", toggle: true },
  { id: "dev-printer-paper", key: "dev.printer.out_of_paper", type: "dev.printer.out_of_paper", toggle: true },
];

function buildDevPanel() {
  const box = $("dev-buttons");
  for (const b of devButtons) {
    const el = document.createElement("button");
    el.type = "button";
    el.id = b.id;
    el.dataset.i18n = b.key;
    el.textContent = t(b.key);
    if (b.toggle) el.setAttribute("aria-pressed", "false");
    el.addEventListener("click", () => {
      let payload;
      if (b.toggle) {
        const on = el.getAttribute("aria-pressed") !== "true";
        el.setAttribute("aria-pressed", String(on));
        payload = { on };
      }
      conn.request(b.type, payload).catch(toast);
    });
    box.appendChild(el);
  }
  const sel = $("dev-card");
  const readers = ["Simulated Reader 00", "Simulated Reader 01"];
  const cardButtons = [["dev-insert0", "dev.insert0", () => req("dev.card.insert", { reader: readers[0], serial: sel.value })],
    ["dev-insert1", "dev.insert1", () => req("dev.card.insert", { reader: readers[1], serial: sel.value })],
    ["dev-remove0", "dev.remove0", () => req("dev.card.remove", { reader: readers[0] })],
    ["dev-remove1", "dev.remove1", () => req("dev.card.remove", { reader: readers[1] })]];
  for (const [id, key, f] of cardButtons) {
    $("dev-card-buttons").appendChild(h("button", { type: "button", id, dataset: { i18n: key }, onclick: () => f().catch(() => {}) }, t(key)));
  }
}

function loadDevCards() {
  if (!snapshot || !snapshot.simulation || loadDevCards.done) return;
  loadDevCards.done = true;
  conn.request("dev.cards").then((r) => {
    const sel = $("dev-card");
    sel.replaceChildren(...r.cards.map((c) => h("option", { value: c.serial }, `${c.serial}${c.name ? " – " + c.name : ""}${c.hsa_id ? " (PIN " + c.pin + ")" : ""}`)));
  }).catch(() => { loadDevCards.done = false; });
}

$("lang").addEventListener("click", () => {
  setLang(currentLang() === "sv" ? "en" : "sv");
  $("lang").textContent = t("lang.other");
  renderConn();
  render();
});
$("logout").addEventListener("click", () => req("session.logout").catch(() => {}));
$("idle-more").addEventListener("click", () => req("session.touch").catch(() => {}));

// Touches count as activity for the idle timeout (at most every 30 s).
let lastTouch = 0;
document.addEventListener("pointerdown", () => {
  const now = Date.now();
  if (view.state === State.Ready && now - lastTouch > 30000) {
    lastTouch = now;
    conn.request("session.touch").catch(() => {});
  }
}, { capture: true });

buildDevPanel();
apply(document);
$("lang").textContent = t("lang.other");
window.kortstation = { conn };
