// The station's touchscreen UI: a thin view over the websocket. The server
// holds the session and every flow; this page renders its view, sends the
// operator's steps and shows the rules' messages in the chosen language.
import { Conn } from "./conn.js";
import { t, sv, text, apply, setLang, currentLang } from "./i18n.js";
import { h, button } from "./dom.js";
import { Keyboard, keypad } from "./keyboard.js";
import { SignaturePad } from "./signature.js";

const $ = (id) => document.getElementById(id);
let snapshot = null;
let view = { state: "locked" };
let connState = "connecting";
let pin = "";
let idMode = "doc";
let docType = "swedish_passport";
let intact = true;
let mgrDocType = "swedish_passport"; // the manager's own ID document (ID-4)
let mgrIntact = true;
let roles = { 1: "manager", 2: "manager" };
let blockReason = "";
let signer = null;
let stationStatus = null;
const kb = new Keyboard();

// Pre-checks for immediate feedback where a value is typed; the server
// re-checks everything with the rules package.
function luhnOK(d) {
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let n = Number(d[i]) * (i % 2 === 0 ? 2 : 1);
    if (n > 9) n -= 9;
    sum += n;
  }
  return sum % 10 === 0;
}

function checkPnr(v) {
  const d = v.replace(/[-+]/g, "");
  if (!/^\d*$/.test(d)) return t("check.pnr.format");
  if (d.length < 12) return "";
  if (d.length > 12) return t("check.pnr.format");
  return luhnOK(d.slice(2)) ? "" : t("check.pnr.luhn");
}

function checkDate(v) {
  if (v.length < 10) return /^\d{0,4}(-\d{0,2}(-\d{0,2})?)?$/.test(v) ? "" : t("check.date");
  return /^\d{4}-\d{2}-\d{2}$/.test(v) && !isNaN(Date.parse(v)) ? "" : t("check.date");
}

function checkHSA(v) {
  return /^(S(E(\d{0,10}(-[A-Z0-9]{0,31})?)?)?)?$/.test(v) ? "" : t("check.hsa");
}
const pad = new SignaturePad();

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

