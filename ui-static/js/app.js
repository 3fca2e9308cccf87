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
import { revealRow } from "./keyboard.js";
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
  transient: () => transient,
  announce,
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
    // The state in words; the driver's own detail (reader names, a
    // sensor's fault) is for tests and the log, not the screen.
    const el = $("st-" + dev);
    el.textContent = d ? hwState(d.state) : t("state.unknown");
    el.dataset.state = d ? d.state : "";
    el.dataset.detail = (d && d.detail) || "";
  }
  $("st-outbox").textContent = String(snapshot.outbox);
  $("clock-warning").hidden = !snapshot.clock.blocking;
  $("devpanel").hidden = !snapshot.simulation;
}

// messagesOf is a refusal's messages, each with its key, rule and text.
function messagesOf(problem) {
  if (problem && problem.messages && problem.messages.length) return problem.messages;
  return [{ key: (problem && problem.key) || "", rule: (problem && problem.rule) || "", text: (problem && problem.text) || {} }];
}

// transient are the messages of a refusal that the view does not carry
// (a request other than a flow step): shown, once, in the screen's own
// message area (never over the keyboard or the keypad) until the view
// changes or the next request.
let transient = [];

// toast shows a refusal that no view shows where it happened: in the
// screen's message area (home, flows and the PIN screen have one), else
// at the top of the screen. Rule IDs are not shown: they are in the audit
// log (and data-rule); each message says what is wrong and what to do.
function toast(problem) {
  const ms = messagesOf(problem);
  if (view.state === State.Ready || view.state === State.Pin) {
    transient = ms;
    render();
    return;
  }
  const el = $("toast");
  el.textContent = ms.map((m) => text(m.text) || m.key).join(" ");
  el.dataset.rule = ms[0].rule || "";
  el.hidden = false;
  announce(el.textContent, true);
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 8000);
}

// announce says text in a live region: polite for what changed, assertive
// for a refusal. The same text again is said again.
function announce(msg, assertive = false) {
  const el = $(assertive ? "live-assertive" : "live-polite");
  el.textContent = "";
  if (msg) setTimeout(() => { el.textContent = msg; }, 50);
}

// shownInView are the requests whose refusals the counter's view shows in
// place (the step's or the home screen's messages): one place per message.
const shownInView = new Set(["flow.step", "flow.start"]);

// busy are the buttons whose requests are waiting (by id): disabled, with
// a spinner and, when the wait is noticeable, a label saying what happens
// ("Skriver ut …"), and the screen aria-busy. They stay so across redraws
// until the answer comes.
const busy = new Map(); // id → {since, count}
let lastPressed = null; // the button last pressed, and when

document.addEventListener("click", (ev) => {
  const b = ev.target.closest && ev.target.closest("button");
  lastPressed = b && b.id && !b.closest("#devpanel") && !b.closest("#kb") ? { id: b.id, at: Date.now() } : null;
}, { capture: true });

function markBusy() {
  const screen = $("screen");
  screen.setAttribute("aria-busy", String(busy.size > 0));
  for (const [id, b] of busy) {
    const el = document.getElementById(id);
    if (!el) continue;
    el.disabled = true;
    el.setAttribute("aria-busy", "true");
    el.classList.add("busy");
    if (!el.dataset.idle) el.dataset.idle = el.textContent;
    const label = t("busy." + id) !== "busy." + id ? t("busy." + id) : t("busy.wait");
    if (Date.now() - b.since >= 250) {
      el.replaceChildren(Object.assign(document.createElement("span"), { className: "spinner", ariaHidden: "true" }), label);
    }
  }
}

