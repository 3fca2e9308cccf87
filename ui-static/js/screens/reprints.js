// The receipts to reprint, on the home screen: receipts whose printing
// failed, or was interrupted when the station stopped (a crash, a power
// cut). Each prints the stored receipt once, byte for byte (RE-3); the list
// shows no personal data, only the receipt, the card number and the time.
import { t, currentLang } from "../i18n.js";
import { h, button } from "../dom.js";

// reprints renders the list, or nothing when it is empty.
export function reprints(ctx, list) {
  if (!list || !list.length) return null;
  return h("section", { id: "reprints", class: "reprints", role: "region", "aria-labelledby": "reprints-title" },
    h("h2", { id: "reprints-title" }, t("reprints.title")),
    h("p", { class: "hint" }, t("reprints.hint")),
    h("ul", {}, list.map((r) => h("li", { dataset: { receipt: r.receipt_id } },
      h("span", {}, `${r.receipt_id} · ${t("card.number")} ${r.card} · ${new Date(r.signed_at).toLocaleString(currentLang() === "en" ? "en-GB" : "sv-SE")}`),
      " ",
      button({ class: "reprint", dataset: { receipt: r.receipt_id }, onclick: () => ctx.req("receipt.reprint", { receipt_id: r.receipt_id }).catch(() => {}) }, t("print.again"))))));
}
