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

$("lang").addEventListener("click", () => {
  setLang(currentLang() === "sv" ? "en" : "sv");
  $("lang").textContent = t("lang.other");
  renderConn();
  render();
});

apply(document);
$("lang").textContent = t("lang.other");
window.kortstation = { conn };
