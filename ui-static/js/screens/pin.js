// The PIN of the operator's card on the keypad, shown as dots. The digits
// typed live here until sent, and go with the screen.
import { t } from "../i18n.js";
import { h } from "../dom.js";
import { keypad } from "../keyboard.js";
import { messages } from "./common.js";

export function create(ctx) {
  let pin = "";
  return {
    render(view) {
      const login = view.login || {};
      const dots = h("div", { id: "pin-dots", class: "pindots", "aria-live": "polite" }, "•".repeat(pin.length) || "\u00a0");
      const submit = () => {
        const p = pin;
        pin = "";
        ctx.render();
        ctx.req("session.pin", { pin: p }).catch(() => {});
      };
      const digit = (d) => { if (pin.length < 8) { pin += d; dots.textContent = "•".repeat(pin.length); } };
      const back = () => { pin = pin.slice(0, -1); dots.textContent = "•".repeat(pin.length) || "\u00a0"; };
      // A hardware keyboard types the PIN too: digits, Backspace, Enter.
      const onkeydown = (ev) => {
        if (/^[0-9]$/.test(ev.key)) digit(ev.key);
        else if (ev.key === "Backspace") back();
        else if (ev.key === "Enter" && pin) submit();
        else return;
        ev.preventDefault();
      };
      return h("section", { id: "screen-pin", class: "screen", onkeydown },
        h("h1", {}, t("pin.title") + (login.name ? " – " + login.name : "")),
        // A wrong PIN is said here, in place of the attempts left (the
        // message says how many are left): never over the keypad.
        ctx.transient().length ? messages(ctx.transient(), "pin-error")
          : h("p", { id: "pin-retries" }, `${login.retries >= 0 ? login.retries : "–"} ${t("pin.retries")}`),
        dots,
        keypad(digit, back, submit));
    },
  };
}
