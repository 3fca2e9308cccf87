// The on-screen keyboard and numeric keypad, docked under the form. Fields
// are ordinary text inputs (inputmode="none", so no system keyboard pops
// up on the touchscreen): tapping one makes it the keyboard's target, and
// a hardware keyboard types into it as well. Names get the Swedish letters
// and the accents and punctuation of names: long-press a letter for its
// variants (E → É È Ë Ê), or switch to the accents layer; apostrophe and
// hyphen are on the letter layer. Numeric fields get the keypad.
import { h, button } from "./dom.js";
import { t } from "./i18n.js";

const layers = {
  text: ["1234567890", "QWERTYUIOPÅ", "ASDFGHJKLÖÄ", "ZXCVBNM'-"],
  upper: ["1234567890", "QWERTYUIOPÅ", "ASDFGHJKLÖÄ", "ZXCVBNM-"],
  // The accents layer: the letters of names that are not on the Swedish
  // keyboard, and their punctuation.
  accents: ["ÉÈÊËÁÀÂ", "ÜÚÙÛÍÌÏ", "ØÆÓÒÔÕÑ", "ÇŠŽ'-."],
  numeric: ["123", "456", "789", "-0"],
  email: ["1234567890", "qwertyuiopå", "asdfghjklöä", "zxcvbnm-._@"], // e-mail addresses (screens/admins.js)
};

// variants are what a long-press on a letter offers.
const variants = {
  E: "ÉÈÊË", A: "ÁÀÂÆ", U: "ÜÚÙÛ", O: "ØÓÒÔÕ", I: "ÍÌÏÎ", N: "Ñ", C: "Ç", S: "Š", Z: "Ž", Y: "Ÿ", "'": "’", "-": "–",
};

const longPressMs = 450;

// Keyboard keeps the typed values (form) across re-renders.
export class Keyboard {
  constructor(onChange) {
    this.form = {};
    this.modes = {};
    this.checks = {};
    this.checkEls = new Map();
    this.active = null;
    this.layer = null; // "accents" while the accents layer is shown
    this.popup = null; // the letter whose variants are shown
    this.inputs = new Map();
    this.onChange = onChange;
  }

  clear() { this.form = {}; this.active = null; this.inputs.clear(); }

  value(name) { return this.form[name] || ""; }

  set(name, v) { this.form[name] = v; const el = this.inputs.get(name); if (el && el.value !== v) el.value = v; }

  // field returns a labelled input bound to the keyboard: tapping it (or
  // tabbing to it) makes it the keyboard's target; a hardware keyboard
  // types into it; Enter takes the step's primary action.
  field(name, labelKey, mode, opts = {}) {
    this.modes[name] = mode;
    if (opts.check) this.checks[name] = opts.check;
    const describedBy = [opts.hint ? "h-" + name : null, "v-" + name].filter(Boolean).join(" ");
    const input = h("input", {
      id: "f-" + name, name, type: "text", inputmode: "none", autocomplete: "off", autocapitalize: "off", spellcheck: "false",
      value: this.value(name), class: this.active === name ? "field active" : "field",
      "aria-describedby": describedBy, placeholder: opts.placeholder,
      onclick: () => this.focus(name),
      onfocus: () => { if (this.active !== name) this.focus(name); },
      oninput: () => { this.form[name] = input.value; this.runCheck(name); this.reveal(); if (this.onChange) this.onChange(name, input.value); },
      onkeydown: (ev) => {
        if (ev.key !== "Enter") return;
        ev.preventDefault();
        const next = document.querySelector(".flowhead .actions button.primary:not(:disabled)");
        if (next) next.click();
      },
    });
    input.value = this.value(name);
    this.inputs.set(name, input);
    const check = h("span", { id: "v-" + name, class: "check" });
    this.checkEls.set(name, check);
    this.runCheck(name);
    return h("label", { class: this.active === name ? "fieldrow active" : "fieldrow", for: "f-" + name, dataset: { field: name } },
      h("span", { class: "label" }, t(labelKey)), input,
      opts.hint ? h("span", { id: "h-" + name, class: "hint" }, opts.hint) : null, check);
  }

