// The forms that say who is at the counter: the recipient (issue, pickup)
// and their identification (issue, pickup, extend) by an ID document or,
// where allowed, two attestors.
import { t } from "../i18n.js";
import { h, button } from "../dom.js";
import { Action } from "../steps.js";
import { recipientLine, factsLine } from "./common.js";
import { checkPnr, checkDate, checkHSA } from "./checks.js";
import { primary } from "./frame.js";

// DocTypes are the ID documents every flow accepts.
export const DocTypes = ["swedish_passport", "swedish_driving_licence", "sis_id_card", "national_id_card", "tax_agency_id_card"];

// recipientStep types the recipient's personal number and name; with
// order (pickup, ID-4) also an order number, for staff without a Swedish
// number.
export function recipientStep(ctx, kb, d, { order = false } = {}) {
  return {
    body: h("div", { class: "form" },
      d.reason ? h("p", {}, `${t("reason." + d.reason)} – ${d.days} ${t("days")}`) : null,
      kb.field("pnr", "f.pnr", "numeric", { hint: t("f.pnr.hint"), check: checkPnr }),
      order ? kb.field("order", "f.order", "upper", { hint: t("f.order.hint") }) : null,
      kb.field("name", "f.name", "text")),
    action: primary("next", t("next"), () => ctx.step(Action.Recipient, { personal_number: kb.value("pnr"), name: kb.value("name"),
      ...(order ? { order_id: kb.value("order") } : {}) }).catch(() => {})),
    keyboard: true,
  };
}

// createIdentity is the identification step's form and what it holds
// between renders: document or attestors, the document's type and
// whether it is intact, the attestors' roles. attestors: the attestor
// tab is offered; extraDocTypes(d): document types added for this
// recipient.
export function createIdentity(ctx, kb, { attestors = true, extraDocTypes = () => [] } = {}) {
  let mode = "doc";
  let docType = "swedish_passport";
  let intact = true;
  const roles = { 1: "manager", 2: "manager" };
  // ID-6: attestation only when the recipient has no valid ID document;
  // the operator records it, never pre-ticked.
  let noDocument = false;

  const tab = (id, m, label) => button({ id, "aria-pressed": String(mode === m), onclick: () => { mode = m; kb.active = null; ctx.render(); } }, t(label));

  function documentForm(d) {
    return {
      body: h("div", { class: "form" },
        h("div", { class: "buttons choices" }, DocTypes.concat(extraDocTypes(d)).map((k) =>
          button({ dataset: { doctype: k }, "aria-pressed": String(docType === k), onclick: () => { docType = k; ctx.render(); } }, t("doc." + k)))),
        kb.field("docnum", "f.docnum", "upper"),
        kb.field("docexp", "f.docexp", "numeric", { check: checkDate }),
        button({ id: "f-intact", "aria-pressed": String(intact), onclick: () => { intact = !intact; ctx.render(); } }, (intact ? "☑ " : "☐ ") + t("f.intact"))),
      action: primary("next", t("next"), () => ctx.step(Action.Document, { type: docType, number: kb.value("docnum"), expiry: kb.value("docexp"), intact }).catch(() => {})),
    };
  }

  function attestorForm() {
    const att = (n) => h("fieldset", { class: "att" }, h("legend", {}, `${t("att")} ${n}`),
      kb.field(`a${n}hsa`, "f.hsa", "upper", { check: checkHSA }),
      kb.field(`a${n}name`, "f.name", "text"),
      h("div", { class: "buttons choices" }, ["manager", "employer", "authorised_representative"].map((r) =>
        button({ dataset: { att: String(n), role: r }, "aria-pressed": String(roles[n] === r), onclick: () => { roles[n] = r; ctx.render(); } }, t("role." + r)))));
    return {
      body: h("div", { class: "form" }, h("p", { class: "hint" }, t("id.att.hint")),
        button({ id: "f-ground", "aria-pressed": String(noDocument), onclick: () => { noDocument = !noDocument; ctx.render(); } },
          (noDocument ? "☑ " : "☐ ") + t("f.ground.nodoc")),
        att(1), att(2)),
      action: primary("next", t("next"), () => {
        const list = [1, 2].filter((n) => kb.value(`a${n}hsa`) || kb.value(`a${n}name`))
          .map((n) => ({ hsa_id: kb.value(`a${n}hsa`), name: kb.value(`a${n}name`), role: roles[n] }));
        ctx.step(Action.Attestors, { attestors: list, ground: noDocument ? "no_valid_document" : "" }).catch(() => {});
      }),
    };
  }

  return {
    render(d) {
      const tabs = h("div", { class: "buttons tabs" },
        tab("id-doc", "doc", "id.doc"),
        attestors ? tab("id-att", "att", "id.att") : null);
      const form = mode === "doc" ? documentForm(d) : attestorForm();
      return { body: h("div", {}, recipientLine(d), factsLine(d), tabs, form.body), action: form.action, keyboard: true };
    },
  };
}
