// The signature step: the signers (recipient, operator, attestors or the
// manager), the one signing now and their pad. The pad's strokes and the
// chosen signer live here between renders.
import { t } from "../i18n.js";
import { h, button } from "../dom.js";
import { SignaturePad } from "../signature.js";
import { Action } from "../steps.js";
import { primary } from "./frame.js";

export function createSign(ctx) {
  const pad = new SignaturePad();
  let signer = null;
  // redo: the signer chosen to sign again (a saved signature is replaced
  // until the receipt is completed).
  let redo = null;
  return {
    render(d) {
      const signers = d.signers || [];
      if (redo && signers.find((s) => s.key === redo)) signer = redo;
      else if (!signer || !signers.find((s) => s.key === signer && !s.signed)) {
        const next = signers.find((s) => !s.signed);
        signer = next ? next.key : null;
      }
      pad.reset(signer);
      const all = signers.every((s) => s.signed);
      const current = signers.find((s) => s.key === signer);
      return {
        body: h("div", {},
          h("ul", { id: "signers", class: "signers" }, signers.map((s) =>
            h("li", {}, button({ dataset: { signer: s.key, signed: String(s.signed) }, "aria-pressed": String(s.key === signer),
              onclick: () => { signer = s.key; redo = s.signed ? s.key : null; pad.reset(s.key); ctx.render(); } },
            `${t("sign." + s.role)}${s.name ? ": " + s.name : ""} – ${s.signed ? t("sign.signed") : t("sign.missing")}`)))),
          current ? h("p", { id: "sign-who", class: "big" }, `${t("sign.who")} ${t("sign." + current.role)}${current.name ? " – " + current.name : ""}`) : null,
          current && current.signed ? h("p", { id: "sign-redo", class: "hint" }, t("sign.redo")) : null,
          current ? pad.element((data) => ctx.step(Action.Sign, { key: signer, ...data }).then(() => { pad.strokes = []; signer = null; redo = null; ctx.render(); }).catch(() => {})) : null),
        action: all ? primary("complete", t("complete"), () => ctx.step(Action.Complete).catch(() => {})) : null,
      };
    },
  };
}
