// The card steps: the stock card taken from the drawer (issue) and the
// card put into the reader (issue, pickup, return, extend).
import { t } from "../i18n.js";
import { h, button } from "../dom.js";
import { Action } from "../steps.js";
import { recipientLine, drawerHint } from "./common.js";

// cardStep lists the stock the card may be taken from.
export function cardStep(ctx, d) {
  return {
    body: h("div", {},
      recipientLine(d),
      drawerHint(d),
      h("div", { id: "stock", class: "menu" }, (d.stock || []).map((c) =>
        button({ class: "tile", dataset: { serial: c.serial }, onclick: () => ctx.step(Action.Card, { serial: c.serial }).catch(() => {}) }, c.serial)))),
  };
}

// insertStep asks for the card in the reader: own, the holder's own card
// (return, extend) rather than the one being handed out; drawer, the
// drawer hint (pickup takes the card from the drawer here).
export function insertStep(d, { own = false, drawer = false } = {}) {
  return {
    body: h("div", {},
      recipientLine(d),
      d.card ? h("p", {}, `${t("card.number")}: `, h("strong", { id: "card-number" }, d.card.number)) : null,
      drawer ? drawerHint(d) : null,
      h("p", { id: "insert-hint", class: "hint big" }, own ? t("insert.own") : t("insert.hint"))),
  };
}
