// Block request (BL-1): the card found first — by its number (typed, or
// read from the card put into the reader) or the holder's personal number
// and then their card chosen — with its holder shown, then the reason, the
// result.
import { t } from "../i18n.js";
import { h, button } from "../dom.js";
import { Keyboard } from "../keyboard.js";
import { Step, Action } from "../steps.js";
import { resultStep } from "./common.js";
import { createFlow, primary } from "./frame.js";
import { createFind, summary } from "./find.js";

const reasons = ["lost", "stolen", "broken", "pin_puk_exposed", "employment_ended", "misused"];

export function create(ctx) {
  const kb = new Keyboard();
  const find = createFind(ctx, kb, { names: false, cardLabel: true });
  let reason = "";
  return createFlow(ctx, {
    [Step.Request]: (d) => {
      if (!d.card || !d.card.number) {
        // The look-up: a card number finds the card; a personal number
        // lists the holder's cards to choose from.
        if (!kb.active) kb.active = "find";
        return {
          body: h("div", { class: "form" }, find.field(),
            summary(d.found, { pick: (n) => ctx.step(Action.Find, { query: n }).catch(() => {}) })),
          action: primary("find", t("find"), find.search),
          keyboard: true,
        };
      }
      const f = d.found || {};
      const holder = f.name || f.personal_number ? `${f.name || ""}${f.personal_number ? " · " + f.personal_number : ""}` : "–";
      return {
        body: h("div", { class: "form" },
          h("p", { id: "block-holder" }, `${t("block.holder")}: `, h("strong", {}, holder)),
          h("p", { id: "block-card" }, `${t("card.number")}: `, h("strong", {}, d.card.number), ` · ${t("ctype." + d.card.type)}`),
          h("div", { class: "buttons choices" }, reasons.map((r) =>
            button({ dataset: { block: r }, "aria-pressed": String(reason === r), onclick: () => { reason = r; ctx.render(); } }, t("block." + r))))),
        action: primary("next", t("block.confirm"), () => ctx.step(Action.Request, { serial: d.card.number, reason }).catch(() => {})),
      };
    },
    [Step.Done]: (d) => {
      const r = d.result || {};
      return resultStep([t("done.blocked"), `${t("card.number")}: ${r.card_number}`]);
    },
  }, { kb });
}
