// Reserve-card issuance: the reason, the recipient, their identification
// (document or two attestors), the stock card, the card in the reader, the
// receipt, the signatures, the result.
import { t } from "../i18n.js";
import { h, button } from "../dom.js";
import { Keyboard } from "../keyboard.js";
import { Step, Action } from "../steps.js";
import { createFlow } from "./frame.js";
import { createIdentity } from "./identity.js";
import { createFind } from "./find.js";
import { cardStep, insertStep } from "./card.js";
import { previewStep, issuedStep } from "./receipt.js";
import { createSign } from "./sign.js";

export function create(ctx) {
  const kb = new Keyboard();
  const identity = createIdentity(ctx, kb, { attestors: true });
  const sign = createSign(ctx);
  const find = createFind(ctx, kb);
  return createFlow(ctx, {
    [Step.Reason]: (d) => ({
      body: h("div", { id: "reasons", class: "menu" }, (d.reasons || []).map((r) =>
        button({ class: "tile", dataset: { reason: r.reason }, onclick: () => ctx.step(Action.Reason, { reason: r.reason }).catch(() => {}) },
          `${t("reason." + r.reason)} – ${r.days} ${t("days")}`))),
    }),
    [Step.Recipient]: (d, f) => find.render(d, f),
    [Step.Identity]: (d) => identity.render(d),
    [Step.Card]: (d) => cardStep(ctx, d),
    [Step.Insert]: (d) => insertStep(d),
    [Step.Preview]: (d) => previewStep(ctx, d),
    [Step.Sign]: (d) => sign.render(d),
    [Step.Done]: (d) => issuedStep(ctx, d),
  }, { kb });
}
