// The locked station: insert an operator card to log in (AD-1); why the
// last login was refused or the session ended.
import { t, text } from "../i18n.js";
import { h } from "../dom.js";
import { messages } from "./common.js";
import { offlineBanner } from "./offline.js";

export function create() {
  return {
    render(view) {
      const login = view.login || {};
      return h("section", { id: "screen-lock", class: "screen" },
        h("h1", {}, t("lock.title")),
        h("p", {}, t("lock.hint")),
        offlineBanner(view),
        view.notice ? h("p", { id: "notice", class: "notice" }, text(view.notice.text)) : null,
        login.error ? messages([login.error], "login-error") : null);
    },
  };
}
