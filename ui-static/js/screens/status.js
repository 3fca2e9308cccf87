// Station status for the operator: the registry and the last sync, the
// queue, the devices, the stock, the age of the registry's data, and
// "Sync now". The station's status is asked for when the flow starts
// (and again after a sync) and lives with the screen.
import { t } from "../i18n.js";
import { h, button } from "../dom.js";
import { Step } from "../steps.js";
import { kv, hwState } from "./common.js";
import { createFlow } from "./frame.js";

export function create(ctx) {
  let status = null; // "status.station"'s answer
  let loading = false;

  function load() {
    loading = true;
    Promise.all([ctx.request("status.station"), ctx.request("status.get")])
      .then(([s, snap]) => { status = s; ctx.setSnapshot(snap); ctx.render(); })
      .catch(ctx.toast)
      .finally(() => { loading = false; });
  }

  // syncNow runs the same one-attempt sync as the schedule, now, and
  // follows it: "Synkar …" on the button and under it until the sync
  // engine reports an attempt after the tap, then its result.
  let sync = null; // {state: "running"|"ok"|"failed"|"slow", at}
  function syncNow() {
    const snap = ctx.snapshot();
    const before = (snap && snap.sync && snap.sync.last_attempt) || "";
    sync = { state: "running" };
    ctx.render();
    ctx.req("sync.now")
      .then(() => follow(before, Date.now() + 20000))
      .catch(() => { sync = null; ctx.render(); });
  }

  // follow waits for the sync engine to record an attempt other than the
  // one before the tap (it records each when it ends, with its result).
  function follow(before, until) {
    ctx.request("status.get").then((snap) => {
      ctx.setSnapshot(snap);
      const sy = snap.sync || {};
      if (sy.last_attempt && sy.last_attempt !== before) {
        const ok = !!sy.last_success && Date.parse(sy.last_success) >= Date.parse(sy.last_attempt);
        sync = ok ? { state: "ok", at: sy.last_success } : { state: "failed" };
        load();
        return;
      }
      if (Date.now() > until) { sync = { state: "slow" }; ctx.render(); return; }
      setTimeout(() => follow(before, until), 300);
    }).catch(() => { sync = { state: "failed" }; ctx.render(); });
  }

  function syncLine() {
    if (!sync) return h("p", { id: "sync-state", class: "sync-state", dataset: { announce: "", state: "" } });
    const words = { running: t("sync.running"), ok: `${t("sync.ok")} ${localTime(sync.at)}`, failed: t("sync.failed"), slow: t("sync.slow") };
    return h("p", { id: "sync-state", class: "sync-state" + (sync.state === "failed" ? " warning" : sync.state === "ok" ? " ok" : ""),
      dataset: { announce: "", state: sync.state } }, words[sync.state]);
  }

  function show() {
    const snapshot = ctx.snapshot();
    const s = status;
    const hw = (snapshot && snapshot.hardware) || {};
    if (!s) return h("p", {}, "…");
    const reg = registryState(snapshot, s);
    const stock = [];
    for (const [type, states] of Object.entries(s.stock || {})) {
      stock.push(`${t("ctype." + type)}: ` + Object.entries(states).map(([k, v]) => `${t("cstate." + k)} ${v}`).join(", "));
    }
    return h("dl", { id: "status-screen", class: "grid" },
      ...kv(t("status.registry"), (reg.reachable ? t("status.reachable") : t("status.unreachable")) + (reg.error ? ` (${t("status.error")})` : ""), "ss-registry"),
      ...kv(t("status.lastsync"), localTime(reg.last) || t("status.never"), "ss-lastsync"),
      ...kv(t("status.outbox"), s.outbox.queued, "ss-outbox"),
      ...kv(t("status.oldest"), localTime(s.outbox.oldest) || "–", "ss-oldest"),
      ...kv(t("status.drawer"), hw.drawer ? hwState(hw.drawer.state) : t("state.unknown"), "ss-drawer"),
      ...kv(t("status.printer"), hw.printer ? hwState(hw.printer.state) : t("state.unknown"), "ss-printer"),
      ...kv(t("status.disk"), hw.disk ? hwState("disk_" + hw.disk.state) : t("state.unknown"), "ss-disk"),
      ...kv(t("status.stock"), stock.join("; ") || "–", "ss-stock"),
      ...kv(t("status.dataage"), dataAges(snapshot), "ss-dataage"),
      ...updateLine(snapshot),
      h("dt", {}, ""),
      h("dd", {}, button({ id: "sync-now", class: "primary", disabled: !!sync && sync.state === "running", "aria-busy": sync && sync.state === "running" ? "true" : undefined,
        onclick: syncNow }, sync && sync.state === "running" ? [h("span", { class: "spinner", "aria-hidden": "true" }), t("busy.sync-now")] : t("status.syncnow")), syncLine()));
  }

  const flow = createFlow(ctx, { [Step.Show]: () => ({ body: show() }) }, { close: true });
  return {
    render(view) {
      if (!status && !loading) load();
      return flow.render(view);
    },
  };
}

// registryState prefers the sync engine's own account (its last attempt
// and success) and falls back to the age of the last completed pull.
function registryState(snapshot, s) {
  const sy = snapshot && snapshot.sync;
  if (sy && (sy.last_attempt || sy.last_success)) {
    const ok = !!sy.last_success && (!sy.last_attempt || Date.parse(sy.last_success) >= Date.parse(sy.last_attempt));
    return { reachable: ok, last: sy.last_success, error: ok ? "" : sy.last_error || "" };
  }
  return { reachable: s.registry.reachable, last: s.registry.last_sync, error: "" };
}

// updateLine is one quiet line when an update waits for the night (or is
// being installed); nothing otherwise.
function updateLine(snapshot) {
  const u = snapshot && snapshot.sync && snapshot.sync.update;
  if (!u || !u.version) return [];
  const words = u.state === "installing" ? t("status.update.installing") : t("status.update.pending");
  return kv(t("status.update"), words.replace("{version}", u.version), "ss-update");
}

// localTime shows an instant to the minute in the station's time zone.
function localTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return d.toLocaleString("sv-SE", { timeZone: "Europe/Stockholm", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

// dataAges lists how old each kind of registry data is; stale kinds (past
// their maximum age, so issuing that needs them is refused) are marked.
function dataAges(snapshot) {
  const sy = snapshot && snapshot.sync;
  if (!sy || !sy.data_age_seconds) return "–";
  const stale = new Set(sy.stale || []);
  return Object.entries(sy.data_age_seconds).sort(([a], [b]) => a.localeCompare(b)).map(([kind, age]) => {
    const label = t("refkind." + kind);
    const when = age < 0 ? t("status.never") : age < 3600 ? `${Math.round(age / 60)} min` : `${Math.round(age / 3600)} h`;
    return `${label}: ${when}${stale.has(kind) ? " ⚠ " + t("status.stale") : ""}`;
  }).join("; ");
}
