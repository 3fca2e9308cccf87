// Stock received: the serials of a shipment, typed or read from the cards
// put into the reader, then committed.
import { t } from "../i18n.js";
import { h, button } from "../dom.js";
import { Keyboard } from "../keyboard.js";
import { Step, Action } from "../steps.js";
import { resultStep } from "./common.js";
import { createFlow, primary } from "./frame.js";

export function create(ctx) {
  const kb = new Keyboard();
  return createFlow(ctx, {
    [Step.Scan]: (d) => ({
      body: h("div", { class: "form" },
        kb.field("serial", "f.serial", "upper"),
        button({ id: "add", class: "primary", onclick: () => ctx.step(Action.Add, { serial: kb.value("serial") }).then(() => kb.set("serial", "")).catch(() => {}) }, t("add")),
        h("ul", { id: "serials", class: "list" }, (d.serials || []).map((s) => h("li", { dataset: { serial: s } }, s,
          button({ class: "remove", dataset: { remove: s }, "aria-label": `${t("scan.remove")} ${s}`,
            onclick: () => ctx.step(Action.Remove, { serial: s }).catch(() => {}) }, t("scan.remove")))))),
      action: primary("commit", t("commit.receive"), () => ctx.step(Action.Commit).catch(() => {})),
      keyboard: true,
    }),
    [Step.Done]: (d) => resultStep([`${(d.result || {}).received} ${t("done.received")}`]),
  }, { kb });
}
