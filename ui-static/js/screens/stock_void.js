// Voiding a card in stock (RC-8, or an ordered card past its pickup
// deadline, CP-4): the card chosen from the list, the result.
import { t } from "../i18n.js";
import { h, button } from "../dom.js";
import { Step, Action } from "../steps.js";
import { resultStep } from "./common.js";
import { createFlow } from "./frame.js";

export function create(ctx) {
  return createFlow(ctx, {
    [Step.Choose]: (d) => ({
      body: h("div", { id: "stock", class: "list" }, (d.stock || []).map((c) =>
        h("div", { class: "row" },
          h("span", {}, `${c.serial} · ${t("ctype." + c.type)} · ${t("cstate." + c.state)}${c.pickup_deadline ? " · " + c.pickup_deadline : ""}${c.pickup_expired ? " · " + t("pickup.late") : ""}`),
          button({ dataset: { void: c.serial }, onclick: () => ctx.step(Action.Void, { serial: c.serial }).catch(() => {}) }, t("void.button"))))),
    }),
    [Step.Done]: (d) => {
      const r = d.result || {};
      return resultStep([t("done.voided"), `${t("card.number")}: ${r.card_number}`]);
    },
  });
}
