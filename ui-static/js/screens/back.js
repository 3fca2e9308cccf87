// Back and cancel (issue 13): "Tillbaka" goes one step back and keeps what
// was entered; "Avbryt" asks first when anything was entered, and when a
// card has left the drawer it asks what happens to it — back into the
// drawer, or voided — which the station records in the audit log.
import { t, addTexts } from "../i18n.js";
import { h, button } from "../dom.js";
import { Action } from "../steps.js";

addTexts({
  sv: {
    "back": "Tillbaka",
    "cancel.ask": "Avbryta ärendet?",
    "cancel.lost": "Det du har skrivit och valt i ärendet försvinner.",
    "cancel.card": "Kortet {card} är taget ur lådan. Vad händer med det?",
    "cancel.card.hint": "Ta ut kortet ur kortläsaren om det sitter i.",
    "cancel.yes": "Ja, avbryt",
    "cancel.no": "Nej, fortsätt",
    "cancel.drawer": "Jag lägger tillbaka kortet i lådan – avbryt",
    "cancel.void": "Kortet är skadat och ska makuleras – avbryt",
    "put.back": "Lägg tillbaka kort {card} i lådan och välj det kort du tar.",
    "sign.redo": "Signera igen: den nya underskriften ersätter den sparade.",
    "scan.remove": "Ta bort",
  },
  en: {
    "back": "Back",
    "cancel.ask": "Cancel this task?",
    "cancel.lost": "What you have typed and chosen in this task is discarded.",
    "cancel.card": "Card {card} has been taken from the drawer. What happens to it?",
    "cancel.card.hint": "Take the card out of the card reader if it is in it.",
    "cancel.yes": "Yes, cancel",
    "cancel.no": "No, continue",
    "cancel.drawer": "I put the card back into the drawer – cancel",
    "cancel.void": "The card is damaged and is to be voided – cancel",
    "put.back": "Put card {card} back into the drawer and choose the card you take.",
    "sign.redo": "Sign again: the new signature replaces the saved one.",
    "scan.remove": "Remove",
  },
});

const fill = (s, card) => s.replace("{card}", card);

// backButton is "Tillbaka" where the flow has a step to go back to.
export function backButton(ctx, f) {
  if (!f.data || !f.data.can_back) return null;
  return button({ id: "flow-back", onclick: () => ctx.step(Action.Back).catch(() => {}) }, t("back"));
}

// putBackNote says which card goes back into the drawer after a step back.
export function putBackNote(f) {
  const c = f.data && f.data.put_back;
  return c ? h("p", { id: "put-back", class: "warning" }, fill(t("put.back"), c)) : null;
}

// createCancel is the cancel button and its confirmation. kb: the flow's
// keyboard, whose typed values count as entered.
export function createCancel(ctx, kb) {
  let asking = false;
  const typed = () => !!kb && Object.values(kb.form).some((v) => v);
  const send = (payload) => ctx.req("flow.cancel", payload).then(() => { asking = false; if (kb) kb.clear(); }).catch(() => {});
  return {
    button(f) {
      return button({ id: "flow-cancel", onclick: () => {
        if ((f.data && (f.data.entered || f.data.card_out)) || typed()) { asking = true; ctx.render(); } else send();
      } }, t("cancel"));
    },
    dialog(f) {
      if (!asking) return null;
      const card = f.data && f.data.card_out;
      return h("div", { id: "cancel-dialog", class: "dialog", role: "alertdialog", "aria-modal": "true", "aria-labelledby": "cancel-title", "aria-describedby": "cancel-text" },
        h("h2", { id: "cancel-title" }, t("cancel.ask")),
        h("p", { id: "cancel-text" }, card ? fill(t("cancel.card"), card) : t("cancel.lost")),
        card ? h("p", { class: "hint" }, t("cancel.card.hint")) : null,
        h("div", { class: "buttons" },
          card ? button({ id: "cancel-drawer", class: "primary", onclick: () => send({ card: "drawer" }) }, t("cancel.drawer")) : null,
          card ? button({ id: "cancel-void", onclick: () => send({ card: "void" }) }, t("cancel.void")) : null,
          card ? null : button({ id: "cancel-yes", class: "primary", onclick: () => send() }, t("cancel.yes")),
          button({ id: "cancel-no", onclick: () => { asking = false; ctx.render(); } }, t("cancel.no"))));
    },
  };
}
