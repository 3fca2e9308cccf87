// The on-screen keyboard and numeric keypad: the station has no physical
// keyboard. Fields are read-only inputs (inputmode="none"); tapping one
// makes it the keyboard's target, and keys write into the form state.
import { h, button } from "./dom.js";
import { t } from "./i18n.js";

const rows = {
  text: ["1234567890", "QWERTYUIOPÅ", "ASDFGHJKLÖÄ", "ZXCVBNM-"],
  upper: ["1234567890", "QWERTYUIOPÅ", "ASDFGHJKLÖÄ", "ZXCVBNM-"],
  numeric: ["123", "456", "789", "-0"],
  email: ["1234567890", "qwertyuiopå", "asdfghjklöä", "zxcvbnm-._@"], // e-mail addresses (screens/admins.js)
};

// Keyboard keeps the typed values (form) across re-renders.
export class Keyboard {
  constructor(onChange) {
    this.form = {};
    this.modes = {};
    this.checks = {};
    this.checkEls = new Map();
    this.active = null;
    this.inputs = new Map();
    this.onChange = onChange;
  }

  clear() { this.form = {}; this.active = null; this.inputs.clear(); }

  value(name) { return this.form[name] || ""; }

  set(name, v) { this.form[name] = v; const el = this.inputs.get(name); if (el) el.value = v; }

  // field returns a labelled read-only input bound to the keyboard.
  field(name, labelKey, mode, opts = {}) {
    this.modes[name] = mode;
    if (opts.check) this.checks[name] = opts.check;
    const input = h("input", {
      id: "f-" + name, name, readonly: true, inputmode: "none", autocomplete: "off",
      value: this.value(name), class: this.active === name ? "field active" : "field",
      "aria-describedby": opts.hint ? "h-" + name : undefined, placeholder: opts.placeholder,
      onclick: () => this.focus(name),
    });
    input.value = this.value(name);
    this.inputs.set(name, input);
    const check = h("span", { id: "v-" + name, class: "check", role: "status" });
    this.checkEls.set(name, check);
    this.runCheck(name);
    return h("label", { class: "fieldrow", for: "f-" + name },
      h("span", { class: "label" }, t(labelKey)), input,
      opts.hint ? h("span", { id: "h-" + name, class: "hint" }, opts.hint) : null, check);
  }

  focus(name) {
    this.active = name;
    for (const [n, el] of this.inputs) el.classList.toggle("active", n === name);
    this.renderInto(this.container);
    const el = this.inputs.get(name);
    if (el) el.scrollIntoView({ block: "nearest" });
  }

  // element returns the keyboard's container; it shows keys for the
  // active field's mode.
  element() {
    this.container = h("div", { id: "kb", class: "kb", role: "group", "aria-label": t("kb.label") });
    this.renderInto(this.container);
    return this.container;
  }

  renderInto(box) {
    if (!box) return;
    box.replaceChildren();
    if (!this.active) return;
    const mode = this.modes[this.active] || "text";
    box.dataset.mode = mode;
    const last = rows[mode].length - 1;
    rows[mode].forEach((row, i) => {
      const r = h("div", { class: "kbrow" });
      for (const ch of row) r.appendChild(button({ class: "key", dataset: { key: ch }, onclick: () => this.press(ch) }, ch));
      if (i === last && mode !== "numeric") {
        r.appendChild(button({ class: "key wide", dataset: { key: "space" }, "aria-label": t("kb.space"), onclick: () => this.press(" ") }, "␣"));
      }
      if (i === last) {
        r.appendChild(button({ class: "key", dataset: { key: "back" }, "aria-label": t("kb.back"), onclick: () => this.press("back") }, "⌫"));
      }
      box.appendChild(r);
    });
  }

  press(ch) {
    const name = this.active;
    if (!name) return;
    let v = this.value(name);
    if (ch === "back") v = v.slice(0, -1);
    else if (this.modes[name] === "text" && /\p{L}/u.test(ch) && !(v === "" || v.endsWith(" ") || v.endsWith("-"))) v += ch.toLowerCase();
    else v += ch;
    this.set(name, v);
    this.runCheck(name);
    if (this.onChange) this.onChange(name, v);
  }

  // runCheck shows the field's pre-check (the server checks everything
  // again): the rule and how to fix it, as the value is typed.
  runCheck(name) {
    const el = this.checkEls.get(name);
    const f = this.checks[name];
    if (!el || !f) return;
    const v = this.value(name);
    el.textContent = v ? f(v) : "";
  }
}

// Keypad is the PIN pad: digits only, shown as dots.
export function keypad(onDigit, onBack, onOK) {
  const box = h("div", { id: "keypad", class: "keypad", role: "group", "aria-label": t("pin.pad") });
  for (const row of ["123", "456", "789"]) {
    const r = h("div", { class: "kbrow" });
    for (const d of row) r.appendChild(button({ class: "key", dataset: { key: d }, onclick: () => onDigit(d) }, d));
    box.appendChild(r);
  }
  box.appendChild(h("div", { class: "kbrow" },
    button({ class: "key", dataset: { key: "back" }, "aria-label": t("kb.back"), onclick: onBack }, "⌫"),
    button({ class: "key", dataset: { key: "0" }, onclick: () => onDigit("0") }, "0"),
    button({ id: "pin-ok", class: "key primary", onclick: onOK }, t("pin.ok"))));
  return box;
}
