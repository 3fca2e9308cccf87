// Return of a reserve card (RC-6): the card in the reader, what happens to
// it (cut and returned, deviation), the result.
import { t } from "../i18n.js";
import { h } from "../dom.js";
import { Step, Action } from "../steps.js";
import { recipientLine, resultStep } from "./common.js";
import { createFlow, primary } from "./frame.js";
import { insertStep } from "./card.js";
import { Keyboard } from "../keyboard.js";
import { createFind, summary } from "./find.js";

export function create(ctx) {
  const kb = new Keyboard();
  const find = createFind(ctx, kb, { names: false, cardLabel: true });
  return createFlow(ctx, {
    // The card read in the reader, or looked up first by its number or
    // the holder's personal number (the card is still read: RC-9).
    [Step.Insert]: (d) => ({ body: h("div", { class: "form" }, insertStep(d, { own: true }).body, find.field({ withButton: true }), summary(d.found)), keyboard: true }),
    [Step.Preview]: (d) => {
      const r = d.return || {};
      return {
        body: h("div", { id: "preview" },
          h("p", {}, t("return.preview")),
          d.card ? h("p", {}, `${t("card.number")}: ${d.card.number}`) : null,
          recipientLine(d),
          r.cut_and_return ? h("p", {}, t("cut")) : null,
          r.deviation ? h("p", { class: "warning" }, t("deviation")) : null),
        action: primary("confirm", t("confirm.return"), () => ctx.step(Action.Confirm).catch(() => {})),
      };
    },
    [Step.Done]: (d) => {
      const r = d.result || {};
      const lines = [t("done.returned"), `${t("card.number")}: ${r.card_number}`];
      if (r.cut_and_return) lines.push(t("cut"));
      if (r.deviation) lines.push(t("deviation"));
      return resultStep(lines);
    },
  }, { kb });
}
