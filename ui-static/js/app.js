import { Conn } from "./conn.js";
import { t, text, apply, setLang, currentLang } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let snapshot = null;
let connState = "connecting";

function renderConn() {
  const el = $("conn");
  el.dataset.state = connState;
  el.textContent = t("conn." + connState);
}

function render() {
  if (!snapshot) return;
  $("station-name").textContent = snapshot.station.name;
  const hw = snapshot.hardware || {};
  for (const dev of ["reader", "drawer", "printer"]) {
    const d = hw[dev];
    $("st-" + dev).textContent = d ? d.state + (d.detail ? ` (${d.detail})` : "") : t("state.unknown");
  }
  $("st-outbox").textContent = String(snapshot.outbox);
  $("clock-warning").hidden = !snapshot.clock.blocking;
  $("devpanel").hidden = !snapshot.simulation;
}

function toast(problem) {
  const el = $("toast");
  el.textContent = text(problem.text) || problem.key;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 6000);
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
        render();
        break;
      case "event":
        if (msg.payload.topic.startsWith("device.") && snapshot) {
          snapshot.hardware[msg.payload.data.device] = msg.payload.data.state;
          render();
        } else {
          conn.request("status.get").then((s) => { snapshot = s; render(); }).catch(toast);
        }
        break;
      case "error":
        toast(msg.payload);
        break;
    }
  },
});

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
}

$("lang").addEventListener("click", () => {
  setLang(currentLang() === "sv" ? "en" : "sv");
  $("lang").textContent = t("lang.other");
  renderConn();
  render();
});

buildDevPanel();
apply(document);
$("lang").textContent = t("lang.other");
window.kortstation = { conn };
