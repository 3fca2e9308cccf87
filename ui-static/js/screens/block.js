// Block request (BL-1): the card number (read from the card when it is
// put into the reader) and the reason, the result.
import { t } from "../i18n.js";
import { h, button } from "../dom.js";
import { Keyboard } from "../keyboard.js";
import { Step, Action } from "../steps.js";
import { resultStep } from "./common.js";
import { createFlow, primary } from "./frame.js";

const reasons = ["lost", "stolen", "broken", "pin_puk_exposed", "employment_ended", "misused"];

export function create(ctx) {
  const kb = new Keyboard();
  let reason = "";
  return createFlow(ctx, {
    [Step.Request]: (d) => {
      if (d.card && d.card.number && !kb.value("serial")) kb.set("serial", d.card.number);
      return {
        body: h("div", { class: "form" },
          kb.field("serial", "f.serial", "upper"),
          h("div", { class: "buttons choices" }, reasons.map((r) =>
            button({ dataset: { block: r }, "aria-pressed": String(reason === r), onclick: () => { reason = r; ctx.render(); } }, t("block." + r))))),
        action: primary("next", t("next"), () => ctx.step(Action.Request, { serial: kb.value("serial"), reason }).catch(() => {})),
        keyboard: true,
      };
    },
    [Step.Done]: (d) => {
      const r = d.result || {};
      return resultStep([t("done.blocked"), `${t("card.number")}: ${r.card_number}`]);
    },
  }, { kb });
}
