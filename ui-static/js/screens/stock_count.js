// Stock count: the cards found in the drawer marked (or read in the
// reader), then reconciled against the expected stock.
import { t } from "../i18n.js";
import { h, button } from "../dom.js";
import { Step, Action } from "../steps.js";
import { resultStep } from "./common.js";
import { createFlow, primary } from "./frame.js";

export function create(ctx) {
  return createFlow(ctx, {
    [Step.Count]: (d) => ({
      body: h("div", {},
        h("div", { id: "stock", class: "menu" }, (d.stock || []).map((c) =>
          button({ class: "tile", dataset: { serial: c.serial }, "aria-pressed": String((d.serials || []).includes(c.serial)),
            onclick: () => ctx.step(Action.Mark, { serial: c.serial }).catch(() => {}) }, `${c.serial} (${c.type})`)))),
      action: primary("commit", t("commit.count"), () => ctx.step(Action.Commit).catch(() => {})),
    }),
    [Step.Done]: (d) => {
      const r = d.result || {};
      return resultStep([t("done.counted"), `${t("count.expected")}: ${r.expected}`, `${t("count.found")}: ${(r.found || []).length}`,
        `${t("count.missing")}: ${(r.missing || []).join(", ") || "–"}`, `${t("count.unexpected")}: ${(r.unexpected || []).join(", ") || "–"}`]);
    },
  });
}