  focus(name) {
    const changed = this.active !== name;
    this.active = name;
    if (changed) { this.layer = null; this.popup = null; }
    for (const [n, el] of this.inputs) {
      el.classList.toggle("active", n === name);
      const row = el.closest(".fieldrow");
      if (row) row.classList.toggle("active", n === name);
    }
    const flow = document.getElementById("flow");
    if (flow) flow.classList.add("typing");
    this.renderInto(this.container);
    // The field, its hint and its check in view above the keyboard.
    this.reveal();
    requestAnimationFrame(() => this.reveal());
  }

  // reveal scrolls the form so that the active field's row (label, field,
  // hint, check) is inside it, above the docked keyboard.
  reveal() {
    const el = this.inputs.get(this.active);
    const row = el && el.closest(".fieldrow");
    if (row) revealRow(row);
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
    if (!this.active) { box.hidden = true; return; }
    box.hidden = false;
    const mode = this.modes[this.active] || "text";
    const layer = mode === "text" && this.layer === "accents" ? "accents" : mode;
    box.dataset.mode = mode;
    box.dataset.layer = layer;
    if (this.popup) {
      // The long-pressed letter's variants, over the keys.
      const r = h("div", { class: "kbrow variants", role: "group", "aria-label": `${t("kb.variants")} ${this.popup}` });
      for (const ch of variants[this.popup] || "") r.appendChild(this.key(ch));
      r.appendChild(button({ class: "key", dataset: { key: "close-variants" }, "aria-label": t("close"), onclick: () => { this.popup = null; this.renderInto(box); } }, "✕"));
      box.appendChild(r);
    }
    const rows = layers[layer];
    const last = rows.length - 1;
    rows.forEach((row, i) => {
      const r = h("div", { class: "kbrow" });
      for (const ch of row) r.appendChild(this.key(ch, mode));
      if (i === last && mode === "text") {
        r.appendChild(button({ class: "key mod", dataset: { key: "accents" }, "aria-pressed": String(layer === "accents"),
          "aria-label": layer === "accents" ? `ABC ${t("kb.letters")}` : `ÉÜ' ${t("kb.accents")}`,
          onclick: () => { this.layer = layer === "accents" ? null : "accents"; this.popup = null; this.renderInto(box); } }, layer === "accents" ? "ABC" : "ÉÜ'"));
      }
      if (i === last && mode !== "numeric") {
        r.appendChild(button({ class: "key wide", dataset: { key: "space" }, "aria-label": t("kb.space"), onclick: () => this.press(" ") }, "␣"));
      }
      if (i === last) {
        r.appendChild(button({ class: "key", dataset: { key: "back" }, "aria-label": t("kb.back"), onclick: () => this.press("back") }, "⌫"));
      }
      box.appendChild(r);
    });
    this.reveal(); // the keyboard's height may have changed
  }

  // key is one key; a letter with variants opens them on a long press.
  key(ch, mode) {
    let timer = null;
    let long = false;
    const props = { class: "key", dataset: { key: ch }, onclick: () => { if (long) { long = false; return; } this.press(ch); } };
    if (mode === "text" && variants[ch]) {
      props.dataset.variants = variants[ch];
      props.onpointerdown = () => {
        long = false;
        clearTimeout(timer);
        timer = setTimeout(() => { long = true; this.popup = ch; this.renderInto(this.container); }, longPressMs);
      };
      props.onpointerup = () => clearTimeout(timer);
      props.onpointerleave = () => clearTimeout(timer);
      props.oncontextmenu = (ev) => ev.preventDefault();
    }
    return button(props, ch);
  }

  press(ch) {
    const name = this.active;
    if (!name) return;
    let v = this.value(name);
    if (ch === "back") v = v.slice(0, -1);
    else if (this.modes[name] === "text" && /\p{L}/u.test(ch) && !(v === "" || /[\s\-'’]$/u.test(v))) v += ch.toLowerCase();
    else v += ch;
    if (this.popup) { this.popup = null; this.renderInto(this.container); }
    this.set(name, v);
    this.runCheck(name);
    this.reveal(); // the check may have grown
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

// revealRow scrolls the form (the scrolling .flowbody around row) just
// enough that row is wholly inside it; a row taller than the form shows
// its top. Only the form scrolls, never the page.
export function revealRow(row) {
  const body = row.closest(".flowbody");
  if (!body) return;
  const r = row.getBoundingClientRect();
  const b = body.getBoundingClientRect();
  if (r.bottom > b.bottom) body.scrollTop += r.bottom - b.bottom + 2;
  const r2 = row.getBoundingClientRect();
  if (r2.top < b.top) body.scrollTop -= b.top - r2.top + 2;
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
