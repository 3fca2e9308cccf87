// Extension of a reserve card (RC-5): the holder's card in the reader,
// their identification, the receipt, the signatures, the result.
import { Keyboard } from "../keyboard.js";
import { Step } from "../steps.js";
import { createFlow } from "./frame.js";
import { createIdentity } from "./identity.js";
import { insertStep } from "./card.js";
import { createFind, summary } from "./find.js";
import { h } from "../dom.js";
import { previewStep, issuedStep } from "./receipt.js";
import { createSign } from "./sign.js";

export function create(ctx) {
  const kb = new Keyboard();
  const identity = createIdentity(ctx, kb, { attestors: true });
  const sign = createSign(ctx);
  const find = createFind(ctx, kb, { names: false, cardLabel: true });
  return createFlow(ctx, {
    // The card read in the reader, or looked up first by its number or
    // the holder's personal number (the card is still read: RC-9).
    [Step.Insert]: (d) => ({ body: h("div", { class: "form" }, insertStep(d, { own: true }).body, find.field({ withButton: true }), summary(d.found)), keyboard: true }),
    [Step.Identity]: (d) => identity.render(d),
    [Step.Preview]: (d) => previewStep(ctx, d),
    [Step.Sign]: (d) => sign.render(d),
    [Step.Done]: (d) => issuedStep(ctx, d),
  }, { kb });
}