function req(type, payload) {
  const pressed = lastPressed && Date.now() - lastPressed.at < 1000 ? lastPressed.id : null;
  lastPressed = null;
  if (transient.length) { transient = []; render(); }
  if (pressed) {
    const b = busy.get(pressed) || { since: Date.now(), count: 0 };
    b.count++;
    busy.set(pressed, b);
    markBusy();
    b.timer = setTimeout(markBusy, 260);
  }
  const done = () => {
    if (!pressed) return;
    const b = busy.get(pressed);
    if (b && --b.count <= 0) {
      clearTimeout(b.timer);
      busy.delete(pressed);
      const el = document.getElementById(pressed);
      if (el) {
        el.disabled = false;
        el.removeAttribute("aria-busy");
        el.classList.remove("busy");
        if (el.dataset.idle !== undefined) { el.textContent = el.dataset.idle; delete el.dataset.idle; }
      }
      markBusy();
    }
  };
  return conn.request(type, payload).then((r) => { done(); return r; },
    (p) => { done(); if (!shownInView.has(type)) toast(p); throw p; });
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
  // The refusal shown in place goes when the screen or the step changes
  // (or with the next request), not with any change of the view.
  if (screenKey(v) !== screenKey(view) || (v.flow && v.flow.step) !== (view.flow && view.flow.step)) transient = [];
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

// What the last render showed, to tell a new screen or step (focus goes
// to its heading and it is announced) and new refusals (announced once).
let lastShown = { key: null, step: null, errors: "" };

function render() {
  renderStatus();
  $("operator").textContent = view.operator ? view.operator.name : "";
  $("logout").hidden = view.state !== State.Ready;
  // The idle lock is near: "Mer tid" keeps the session (a touch).
  $("idle").hidden = !(view.state === State.Ready && view.idle_locks_at);
  const screen = $("screen");
  screen.dataset.state = view.state;
  const key = screenKey(view);
  const step = view.flow ? view.flow.step : "";
  const sameStep = key === lastShown.key && step === lastShown.step;
  // Keep where the person was: the focused control and the form's scroll.
  const focused = document.activeElement && screen.contains(document.activeElement) ? document.activeElement.id : "";
  const body = screen.querySelector(".flowbody");
  const scrolled = sameStep && body ? body.scrollTop : 0;
  screen.replaceChildren(screenFor(view).render(view));
  screen.classList.toggle("inflow", view.state === State.Ready && !!view.flow);
  markBusy();
  const newBody = screen.querySelector(".flowbody");
  if (newBody) newBody.scrollTop = scrolled;
  // The field being typed, its hint and check stay in view above the
  // docked keyboard.
  const active = screen.querySelector(".fieldrow.active");
  if (active) revealRow(active);
  if (!sameStep) {
    // A new screen or step: focus its heading and say where we are.
    const heading = screen.querySelector("#flow-step") || screen.querySelector("h1");
    $("view").scrollTop = 0;
    if (heading) {
      if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
      announce(view.flow ? `${$("flow-title").textContent}: ${heading.textContent}` : heading.textContent);
    }
  } else if (focused && document.getElementById(focused)) {
    document.getElementById(focused).focus({ preventScroll: true });
  }
  // Focus lost to the page (its control was redrawn or disabled while
  // busy): back to the screen's heading, so the keyboard still works here.
  if (!document.activeElement || document.activeElement === document.body) {
    const heading = screen.querySelector("#flow-step") || screen.querySelector("h1");
    if (heading) {
      if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  }
  const errs = [...screen.querySelectorAll(".errors li")].map((li) => li.textContent).join(" ");
  if (errs && errs !== lastShown.errors) announce(errs, true);
  // A result that changes in place (the print state, a sync) is said once.
  const news = [...screen.querySelectorAll("[data-announce]")].map((e) => e.textContent).join(" ");
  if (sameStep && news && news !== lastShown.news) announce(news);
  lastShown = { key, step, errors: errs, news };
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
  // In words ("Kort isatt i läsare 01"); the event's own names stay in
  // data attributes, for tests and tools.
  const reader = (p.data.reader || "").match(/(\d+)\s*$/);
  const what = t("card.event." + p.data.kind);
  el.textContent = (what === "card.event." + p.data.kind ? t("card.event.other") : what) + (reader ? ` ${t("card.event.reader")} ${reader[1]}` : "");
  el.dataset.kind = p.data.kind;
  el.dataset.reader = p.data.reader || "";
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
  $("lang").lang = currentLang() === "sv" ? "en" : "sv";
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
$("lang").lang = currentLang() === "sv" ? "en" : "sv";
window.kortstation = { conn };
