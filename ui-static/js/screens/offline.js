// The station's offline state (README "Days offline"): since when the
// registry has not been reached and when issuing stops without it. Shown on
// the lock and home screens; the counter decides when (OfflineView).
import { t } from "../i18n.js";
import { h } from "../dom.js";

// when shows an instant to the minute, weekday first, in the station's
// time zone: "fre 28/11 17:02".
function when(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "";
  const lang = document.documentElement.lang === "en" ? "en-GB" : "sv-SE";
  return d.toLocaleString(lang, { timeZone: "Europe/Stockholm", weekday: "short", day: "numeric", month: "numeric", hour: "2-digit", minute: "2-digit" });
}

function fill(key, vals) {
  return t(key).replace(/\{(\w+)\}/g, (_, k) => vals[k] ?? "");
}

// offlineBanner is nil while the registry's data is recent.
export function offlineBanner(view) {
  const o = view && view.offline;
  if (!o) return null;
  const lines = [];
  lines.push(o.since ? fill("offline.since", { since: when(o.since), hours: String(o.hours) }) : t("offline.never"));
  if (o.stopped) lines.push(t("offline.stopped"));
  else if (o.issuing_until) lines.push(fill(o.warn ? "offline.warn" : "offline.until", { until: when(o.issuing_until) }));
  const urgent = o.stopped || o.warn;
  return h("div", { id: "offline", class: urgent ? "offline urgent" : "offline", role: urgent ? "alert" : "status", dataset: { limit: o.limit || "", warn: String(!!o.warn), stopped: String(!!o.stopped) } },
    lines.map((l) => h("p", {}, l)));
}
