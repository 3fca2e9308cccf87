// Pieces several screens show: the rules' messages, a definition row, the
// recipient's line, the drawer hint, a device state in words.
import { t, text } from "../i18n.js";
import { h } from "../dom.js";

// messages lists the refusals' messages (hidden and empty when none): what
// is wrong and what to do, in the chosen language. The rule's ID is not
// shown (it is in the audit log); it stays in data-rule for tests and
// tools. The list is not a live region: the app announces a new refusal
// once in its assertive region (app.js).
export function messages(list, id) {
  if (!list || !list.length) return h("div", { id, class: "errors", hidden: true });
  const seen = new Set(); // one line per message, however often it came
  const items = list.filter((m) => { const k = text(m.text); if (seen.has(k)) return false; seen.add(k); return true; });
  return h("div", { id, class: "errors" },
    h("ul", {}, items.map((m) => h("li", { dataset: { rule: m.rule || "", key: m.key || "" } }, text(m.text)))));
}

// kv is one <dt>/<dd> pair.
export function kv(label, value, id) {
  return [h("dt", {}, label), h("dd", { id }, value === undefined || value === null ? "–" : String(value))];
}

export function recipientLine(d) {
  if (!d.recipient) return null;
  return h("p", { class: "recipient" }, `${d.recipient.name}${d.recipient.personal_number ? " · " + d.recipient.personal_number : ""}`);
}

// factsLine says how old the registry's facts about the recipient are.
export function factsLine(d) {
  if (!d.recipient) return null;
  return h("p", { id: "facts-age", class: "hint" }, d.facts_at ? `${t("facts.age")} ${d.facts_at}` : t("facts.never"));
}

// drawerHint says whether the drawer has been opened in this flow (RC-7).
export function drawerHint(d) {
  return h("p", { id: "drawer-hint", class: d.drawer_opened ? "ok" : "warning" }, d.drawer_opened ? t("drawer.opened") : t("drawer.open_first"));
}

// hwState is a device state in the chosen language (the server's state
// word when there is no text for it).
export function hwState(state) {
  const key = "hw." + state;
  const s = t(key);
  return s === key ? state : s;
}

// resultStep is a done step of plain lines.
export function resultStep(lines) {
  return { body: h("div", { id: "result", class: "result" }, lines.map((l) => h("p", {}, l))) };
}
