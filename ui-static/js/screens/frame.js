// The frame every flow screen shares: the flow's head (title, the step
// with "Steg 3 av 7", cancel or close, and the step's primary action,
// which stays in view), the messages (the rules' refusals and any other
// refusal of this screen's requests: one place, never over the keyboard),
// the step's body, which scrolls to the field being typed, and the
// on-screen keyboard docked under it when the step has fields.
import { t } from "../i18n.js";
import { h, button } from "../dom.js";
import { Step, Action } from "../steps.js";
import { messages } from "./common.js";
import { createCancel, backButton, putBackNote } from "./back.js";

// createFlow makes a flow screen from its steps: steps[Step.X] is
// (data, flow) => {body, action, keyboard}, where action is the step's
// primary button (for the head) and keyboard says the step types into kb.
// A step the screen does not know shows its name. close: the head always
// has "Close" (not only when done), for a flow with nothing to cancel.
export function createFlow(ctx, steps, { kb = null, close = false } = {}) {
  let shown = null; // the step last rendered: a new step starts with no field active
  const cancel = createCancel(ctx, kb);
  return {
    render(view) {
      const f = view.flow;
      const newStep = shown !== f.step;
      if (kb && shown !== null && newStep) kb.active = null;
      shown = f.step;
      const renderStep = steps[f.step];
      const s = renderStep ? renderStep(f.data || {}, f) : { body: h("p", {}, f.step) };
      const closing = close || f.step === Step.Done;
      const progress = stepProgress(f);
      const typing = !!(s.keyboard && kb);
      return h("section", { id: "flow", class: typing && kb.active ? "screen typing" : "screen", dataset: { kind: f.kind, step: f.step, newStep: String(newStep) } },
        h("div", { class: "flowhead" },
          h("div", { class: "titles" },
            h("h1", { id: "flow-title" }, t("flow." + f.kind)),
            h("h2", { id: "flow-step", class: "step", tabindex: "-1" },
              progress ? h("span", { id: "flow-progress", class: "progress" }, progress) : null,
              progress ? " " : null,
              h("span", { class: "stepname" }, t("step." + f.step)))),
          h("div", { class: "actions" },
            closing ? button({ id: "close", class: "primary", onclick: () => ctx.step(Action.Close).catch(() => {}) }, t("close"))
              : cancel.button(f),
            closing ? null : backButton(ctx, f),
            s.action || null)),
        messages((f.errors || []).concat(ctx.transient()), "flow-errors"),
        h("div", { class: "flowbody" }, putBackNote(f), s.body),
        cancel.dialog(f),
        typing ? kb.element() : null);
    },
  };
}

// stepProgress is "Steg 3 av 7" from the view (the server counts the
// flow's steps); nothing for a one-step flow or the result.
export function stepProgress(f) {
  if (!f.step_index || !f.step_count || f.step_count < 2) return "";
  return t("step.progress").replace("{n}", f.step_index).replace("{of}", f.step_count);
}

// primary is the step's primary button.
export function primary(id, label, onclick) {
  return button({ id, class: "primary", onclick }, label);
}
