// The forms that say who is at the counter: the recipient (issue, pickup)
// and their identification (issue, pickup, extend) by an ID document or,
// where allowed, two attestors.
import { t } from "../i18n.js";
import { h, button } from "../dom.js";
import { Action } from "../steps.js";
import { recipientLine, factsLine } from "./common.js";
import { checkDate, checkHSA } from "./checks.js";
import { primary } from "./frame.js";
import { keypad } from "../keyboard.js";
import { brief } from "./find.js";

// DocTypes are the ID documents every flow accepts.
export const DocTypes = ["swedish_passport", "swedish_driving_licence", "sis_id_card", "national_id_card", "tax_agency_id_card"];

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
  // The attestors proven by their cards: the roles the operator chose; and
  // the digits of an attestor's PIN until sent.
  const cardRoles = [];
  let attPin = "";

  const tab = (id, m, label) => button({ id, "aria-pressed": String(mode === m), onclick: () => { mode = m; kb.active = null; ctx.render(); } }, t(label));

  // sameDocument offers the ID document the station checked for this
  // person last time (find.js): one tap fills it in, the operator compares
  // it with the document shown.
  function sameDocument(d) {
    const doc = d.found && d.found.document;
    if (!doc || !DocTypes.concat(extraDocTypes(d)).includes(doc.type)) return null;
    return h("div", { class: "samedoc" },
      button({ id: "f-samedoc", onclick: () => { docType = doc.type; kb.set("docnum", doc.number); kb.set("docexp", doc.expiry); kb.active = null; ctx.render(); } },
        `${t("doc.same")}: ${t("doc." + doc.type)} ${doc.number}, ${doc.expiry}`),
      h("p", { class: "hint" }, t("doc.same.hint")));
  }

  function documentForm(d) {
    return {
      body: h("div", { class: "form" },
        h("div", { class: "buttons choices" }, DocTypes.concat(extraDocTypes(d)).map((k) =>
          button({ dataset: { doctype: k }, "aria-pressed": String(docType === k), onclick: () => { docType = k; ctx.render(); } }, t("doc." + k)))),
        sameDocument(d),
        kb.field("docnum", "f.docnum", "upper"),
        kb.field("docexp", "f.docexp", "numeric", { check: checkDate }),
        button({ id: "f-intact", "aria-pressed": String(intact), onclick: () => { intact = !intact; ctx.render(); } }, (intact ? "☑ " : "☐ ") + t("f.intact"))),
      action: primary("next", t("next"), () => ctx.step(Action.Document, { type: docType, number: kb.value("docnum"), expiry: kb.value("docexp"), intact }).catch(() => {})),
    };
  }

  // attestorForm: each attestor puts their own SITHS card in the card
  // reader and types their PIN here (AT-1); their name and HSA-ID come
  // from the card. Where the station's policy allows it, the operator may
  // type attestors in instead (marked unverified).
  function attestorForm(d) {
    const cards = d.attestor_cards || [];
    const login = d.attestor_login;
    const role = (i, r) => button({ dataset: { cardatt: String(i + 1), role: r }, "aria-pressed": String((cardRoles[i] || "manager") === r),
      onclick: () => { cardRoles[i] = r; ctx.render(); } }, t("role." + r));
    const listed = h("ol", { id: "att-cards", class: "attcards" }, cards.map((a, i) =>
      h("li", {}, h("strong", {}, a.name), ` ${a.hsa_id} – ${t("att.verified")}`,
        h("div", { class: "buttons choices" }, ["manager", "employer", "authorised_representative"].map((r) => role(i, r))))));
    let pinPad = null;
    if (login) {
      const dots = h("div", { id: "att-pin-dots", class: "pindots", "aria-live": "polite" }, "•".repeat(attPin.length) || "\u00a0");
      const submit = () => {
        const p = attPin;
        attPin = "";
        ctx.render();
        ctx.step(Action.AttestorPin, { pin: p }).catch(() => {});
      };
      pinPad = h("div", { id: "att-pin", class: "attpin" },
        h("p", { id: "att-pin-title" }, `${t("att.pin")} – ${login.name} (${login.retries >= 0 ? login.retries : "–"} ${t("pin.retries")})`),
        dots,
        keypad((dg) => { if (attPin.length < 8) { attPin += dg; dots.textContent = "•".repeat(attPin.length); } },
          () => { attPin = attPin.slice(0, -1); dots.textContent = "•".repeat(attPin.length) || "\u00a0"; }, submit));
    }
    const typed = d.typed_attestors ? [1, 2].slice(cards.length).map((n) => h("fieldset", { class: "att" }, h("legend", {}, `${t("att")} ${n} – ${t("att.typed")}`),
      kb.field(`a${n}hsa`, "f.hsa", "upper", { check: checkHSA }),
      kb.field(`a${n}name`, "f.name", "text"),
      h("div", { class: "buttons choices" }, ["manager", "employer", "authorised_representative"].map((r) =>
        button({ dataset: { att: String(n), role: r }, "aria-pressed": String(roles[n] === r), onclick: () => { roles[n] = r; ctx.render(); } }, t("role." + r)))))) : [];
    if (pinPad) {
      // The attestor at the card reader types their PIN: the pad alone,
      // in view at 800×480.
      return { body: h("div", { class: "form" }, pinPad), action: null, keyboard: false };
    }
    return {
      body: h("div", { class: "form" },
        h("p", { class: "hint", id: "att-hint" }, cards.length >= 2 ? t("att.done") : t("att.card.hint")),
        button({ id: "f-ground", "aria-pressed": String(noDocument), onclick: () => { noDocument = !noDocument; ctx.render(); } },
          (noDocument ? "☑ " : "☐ ") + t("f.ground.nodoc")),
        listed, pinPad, ...typed),
      // With the attestors verified, the primary action records the
      // ground itself (ID-6) when the box is not ticked: its label says so.
      action: primary("next", !noDocument && cards.length >= 2 && !d.typed_attestors ? t("att.next.nodoc") : t("next"), () => {
        if (cards.length >= 2 && !d.typed_attestors) noDocument = true;
        const list = d.typed_attestors ? [1, 2].slice(cards.length).filter((n) => kb.value(`a${n}hsa`) || kb.value(`a${n}name`))
          .map((n) => ({ hsa_id: kb.value(`a${n}hsa`), name: kb.value(`a${n}name`), role: roles[n] })) : [];
        ctx.step(Action.Attestors, { roles: cards.map((_, i) => cardRoles[i] || "manager"), attestors: list, ground: noDocument ? "no_valid_document" : "" }).catch(() => {});
      }),
      keyboard: !login && typed.length > 0,
    };
  }

  return {
    render(d) {
      // An attestor's card in the reader means attestation.
      if (d.attestor_login || (d.attestor_cards || []).length) mode = "att";
      const tabs = h("div", { class: "buttons tabs" },
        tab("id-doc", "doc", "id.doc"),
        attestors ? tab("id-att", "att", "id.att") : null);
      const form = mode === "doc" ? documentForm(d) : attestorForm(d);
      if (mode === "att" && d.attestor_login) return form;
      return { body: h("div", {}, recipientLine(d), brief(d.found), factsLine(d), tabs, form.body), action: form.action, keyboard: form.keyboard !== false };
    },
  };
}
