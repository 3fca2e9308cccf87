// The receipt of an issuance, extension or pickup: its preview before
// signing (always in Swedish, as printed) and the result when done.
import { t, sv, text } from "../i18n.js";
import { h, button } from "../dom.js";
import { Action } from "../steps.js";
import { kv, resultStep } from "./common.js";
import { primary } from "./frame.js";

// previewStep shows the receipt to be signed and the button confirming it.
export function previewStep(ctx, d) {
  const p = d.preview || {};
  const doc = p.document;
  const rows = [
    ...kv("Kvittens", p.receipt_id, "pv-id"),
    ...kv("Mottagare", `${p.recipient_name || ""}${p.personal_number ? ", " + p.personal_number : ""}`, "pv-recipient"),
    ...kv("Kortnummer", p.card_number, "pv-card"),
    ...(p.reason ? kv("Orsak", sv("reason." + p.reason), "pv-reason") : []),
    ...kv("Giltigt", `${p.valid_from} – ${p.valid_through}${p.validity_days ? ` (${p.validity_days} dagar)` : ""}`, "pv-valid"),
    ...(doc ? kv("ID-handling", `${sv("doc." + doc.type)} ${doc.number}, giltig t.o.m. ${doc.expiry}`, "pv-doc") : []),
    ...((p.attestors || []).length ? kv(p.document || d.ground === "no_valid_document" ? "Närvarande chef" : "Intygsgivare", p.attestors.map((a) => `${a.name} (${a.hsa_id})`).join(", "), "pv-att") : []),
    ...kv("Kortadministratör", p.operator_name, "pv-op"),
    ...kv("Plats och tid", `${p.place}, ${p.at}`, "pv-at"),
    ...(p.expected_approval ? kv("Godkännande väntas", p.expected_approval, "pv-approval") : []),
  ];
  return {
    body: h("div", {},
      h("div", { id: "preview", class: "receipt", lang: "sv" }, h("h2", {}, "Kvittens – förhandsgranskning"), h("dl", { class: "grid" }, rows))),
    action: primary("confirm", t("confirm"), () => ctx.step(Action.Confirm).catch(() => {})),
  };
}

// issuedStep is the done step of an issuance, extension or pickup: the
// card, the receipt, the expected approval (approval), the print state
// and a reprint when printing failed (RE-3).
export function issuedStep(ctx, d, { approval = true } = {}) {
  const r = d.result || {};
  const lines = [];
  if (r.voided) return resultStep([t("done.voided")]);
  lines.push(t("done.issued"), `${t("card.number")}: ${r.card_number}`, `Kvittens: ${r.receipt_id}`);
  if (r.expected_approval && approval) lines.push(`${t("approval")} ${r.expected_approval}`);
  if (r.activation) lines.push(text(r.activation));
  // The print state is said once, under the receipt's number: "utskriven"
  // only when it is, the failure with what to do and "Skriv ut igen".
  const failed = d.print_state === "failed";
  return {
    body: h("div", { id: "result", class: "result" }, lines.map((l) => h("p", {}, l)),
      h("p", { id: "print-state", class: failed ? "warning" : "", dataset: { state: d.print_state || "pending", announce: "" } }, t("print." + (d.print_state || "pending"))),
      failed ? button({ id: "reprint", class: "primary", onclick: () => ctx.step(Action.Reprint).catch(() => {}) }, t("print.again")) : null),
  };
}
