// Pickup of an ordered card (ID-3): the recipient (or, for staff without
// a Swedish number, their order, ID-4), their ID document, the manager
// present with their own ID (ID-4), the card from the drawer into the
// reader, the receipt, the signatures, the result; an order past its
// pickup deadline is voided instead (CP-4).
import { t } from "../i18n.js";
import { h, button } from "../dom.js";
import { Keyboard } from "../keyboard.js";
import { Step, Action } from "../steps.js";
import { recipientLine } from "./common.js";
import { checkDate, checkHSA } from "./checks.js";
import { createFlow, primary } from "./frame.js";
import { DocTypes, createIdentity } from "./identity.js";
import { createFind } from "./find.js";
import { cardStep, insertStep } from "./card.js";
import { previewStep, issuedStep } from "./receipt.js";
import { createSign } from "./sign.js";

export function create(ctx) {
  const kb = new Keyboard();
  // A recipient without a Swedish number (found by HSA-id) shows a foreign passport (ID-4).
  const identity = createIdentity(ctx, kb, { attestors: false, extraDocTypes: (d) => (d.recipient && d.recipient.hsa_id ? ["foreign_passport"] : []) });
  const sign = createSign(ctx);
  const manager = createManager(ctx, kb);
  const find = createFind(ctx, kb);
  return createFlow(ctx, {
    [Step.Recipient]: (d, f) => find.render(d, f),
    [Step.Identity]: (d) => withNoDocument(ctx, d, identity.render(d)),
    [Step.Manager]: (d) => manager.render(d),
    [Step.Card]: (d) => cardStep(ctx, d),
    [Step.Insert]: (d) => insertStep(d, { drawer: true }),
    [Step.Preview]: (d) => withHandIn(ctx, d, previewStep(ctx, d)),
    [Step.Sign]: (d) => sign.render(d),
    [Step.Done]: (d) => withHandedIn(d, issuedStep(ctx, d, { approval: false })),
    [Step.Void]: (d) => ({
      body: h("div", {}, recipientLine(d), d.card ? h("p", {}, `${t("card.number")}: ${d.card.number}`) : null),
      action: primary("void", t("void.cp4"), () => ctx.step(Action.Void).catch(() => {})),
    }),
  }, { kb });
}

// createManager is the manager step (ID-4): the manager of staff without
// a Swedish number is present with a valid ID document of their own.
function createManager(ctx, kb) {
  let docType = "swedish_passport";
  let intact = true;
  return {
    render(d) {
      return {
        body: h("div", {}, recipientLine(d),
          h("div", { class: "form" },
            h("p", { id: "manager-hint", class: "hint" }, t(d.ground === "no_valid_document" ? "pickup.nodoc.hint" : "manager.hint")),
            kb.field("mhsa", "f.hsa", "upper", { check: checkHSA }),
            kb.field("mname", "f.name", "text"),
            h("div", { class: "buttons choices" }, DocTypes.map((k) =>
              button({ dataset: { mdoctype: k }, "aria-pressed": String(docType === k), onclick: () => { docType = k; ctx.render(); } }, t("doc." + k)))),
            kb.field("mdocnum", "f.docnum", "upper"),
            kb.field("mdocexp", "f.docexp", "numeric", { check: checkDate }),
            button({ id: "m-intact", "aria-pressed": String(intact), onclick: () => { intact = !intact; ctx.render(); } }, (intact ? "☑ " : "☐ ") + t("f.intact")))),
        action: primary("next", t("next"), () => ctx.step(Action.Manager, { hsa_id: kb.value("mhsa"), name: kb.value("mname"),
          document: { type: docType, number: kb.value("mdocnum"), expiry: kb.value("mdocexp"), intact } }).catch(() => {})),
        keyboard: true,
      };
    },
  };
}

// withNoDocument offers, for a recipient with a Swedish number, the path
// without an ID document: their manager is present with a valid ID of
// their own and signs (seed 003, ID-6).
function withNoDocument(ctx, d, s) {
  if (d.recipient && d.recipient.personal_number) {
    s.body.append(h("p", {}, button({ id: "no-document", onclick: () => ctx.step(Action.NoDocument).catch(() => {}) }, t("pickup.nodoc"))));
  }
  return s;
}

// withHandIn lets the operator mark the old card the recipient hands in
// with the new one (seed 003); it is voided when the pickup completes.
function withHandIn(ctx, d, s) {
  if (d.ground === "no_valid_document") {
    s.body.append(h("p", { id: "pv-ground", class: "hint" }, t("pickup.nodoc.preview")));
  }
  const cards = d.old_cards || [];
  if (!cards.length) return s;
  s.body.append(h("div", { id: "hand-in", class: "form" },
    h("h2", {}, t("pickup.handin")),
    h("p", { class: "hint" }, t("pickup.handin.hint")),
    h("div", { class: "buttons choices" }, cards.map((c) => {
      const on = d.handed_in === c.number;
      return button({ dataset: { handin: c.number }, "aria-pressed": String(on),
        onclick: () => ctx.step(Action.HandIn, { serial: on ? "" : c.number }).catch(() => {}) }, `${t("ctype." + c.type)} ${c.number}`);
    }))));
  return s;
}

// withHandedIn says what to do with the old card handed in.
function withHandedIn(d, s) {
  if (d.handed_in) s.body.append(h("p", { id: "handed-in", class: "warning" }, `${t("pickup.handin.done")} ${d.handed_in}`));
  return s;
}
