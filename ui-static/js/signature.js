// The signature pad: pointer events (finger, pen or mouse) captured as
// vector strokes, normalised to 0..1 of the pad, with undo and clear.
import { h, button } from "./dom.js";
import { t } from "./i18n.js";

export class SignaturePad {
  constructor() { this.strokes = []; this.key = null; }

  reset(key) { if (key !== this.key) { this.key = key; this.strokes = []; } }

  element(onSave) {
    // The pad is a drawing surface: an image of the signature so far,
    // labelled with what to do; the buttons under it undo, clear and save.
    const canvas = h("canvas", { id: "pad", class: "pad", role: "img", "aria-label": t("sign.pad.label"), "aria-roledescription": t("sign.pad") });
    this.canvas = canvas;
    let current = null;
    const point = (ev) => {
      const r = canvas.getBoundingClientRect();
      return { x: Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width)), y: Math.min(1, Math.max(0, (ev.clientY - r.top) / r.height)) };
    };
    canvas.addEventListener("pointerdown", (ev) => {
      ev.preventDefault();
      try { canvas.setPointerCapture(ev.pointerId); } catch { /* synthetic pointers may not be capturable */ }
      current = [point(ev)];
      this.strokes.push(current);
      this.draw();
    });
    canvas.addEventListener("pointermove", (ev) => {
      if (!current) return;
      ev.preventDefault();
      current.push(point(ev));
      this.draw();
    });
    const end = () => { current = null; this.draw(); };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    const box = h("div", { class: "padbox" }, canvas,
      h("div", { class: "buttons" },
        button({ id: "pad-undo", onclick: () => { this.strokes.pop(); this.draw(); } }, t("sign.undo")),
        button({ id: "pad-clear", onclick: () => { this.strokes = []; this.draw(); } }, t("sign.clear")),
        button({ id: "pad-save", class: "primary", onclick: () => onSave(this.data()) }, t("sign.save"))));
    requestAnimationFrame(() => this.draw());
    return box;
  }

  data() {
    const r = this.canvas.getBoundingClientRect();
    return { aspect: r.height > 0 ? r.width / r.height : 3, strokes: this.strokes };
  }

  draw() {
    const c = this.canvas;
    if (!c) return;
    const r = c.getBoundingClientRect();
    if (c.width !== Math.round(r.width) || c.height !== Math.round(r.height)) {
      c.width = Math.round(r.width);
      c.height = Math.round(r.height);
    }
    const g = c.getContext("2d");
    g.clearRect(0, 0, c.width, c.height);
    g.strokeStyle = "#111820";
    g.lineWidth = 2.5;
    g.lineCap = "round";
    g.lineJoin = "round";
    for (const s of this.strokes) {
      g.beginPath();
      s.forEach((p, i) => (i ? g.lineTo(p.x * c.width, p.y * c.height) : g.moveTo(p.x * c.width, p.y * c.height)));
      if (s.length === 1) g.lineTo(s[0].x * c.width + 0.5, s[0].y * c.height);
      g.stroke();
    }
    c.dataset.strokes = String(this.strokes.length);
  }
}
