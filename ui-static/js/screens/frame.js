// The frame every flow screen shares: the flow's head (title, step,
// cancel or close, and the step's primary action, which stays in view
// while the form scrolls under it), the rules' messages, the step's body,
// and the on-screen keyboard under it when the step has fields.
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
      if (kb && shown !== null && shown !== f.step) kb.active = null;
      shown = f.step;
      const renderStep = steps[f.step];
      const s = renderStep ? renderStep(f.data || {}, f) : { body: h("p", {}, f.step) };
      const closing = close || f.step === Step.Done;
      return h("section", { id: "flow", class: "screen", dataset: { kind: f.kind, step: f.step } },
        h("div", { class: "flowhead" },
          h("div", { class: "titles" },
            h("h1", { id: "flow-title" }, t("flow." + f.kind)),
            h("span", { id: "flow-step", class: "step" }, t("step." + f.step))),
          h("div", { class: "actions" },
            closing ? button({ id: "close", class: "primary", onclick: () => ctx.step(Action.Close).catch(() => {}) }, t("close"))
              : cancel.button(f),
            closing ? null : backButton(ctx, f),
            s.action || null)),
        h("div", { class: "flowbody" }, messages(f.errors, "flow-errors"), putBackNote(f), s.body),
        cancel.dialog(f),
        s.keyboard && kb ? kb.element() : null);
    },
  };
}

// primary is the step's primary button.
export function primary(id, label, onclick) {
  return button({ id, class: "primary", onclick }, label);
}