function toast(problem) {
  const el = $("toast");
  el.textContent = (problem.rule && !String(text(problem.text)).startsWith(problem.rule) ? problem.rule + ": " : "") + (text(problem.text) || problem.key);
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

function req(type, payload) {
  return conn.request(type, payload).catch((p) => { toast(p); throw p; });
}

function step(name, data) {
  return req("flow.step", { step: name, data: data || {} });
}

let viewKey = "";

function setView(v) {
  v = v || { state: "locked" };
  // The server announces every request; re-render only when what the
  // screen shows changed, so a tap is never lost to a needless redraw.
  const key = JSON.stringify({ ...v, rev: 0 });
  if (key === viewKey) { renderStatus(); return; }
  viewKey = key;
  const prev = view;
  view = v;
  if (view.state !== "ready") {
    // Logout, lock or idle: forget everything typed or drawn.
    kb.clear(); pad.reset(null); pad.strokes = []; pin = view.state === "pin" && prev.state === "pin" ? pin : "";
    stationStatus = null;
  }
  const pf = prev.flow, nf = view.flow;
  if (!nf || !pf || pf.kind !== nf.kind) {
    kb.clear(); idMode = "doc"; docType = "swedish_passport"; intact = true; mgrDocType = "swedish_passport"; mgrIntact = true; roles = { 1: "manager", 2: "manager" }; blockReason = ""; signer = null;
  } else if (pf.step !== nf.step) {
    kb.active = null;
  }
  if (nf && nf.kind === "status" && !stationStatus) loadStationStatus();
  render();
}

function loadStationStatus() {
  Promise.all([conn.request("status.station"), conn.request("status.get")])
    .then(([s, snap]) => { stationStatus = s; snapshot = snap; render(); }).catch(toast);
}

// registryState prefers the sync engine's own account (its last attempt
// and success) and falls back to the age of the last completed pull.
function registryState(s) {
  const sy = snapshot && snapshot.sync;
  if (sy && (sy.last_attempt || sy.last_success)) {
    const ok = !!sy.last_success && (!sy.last_attempt || Date.parse(sy.last_success) >= Date.parse(sy.last_attempt));
    return { reachable: ok, last: sy.last_success, error: ok ? "" : sy.last_error || "" };
  }
  return { reachable: s.registry.reachable, last: s.registry.last_sync, error: "" };
}

function render() {
  renderStatus();
  $("operator").textContent = view.operator ? view.operator.name : "";
  $("logout").hidden = view.state !== "ready";
  const screen = $("screen");
  screen.dataset.state = view.state;
  let content;
  if (view.state === "pin") content = pinScreen();
  else if (view.state === "ready" && view.flow) content = flowScreen(view.flow);
  else if (view.state === "ready") content = homeScreen();
  else content = lockScreen();
  screen.replaceChildren(content);
  screen.classList.toggle("inflow", view.state === "ready" && !!view.flow);
}

function messages(list, id) {
  if (!list || !list.length) return h("div", { id, class: "errors", hidden: true });
  return h("ul", { id, class: "errors", role: "alert" },
    list.map((m) => h("li", {}, m.rule ? h("strong", { class: "rule" }, m.rule) : null, " " + text(m.text))));
}

function lockScreen() {
  const login = view.login || {};
  return h("section", { id: "screen-lock", class: "screen" },
    h("h1", {}, t("lock.title")),
    h("p", {}, t("lock.hint")),
    view.notice ? h("p", { id: "notice", class: "notice" }, text(view.notice.text)) : null,
    login.error ? messages([login.error], "login-error") : null);
}

function pinScreen() {
  const login = view.login || {};
  const dots = h("div", { id: "pin-dots", class: "pindots", "aria-live": "polite" }, "•".repeat(pin.length) || "\u00a0");
  const submit = () => {
    const p = pin;
    pin = "";
    render();
    req("session.pin", { pin: p }).catch(() => {});
  };
  return h("section", { id: "screen-pin", class: "screen" },
    h("h1", {}, t("pin.title") + (login.name ? " – " + login.name : "")),
    h("p", { id: "pin-retries" }, `${login.retries >= 0 ? login.retries : "–"} ${t("pin.retries")}`),
    dots,
    keypad((d) => { if (pin.length < 8) { pin += d; dots.textContent = "•".repeat(pin.length); } },
      () => { pin = pin.slice(0, -1); dots.textContent = "•".repeat(pin.length) || "\u00a0"; }, submit));
}

const menu = ["issue", "pickup", "return", "extend", "block", "stock_receive", "stock_count", "stock_void", "status"];

function homeScreen() {
  return h("section", { id: "screen-home", class: "screen" },
    h("h1", {}, t("home.title")),
    messages(view.errors, "home-errors"),
    h("div", { id: "menu", class: "menu" },
      menu.map((k) => button({ class: "tile", dataset: { flow: k }, onclick: () => req("flow.start", { kind: k }).catch(() => {}) }, t("flow." + k)))));
}

// The step's primary action goes in the flow's head, which stays in view
// while the form and the keyboard scroll under it.
let headAction = null;
function act(el) { headAction = el; return null; }

// The keyboard sits under the step's scrolling body, always in view.
let kbWanted = false;
function useKb() { kbWanted = true; return null; }

function flowScreen(f) {
  headAction = null;
  kbWanted = false;
  const body = h("div", { class: "flowbody" }, messages(f.errors, "flow-errors"), stepBody(f));
  const done = f.step === "done";
  return h("section", { id: "flow", class: "screen", dataset: { kind: f.kind, step: f.step } },
    h("div", { class: "flowhead" },
      h("div", { class: "titles" },
        h("h1", { id: "flow-title" }, t("flow." + f.kind)),
        h("span", { id: "flow-step", class: "step" }, t("step." + f.step))),
      h("div", { class: "actions" },
        done || f.kind === "status" ? button({ id: "close", class: "primary", onclick: () => step("close").catch(() => {}) }, t("close"))
          : button({ id: "flow-cancel", onclick: () => req("flow.cancel").catch(() => {}) }, t("cancel")),
        headAction)),
    body,
    kbWanted ? kb.element() : null);
}

function kv(label, value, id) {
  return [h("dt", {}, label), h("dd", { id }, value === undefined || value === null ? "–" : String(value))];
}

function recipientLine(d) {
  if (!d.recipient) return null;
  return h("p", { class: "recipient" }, `${d.recipient.name}${d.recipient.personal_number ? " · " + d.recipient.personal_number : ""}`);
}

function stepBody(f) {
  const d = f.data || {};
  switch (f.step) {
    case "reason":
      return h("div", { id: "reasons", class: "menu" }, (d.reasons || []).map((r) =>
        button({ class: "tile", dataset: { reason: r.reason }, onclick: () => step("reason", { reason: r.reason }).catch(() => {}) },
          `${t("reason." + r.reason)} – ${r.days} ${t("days")}`)));
    case "recipient":
      return h("div", { class: "form" },
        d.reason ? h("p", {}, `${t("reason." + d.reason)} – ${d.days} ${t("days")}`) : null,
        kb.field("pnr", "f.pnr", "numeric", { hint: t("f.pnr.hint"), check: checkPnr }),
        // ID-4: staff without a Swedish number are found by their order.
        f.kind === "pickup" ? kb.field("order", "f.order", "upper", { hint: t("f.order.hint") }) : null,
        kb.field("name", "f.name", "text"),
        act(button({ id: "next", class: "primary", onclick: () => step("recipient", { personal_number: kb.value("pnr"), name: kb.value("name"),
          ...(f.kind === "pickup" ? { order_id: kb.value("order") } : {}) }).catch(() => {}) }, t("next"))),
        useKb());
    case "identity":
      return identityStep(f, d);
    case "manager":
      return managerStep(d);
    case "card":
      return h("div", {},
        recipientLine(d),
        h("p", { id: "drawer-hint", class: d.drawer_opened ? "ok" : "warning" }, d.drawer_opened ? t("drawer.opened") : t("drawer.open_first")),
        h("div", { id: "stock", class: "menu" }, (d.stock || []).map((c) =>
          button({ class: "tile", dataset: { serial: c.serial }, onclick: () => step("card", { serial: c.serial }).catch(() => {}) }, c.serial))));
    case "insert":
      return h("div", {},
        recipientLine(d),
        d.card ? h("p", {}, `${t("card.number")}: `, h("strong", { id: "card-number" }, d.card.number)) : null,
        f.kind === "pickup" ? h("p", { id: "drawer-hint", class: d.drawer_opened ? "ok" : "warning" }, d.drawer_opened ? t("drawer.opened") : t("drawer.open_first")) : null,
        h("p", { id: "insert-hint", class: "hint big" }, f.kind === "return" || f.kind === "extend" ? t("insert.own") : t("insert.hint")));
    case "preview":
      return f.kind === "return" ? returnPreview(d) : receiptPreview(d.preview || {}, true);
    case "sign":
      return signStep(d);
    case "done":
      return doneStep(f, d);
    case "request":
      return blockStep(d);
    case "scan":
      return h("div", { class: "form" },
        kb.field("serial", "f.serial", "upper"),
        button({ id: "add", class: "primary", onclick: () => step("add", { serial: kb.value("serial") }).then(() => kb.set("serial", "")).catch(() => {}) }, t("add")),
        h("ul", { id: "serials", class: "list" }, (d.serials || []).map((s) => h("li", {}, s))),
        act(button({ id: "commit", class: "primary", onclick: () => step("commit").catch(() => {}) }, t("commit.receive"))),
        useKb());
    case "count":
      return h("div", {},
        h("div", { id: "stock", class: "menu" }, (d.stock || []).map((c) =>
          button({ class: "tile", dataset: { serial: c.serial }, "aria-pressed": String((d.serials || []).includes(c.serial)),
            onclick: () => step("mark", { serial: c.serial }).catch(() => {}) }, `${c.serial} (${c.type})`))),
        act(button({ id: "commit", class: "primary", onclick: () => step("commit").catch(() => {}) }, t("commit.count"))));
    case "choose":
      return h("div", { id: "stock", class: "list" }, (d.stock || []).map((c) =>
        h("div", { class: "row" },
          h("span", {}, `${c.serial} · ${c.type} · ${c.state}${c.pickup_deadline ? " · " + c.pickup_deadline : ""}${c.pickup_expired ? " (CP-4)" : ""}`),
          button({ dataset: { void: c.serial }, onclick: () => step("void", { serial: c.serial }).catch(() => {}) }, t("void.button")))));
    case "void":
      return h("div", {}, recipientLine(d), d.card ? h("p", {}, `${t("card.number")}: ${d.card.number}`) : null,
        act(button({ id: "void", class: "primary", onclick: () => step("void").catch(() => {}) }, t("void.cp4"))));
    case "show":
      return statusScreen();
  }
  return h("p", {}, f.step);
}

function identityStep(f, d) {
  const tabs = h("div", { class: "buttons tabs" },
    button({ id: "id-doc", "aria-pressed": String(idMode === "doc"), onclick: () => { idMode = "doc"; kb.active = null; render(); } }, t("id.doc")),
    f.kind !== "pickup" ? button({ id: "id-att", "aria-pressed": String(idMode === "att"), onclick: () => { idMode = "att"; kb.active = null; render(); } }, t("id.att")) : null);
  let form;
  if (idMode === "doc") {
    form = h("div", { class: "form" },
      h("div", { class: "buttons choices" }, docTypes.concat(f.kind === "pickup" && d.recipient && d.recipient.hsa_id ? ["foreign_passport"] : []).map((k) =>
        button({ dataset: { doctype: k }, "aria-pressed": String(docType === k), onclick: () => { docType = k; render(); } }, t("doc." + k)))),
      kb.field("docnum", "f.docnum", "upper"),
      kb.field("docexp", "f.docexp", "numeric", { check: checkDate }),
      button({ id: "f-intact", "aria-pressed": String(intact), onclick: () => { intact = !intact; render(); } }, (intact ? "☑ " : "☐ ") + t("f.intact")),
      act(button({ id: "next", class: "primary", onclick: () => step("document", { type: docType, number: kb.value("docnum"), expiry: kb.value("docexp"), intact }).catch(() => {}) }, t("next"))),
      useKb());
  } else {
    const att = (n) => h("fieldset", { class: "att" }, h("legend", {}, `${t("att")} ${n}`),
      kb.field(`a${n}hsa`, "f.hsa", "upper", { check: checkHSA }),
      kb.field(`a${n}name`, "f.name", "text"),
      h("div", { class: "buttons choices" }, ["manager", "employer", "authorised_representative"].map((r) =>
        button({ dataset: { att: String(n), role: r }, "aria-pressed": String(roles[n] === r), onclick: () => { roles[n] = r; render(); } }, t("role." + r)))));
    form = h("div", { class: "form" },
      h("p", { class: "hint" }, t("id.att.hint")), att(1), att(2),
      act(button({ id: "next", class: "primary", onclick: () => {
        const list = [1, 2].filter((n) => kb.value(`a${n}hsa`) || kb.value(`a${n}name`))
          .map((n) => ({ hsa_id: kb.value(`a${n}hsa`), name: kb.value(`a${n}name`), role: roles[n] }));
        step("attestors", { attestors: list }).catch(() => {});
      } }, t("next"))),
      useKb());
  }
  return h("div", {}, recipientLine(d), factsLine(d), tabs, form);
}

const docTypes = ["swedish_passport", "swedish_driving_licence", "sis_id_card", "national_id_card", "tax_agency_id_card"];

// managerStep: the manager of staff without a Swedish number is present
// with a valid ID document of their own (ID-4).
function managerStep(d) {
  return h("div", {}, recipientLine(d),
    h("div", { class: "form" },
      h("p", { id: "manager-hint", class: "hint" }, t("manager.hint")),
      kb.field("mhsa", "f.hsa", "upper", { check: checkHSA }),
      kb.field("mname", "f.name", "text"),
      h("div", { class: "buttons choices" }, docTypes.map((k) =>
        button({ dataset: { mdoctype: k }, "aria-pressed": String(mgrDocType === k), onclick: () => { mgrDocType = k; render(); } }, t("doc." + k)))),
      kb.field("mdocnum", "f.docnum", "upper"),
      kb.field("mdocexp", "f.docexp", "numeric", { check: checkDate }),
      button({ id: "m-intact", "aria-pressed": String(mgrIntact), onclick: () => { mgrIntact = !mgrIntact; render(); } }, (mgrIntact ? "☑ " : "☐ ") + t("f.intact")),
      act(button({ id: "next", class: "primary", onclick: () => step("manager", { hsa_id: kb.value("mhsa"), name: kb.value("mname"),
        document: { type: mgrDocType, number: kb.value("mdocnum"), expiry: kb.value("mdocexp"), intact: mgrIntact } }).catch(() => {}) }, t("next"))),
      useKb()));
}

function factsLine(d) {
  if (!d.recipient) return null;
  return h("p", { id: "facts-age", class: "hint" }, d.facts_at ? `${t("facts.age")} ${d.facts_at}` : t("facts.never"));
}

function receiptPreview(p, withConfirm) {
  const doc = p.document;
  const rows = [
    ...kv("Kvittens", p.receipt_id, "pv-id"),
    ...kv("Mottagare", `${p.recipient_name || ""}${p.personal_number ? ", " + p.personal_number : ""}`, "pv-recipient"),
    ...kv("Kortnummer", p.card_number, "pv-card"),
    ...(p.reason ? kv("Orsak", sv("reason." + p.reason), "pv-reason") : []),
    ...kv("Giltigt", `${p.valid_from} – ${p.valid_through}${p.validity_days ? ` (${p.validity_days} dagar)` : ""}`, "pv-valid"),
    ...(doc ? kv("ID-handling", `${sv("doc." + doc.type)} ${doc.number}, giltig t.o.m. ${doc.expiry}`, "pv-doc") : []),
    ...((p.attestors || []).length ? kv(p.document ? "Närvarande chef" : "Intygsgivare", p.attestors.map((a) => `${a.name} (${a.hsa_id})`).join(", "), "pv-att") : []),
    ...kv("Kortadministratör", p.operator_name, "pv-op"),
    ...kv("Plats och tid", `${p.place}, ${p.at}`, "pv-at"),
    ...(p.expected_approval ? kv("Godkännande väntas", p.expected_approval, "pv-approval") : []),
  ];
  return h("div", {},
    h("div", { id: "preview", class: "receipt", lang: "sv" }, h("h2", {}, "Kvittens – förhandsgranskning"), h("dl", { class: "grid" }, rows)),
    withConfirm ? act(button({ id: "confirm", class: "primary", onclick: () => step("confirm").catch(() => {}) }, t("confirm"))) : null);
}

function signStep(d) {
  const signers = d.signers || [];
  if (!signer || !signers.find((s) => s.key === signer && !s.signed)) {
    const next = signers.find((s) => !s.signed);
    signer = next ? next.key : null;
  }
  pad.reset(signer);
  const all = signers.every((s) => s.signed);
  const current = signers.find((s) => s.key === signer);
  return h("div", {},
    h("ul", { id: "signers", class: "signers" }, signers.map((s) =>
      h("li", {}, button({ dataset: { signer: s.key, signed: String(s.signed) }, "aria-pressed": String(s.key === signer),
        onclick: () => { signer = s.key; pad.reset(s.key); render(); } },
      `${t("sign." + s.role)}${s.name ? ": " + s.name : ""} – ${s.signed ? t("sign.signed") : t("sign.missing")}`)))),
    current ? h("p", { id: "sign-who", class: "big" }, `${t("sign.who")} ${t("sign." + current.role)}${current.name ? " – " + current.name : ""}`) : null,
    current ? pad.element((data) => step("sign", { key: signer, ...data }).then(() => { pad.strokes = []; signer = null; }).catch(() => {})) : null,
    all ? act(button({ id: "complete", class: "primary", onclick: () => step("complete").catch(() => {}) }, t("complete"))) : null);
}

function doneStep(f, d) {
  const r = d.result || {};
  const lines = [];
  switch (f.kind) {
    case "issue": case "extend": case "pickup":
      if (r.voided) { lines.push(t("done.voided")); break; }
      lines.push(t("done.issued"), `${t("card.number")}: ${r.card_number}`, `Kvittens: ${r.receipt_id}`);
      if (r.expected_approval && f.kind !== "pickup") lines.push(`${t("approval")} ${r.expected_approval}`);
      if (r.activation) lines.push(text(r.activation));
      return h("div", { id: "result", class: "result" }, lines.map((l) => h("p", {}, l)),
        h("p", { id: "print-state", class: d.print_state === "failed" ? "warning" : "" }, t("print." + (d.print_state || "pending"))),
        d.print_state === "failed" ? button({ id: "reprint", onclick: () => step("reprint").catch(() => {}) }, t("print.again")) : null);
    case "return":
      lines.push(t("done.returned"), `${t("card.number")}: ${r.card_number}`);
      if (r.cut_and_return) lines.push(t("cut"));
      if (r.deviation) lines.push(t("deviation"));
      break;
    case "block":
      lines.push(t("done.blocked"), `${t("card.number")}: ${r.card_number}`);
      break;
    case "stock_receive":
      lines.push(`${r.received} ${t("done.received")}`);
      break;
    case "stock_count":
      lines.push(t("done.counted"), `${t("count.expected")}: ${r.expected}`, `${t("count.found")}: ${(r.found || []).length}`,
        `${t("count.missing")}: ${(r.missing || []).join(", ") || "–"}`, `${t("count.unexpected")}: ${(r.unexpected || []).join(", ") || "–"}`);
      break;
    case "stock_void":
      lines.push(t("done.voided"), `${t("card.number")}: ${r.card_number} (${r.rule})`);
      break;
  }
  return h("div", { id: "result", class: "result" }, lines.map((l) => h("p", {}, l)));
}

function returnPreview(d) {
  const r = d.return || {};
  return h("div", { id: "preview" },
    h("p", {}, t("return.preview")),
    d.card ? h("p", {}, `${t("card.number")}: ${d.card.number}`) : null,
    recipientLine(d),
    r.cut_and_return ? h("p", {}, t("cut")) : null,
    r.deviation ? h("p", { class: "warning" }, t("deviation")) : null,
    act(button({ id: "confirm", class: "primary", onclick: () => step("confirm").catch(() => {}) }, t("confirm.return"))));
}

function blockStep(d) {
  if (d.card && d.card.number && !kb.value("serial")) kb.set("serial", d.card.number);
  return h("div", { class: "form" },
    kb.field("serial", "f.serial", "upper"),
    h("div", { class: "buttons choices" }, ["lost", "stolen", "broken", "pin_puk_exposed", "employment_ended", "misused"].map((r) =>
      button({ dataset: { block: r }, "aria-pressed": String(blockReason === r), onclick: () => { blockReason = r; render(); } }, t("block." + r)))),
    act(button({ id: "next", class: "primary", onclick: () => step("request", { serial: kb.value("serial"), reason: blockReason }).catch(() => {}) }, t("next"))),
    useKb());
}

// localTime shows an instant to the minute in the station's time zone.
function localTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return d.toLocaleString("sv-SE", { timeZone: "Europe/Stockholm", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

function statusScreen() {
  const s = stationStatus;
  const hw = (snapshot && snapshot.hardware) || {};
  if (!s) return h("p", {}, "…");
  const reg = registryState(s);
  const stock = [];
  for (const [type, states] of Object.entries(s.stock || {})) {
    stock.push(`${t("ctype." + type)}: ` + Object.entries(states).map(([k, v]) => `${t("cstate." + k)} ${v}`).join(", "));
  }
  return h("dl", { id: "status-screen", class: "grid" },
    ...kv(t("status.registry"), (reg.reachable ? t("status.reachable") : t("status.unreachable")) + (reg.error ? ` (${reg.error})` : ""), "ss-registry"),
    ...kv(t("status.lastsync"), localTime(reg.last) || t("status.never"), "ss-lastsync"),
    ...kv(t("status.outbox"), s.outbox.queued, "ss-outbox"),
    ...kv(t("status.oldest"), localTime(s.outbox.oldest) || "–", "ss-oldest"),
    ...kv(t("status.drawer"), hw.drawer ? hwState(hw.drawer.state) : t("state.unknown"), "ss-drawer"),
    ...kv(t("status.printer"), hw.printer ? hwState(hw.printer.state) : t("state.unknown"), "ss-printer"),
    ...kv(t("status.stock"), stock.join("; ") || "–", "ss-stock"),
    ...kv(t("status.dataage"), dataAges(), "ss-dataage"),
    h("dt", {}, ""),
    h("dd", {}, button({ id: "sync-now", class: "primary", onclick: syncNow }, t("status.syncnow"))));
}

// hwState is a device state in the chosen language (the server's state
// word when there is no text for it).
function hwState(state) {
  const key = "hw." + state;
  const s = t(key);
  return s === key ? state : s;
}

// dataAges lists how old each kind of registry data is; stale kinds (past
// their maximum age, so issuing that needs them is refused) are marked.
function dataAges() {
  const sy = snapshot && snapshot.sync;
  if (!sy || !sy.data_age_seconds) return "–";
  const stale = new Set(sy.stale || []);
  return Object.entries(sy.data_age_seconds).sort(([a], [b]) => a.localeCompare(b)).map(([kind, age]) => {
    const label = t("refkind." + kind);
    const when = age < 0 ? t("status.never") : age < 3600 ? `${Math.round(age / 60)} min` : `${Math.round(age / 3600)} h`;
    return `${label}: ${when}${stale.has(kind) ? " ⚠ " + t("status.stale") : ""}`;
  }).join("; ");
}

// syncNow runs the same one-attempt sync as the schedule, now.
function syncNow() {
  const el = $("sync-now");
  if (el) el.disabled = true;
  conn.request("sync.now")
    .then(() => setTimeout(loadStationStatus, 500))
    .catch(toast)
    .finally(() => { const b = $("sync-now"); if (b) b.disabled = false; });
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
          if (view.flow && view.flow.kind === "status") render();
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

// Touches count as activity for the idle timeout (at most every 30 s).
let lastTouch = 0;
document.addEventListener("pointerdown", () => {
  const now = Date.now();
  if (view.state === "ready" && now - lastTouch > 30000) {
    lastTouch = now;
    conn.request("session.touch").catch(() => {});
  }
}, { capture: true });

buildDevPanel();
apply(document);
$("lang").textContent = t("lang.other");
window.kortstation = { conn };
