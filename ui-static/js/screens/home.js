// The home menu: every flow the operator can start, and why the last one
// did not start.
import { t } from "../i18n.js";
import { h, button } from "../dom.js";
import { Kind } from "../steps.js";
import { messages } from "./common.js";
import { offlineBanner } from "./offline.js";
import { reprints } from "./reprints.js";

const menu = [Kind.Issue, Kind.Pickup, Kind.Return, Kind.Extend, Kind.Block, Kind.StockReceive, Kind.StockCount, Kind.StockVoid, Kind.Status, Kind.DayList, Kind.Admins];

export function create(ctx) {
  return {
    render(view) {
      return h("section", { id: "screen-home", class: "screen" },
        h("h1", { id: "home-title", tabindex: "-1" }, t("home.title")),
        offlineBanner(view),
        messages((view.errors || []).concat(ctx.transient()), "home-errors"),
        reprints(ctx, view.reprints),
        h("div", { id: "menu", class: "menu" },
          menu.map((k) => button({ class: "tile", dataset: { flow: k }, onclick: () => ctx.req("flow.start", { kind: k }).catch(() => {}) }, t("flow." + k)))));
    },
  };
}
