// Return of a reserve card (RC-6): the card in the reader, what happens to
// it (cut and returned, deviation), the result.
import { t } from "../i18n.js";
import { h } from "../dom.js";
import { Step, Action } from "../steps.js";
import { recipientLine, resultStep } from "./common.js";
import { createFlow, primary } from "./frame.js";
import { insertStep } from "./card.js";

export function create(ctx) {
  return createFlow(ctx, {
    [Step.Insert]: (d) => insertStep(d, { own: true }),
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
  });
}
