// The signature step: the signers (recipient, operator, attestors or the
// manager), the one signing now and their pad. The pad's strokes and the
// chosen signer live here between renders.
//
// When the recipient cannot sign, the operator records it with a reason
// from a short list (no health details) and an attestor confirms with
// their own SITHS card in the card reader and their PIN; the statement
// then stands in place of the recipient's signature.
import { t } from "../i18n.js";
import { h, button } from "../dom.js";
import { SignaturePad } from "../signature.js";
import { Action } from "../steps.js";
import { keypad } from "../keyboard.js";
import { primary } from "./frame.js";

export function createSign(ctx) {
  const pad = new SignaturePad();
  let signer = null;
  // redo: the signer chosen to sign again (a saved signature is replaced
  // until the receipt is completed).
  let redo = null;
  // choosing: the operator is choosing why the recipient cannot sign.
  let choosing = false;
  let attPin = "";

  // statementPanel: the recorded statement, what to do next, and undo.
  function statementPanel(d) {
    const ns = d.no_signature;
    const confirmed = ns.confirmed_by;
    return h("div", { id: "nosign", class: "nosign" },
      h("p", { id: "nosign-reason", class: "big" }, `${t("nosign.recorded")} ${t("nosign.reason." + ns.reason)}`),
      confirmed
        ? h("p", { id: "nosign-confirmed" }, `${t("nosign.confirmed")} ${confirmed.name} (${confirmed.hsa_id})`)
        : h("p", { id: "nosign-hint", class: "hint" }, t("nosign.confirm")),
      button({ id: "nosign-withdraw", onclick: () => { choosing = false; ctx.step(Action.NoSignature, { withdraw: true }).catch(() => {}); } }, t("nosign.withdraw")));
  }

  // reasonChoice: the short list of reasons, one tap each.
  function reasonChoice(d) {
    return h("div", { id: "nosign-choose", class: "nosign" },
      h("p", { id: "nosign-choose-title" }, t("nosign.choose")),
      h("div", { class: "buttons choices" }, (d.no_signature_reasons || []).map((r) =>
        button({ dataset: { nosignReason: r }, onclick: () => {
          choosing = false;
          ctx.step(Action.NoSignature, { reason: r }).then(() => { signer = null; redo = null; pad.strokes = []; ctx.render(); }).catch(() => {});
        } }, t("nosign.reason." + r)))),
      button({ id: "nosign-cancel", onclick: () => { choosing = false; ctx.render(); } }, t("cancel")));
  }

  return {
    render(d) {
      // The attestor who confirms types their PIN: the pad alone, in view
      // at 800×480.
      if (d.no_signature && d.attestor_login) {
        const login = d.attestor_login;
        const dots = h("div", { id: "att-pin-dots", class: "pindots", "aria-live": "polite" }, "•".repeat(attPin.length) || "\u00a0");
        const submit = () => {
          const p = attPin;
          attPin = "";
          ctx.render();
          ctx.step(Action.AttestorPin, { pin: p }).catch(() => {});
        };
        return {
          body: h("div", { class: "form" }, h("div", { id: "att-pin", class: "attpin" },
            h("p", { id: "att-pin-title" }, `${t("nosign.pin")} – ${login.name} (${login.retries >= 0 ? login.retries : "–"} ${t("pin.retries")})`),
            dots,
            keypad((dg) => { if (attPin.length < 8) { attPin += dg; dots.textContent = "•".repeat(attPin.length); } },
              () => { attPin = attPin.slice(0, -1); dots.textContent = "•".repeat(attPin.length) || "\u00a0"; }, submit))),
          action: null, keyboard: false,
        };
      }
      attPin = "";
      const signers = d.signers || [];
      const padless = (s) => s.signed || !!s.statement; // a statement needs no pad
      if (redo && signers.find((s) => s.key === redo && !s.statement)) signer = redo;
      else if (!signer || !signers.find((s) => s.key === signer && !padless(s))) {
        const next = signers.find((s) => !padless(s));
        signer = next ? next.key : null;
      }
      if (choosing) signer = null;
      pad.reset(signer);
      const all = signers.every((s) => s.signed);
      const current = signers.find((s) => s.key === signer);
      const state = (s) => s.statement ? t("sign.statement." + s.statement) : (s.signed ? t("sign.signed") : t("sign.missing"));
      const recipient = signers.find((s) => s.role === "recipient");
      // Offered while the recipient is the one to sign (or has signed and
      // may redo): recording it discards a drawn signature.
      const offer = !d.no_signature && !choosing && recipient && (signer === recipient.key || recipient.signed)
        ? button({ id: "nosign-open", onclick: () => { choosing = true; ctx.render(); } }, t("nosign")) : null;
      return {
        body: h("div", {},
          h("ul", { id: "signers", class: "signers" }, signers.map((s) =>
            h("li", {}, button({ dataset: { signer: s.key, signed: String(s.signed) }, "aria-pressed": String(s.key === signer),
              disabled: s.statement ? true : undefined,
              onclick: () => { if (s.statement) return; choosing = false; signer = s.key; redo = s.signed ? s.key : null; pad.reset(s.key); ctx.render(); } },
            `${t("sign." + s.role)}${s.name ? ": " + s.name : ""} – ${state(s)}`)))),
          choosing ? reasonChoice(d) : null,
          current ? h("p", { id: "sign-who", class: "big" }, `${t("sign.who")} ${t("sign." + current.role)}${current.name ? " – " + current.name : ""}`) : null,
          current && current.signed ? h("p", { id: "sign-redo", class: "hint" }, t("sign.redo")) : null,
          current ? pad.element((data) => ctx.step(Action.Sign, { key: signer, ...data }).then(() => { pad.strokes = []; signer = null; redo = null; ctx.render(); }).catch(() => {})) : null,
          // After the pad, so that the pad stays in view at 800×480; the
          // signer list above says what the statement waits for.
          d.no_signature ? statementPanel(d) : null,
          offer),
        action: all ? primary("complete", t("complete"), () => ctx.step(Action.Complete).catch(() => {})) : null,
      };
    },
  };
}
