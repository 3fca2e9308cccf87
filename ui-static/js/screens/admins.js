// Administrators at this station (AD-1, AD-2; seed 004): who may log in
// here, the changes asked for and what the central service decided, and a
// new change: appoint (name, HSA-ID, e-mail, telephone, the manager's word
// on the training) or remove. The manager then proves who they are with
// their own SITHS card and PIN in the card reader; the change goes to the
// central service and shows as pending until it decides. A removal is in
// force here at once.
import { t, addTexts, currentLang } from "../i18n.js";
import { h, button } from "../dom.js";
import { Keyboard, keypad } from "../keyboard.js";
import { Step, Action, Kind } from "../steps.js";
import { createFlow, primary } from "./frame.js";
import { resultStep } from "./common.js";
import { checkHSA } from "./checks.js";

addTexts({
  sv: { ["flow." + Kind.Admins]: "Administratörer", "ad.email": "E-postadress", "ad.phone": "Telefon" },
  en: { ["flow." + Kind.Admins]: "Administrators", "ad.email": "E-mail address", "ad.phone": "Telephone" },
});

// The screen's own words, Swedish and English.
const words = {
  sv: {
    "step.list": "Administratörer och ändringar",
    "step.manager": "Chefen bekräftar",
    "step.done": "Skickat",
    admins: "Behöriga administratörer på stationen",
    authorised: "behörig",
    notAuthorised: "inte behörig här",
    remove: "Ta bort",
    requests: "Ändringar",
    none: "Inga ändringar ännu.",
    "ch.appointed": "Utse",
    "ch.removed": "Ta bort",
    "st.pending": "Väntar på beslut från den centrala tjänsten",
    "st.approved": "Godkänd",
    "st.rejected": "Avslagen",
    "src.console": "ändrad centralt",
    newChange: "Ny ändring",
    appoint: "Utse administratör",
    removeOne: "Ta bort administratör",
    hsa: "HSA-id",
    name: "Namn",
    email: "E-postadress",
    phone: "Telefon",
    trained: "Chefen intygar att administratören har gått utbildningen och är lämplig",
    next: "Nästa: chefen bekräftar",
    summary: "Ändringen",
    managerHelp: "Chefen som begär ändringen sätter i sitt eget SITHS-kort i kortläsaren och skriver sin PIN. Inte ditt kort och inte administratörens.",
    managerPin: "Chefens PIN",
    retries: "försök kvar",
    manager: "Chef",
    verified: "legitimerad med eget SITHS-kort",
    send: "Skicka till den centrala tjänsten",
    sent: "Ändringen är skickad till den centrala tjänsten och väntar på beslut.",
    revoked: "kan inte längre logga in på den här stationen.",
    afterApproval: "kan logga in när den centrala tjänsten har godkänt ändringen.",
    back: "Tillbaka till listan",
  },
  en: {
    "step.list": "Administrators and changes",
    "step.manager": "The manager confirms",
    "step.done": "Sent",
    admins: "Authorised administrators at this station",
    authorised: "authorised",
    notAuthorised: "not authorised here",
    remove: "Remove",
    requests: "Changes",
    none: "No changes yet.",
    "ch.appointed": "Appoint",
    "ch.removed": "Remove",
    "st.pending": "Waiting for the central service's decision",
    "st.approved": "Approved",
    "st.rejected": "Rejected",
    "src.console": "changed centrally",
    newChange: "New change",
    appoint: "Appoint an administrator",
    removeOne: "Remove an administrator",
    hsa: "HSA-ID",
    name: "Name",
    email: "E-mail address",
    phone: "Telephone",
    trained: "The manager vouches that the administrator has been trained and is suitable",
    next: "Next: the manager confirms",
    summary: "The change",
    managerHelp: "The manager asking for the change inserts their own SITHS card in the card reader and types their PIN. Not your card, and not the administrator's.",
    managerPin: "The manager's PIN",
    retries: "attempts left",
    manager: "Manager",
    verified: "identified with their own SITHS card",
    send: "Send to the central service",
    sent: "The change has been sent to the central service and waits for its decision.",
    revoked: "can no longer log in at this station.",
    afterApproval: "can log in once the central service has approved the change.",
    back: "Back to the list",
  },
};

function w(key) {
  const d = words[currentLang()] || words.sv;
  return d[key] || words.sv[key] || key;
}

export function create(ctx) {
  const kb = new Keyboard();
  let change = "appointed";
  let trained = false;
  let pin = "";

  const request = () => ctx.step(Action.Request, {
    change, admin: kb.value("admin").trim(), name: kb.value("name").trim(), email: kb.value("email").trim().toLowerCase(),
    phone: kb.value("phone").trim(), training_confirmed: change === "appointed" && trained,
  }).catch(() => {});

  function listStep(d) {
    const admins = h("ul", { id: "ad-admins", class: "list" }, (d.admins || []).map((a) =>
      h("li", { class: "row", dataset: { admin: a.hsa_id } },
        h("span", {}, `${a.name} · ${a.hsa_id} · ${a.authorised ? w("authorised") : w("notAuthorised")}`),
        a.authorised ? button({ dataset: { remove: a.hsa_id }, onclick: () => { change = "removed"; kb.set("admin", a.hsa_id); kb.set("name", a.name); ctx.render(); } }, w("remove")) : null)));
    const reqs = d.requests || [];
    const requests = reqs.length ? h("ul", { id: "ad-requests", class: "list" }, reqs.map((r) =>
      h("li", { class: "row", dataset: { request: r.id, status: r.status } },
        h("span", {}, `${w("ch." + r.change)}: ${r.name || ""} ${r.admin} · ${r.at}${r.source === "console" ? " · " + w("src.console") : ""}`),
        h("strong", {}, w("st." + r.status) + (r.reason ? `: ${r.reason}` : "") + (r.decided_at ? ` (${r.decided_at})` : "")))))
      : h("p", { id: "ad-requests" }, w("none"));
    const kinds = h("div", { class: "buttons choices", role: "group", "aria-label": w("newChange") },
      ["appointed", "removed"].map((c) => button({ dataset: { change: c }, "aria-pressed": String(change === c), onclick: () => { change = c; ctx.render(); } },
        c === "appointed" ? w("appoint") : w("removeOne"))));
    const fields = [kb.field("admin", "f.hsa", "upper", { check: checkHSA, placeholder: w("hsa") }),
      kb.field("name", "f.name", "text", { placeholder: w("name") })];
    if (change === "appointed") {
      fields.push(kb.field("email", "ad.email", "email", { placeholder: w("email") }),
        kb.field("phone", "ad.phone", "numeric", { placeholder: w("phone") }),
        h("div", { class: "buttons" },
          button({ id: "ad-trained", "aria-pressed": String(trained), onclick: () => { trained = !trained; ctx.render(); } }, (trained ? "☑ " : "☐ ") + w("trained"))));
    }
    return {
      body: h("div", { id: "admins", class: "admins" },
        h("h2", {}, w("admins")), admins,
        h("h2", {}, w("requests")), requests,
        h("h2", {}, w("newChange")), kinds, h("div", { id: "ad-form" }, fields)),
      action: primary("ad-next", w("next"), request),
      keyboard: true,
    };
  }

  function managerStep(d) {
    const c = d.change || {};
    const lines = [h("p", { id: "ad-summary" }, h("strong", {}, w("summary") + ": "),
      `${w("ch." + c.change)} ${c.name || ""} ${c.admin || ""}${c.email ? " · " + c.email : ""}${c.phone ? " · " + c.phone : ""}`)];
    if (c.change === "appointed" && c.training_confirmed) lines.push(h("p", {}, w("trained")));
    let action = null;
    if (d.manager) {
      pin = "";
      lines.push(h("p", { id: "ad-manager" }, `${w("manager")}: ${d.manager.name} (${d.manager.hsa_id}) – ${w("verified")}`));
      action = primary("ad-send", w("send"), () => ctx.step(Action.Confirm).catch(() => {}));
    } else if (d.manager_login) {
      const lg = d.manager_login;
      const dots = h("div", { id: "ad-pin-dots", class: "pindots", "aria-live": "polite" }, "•".repeat(pin.length) || "\u00a0");
      const submit = () => { const p = pin; pin = ""; ctx.render(); ctx.step(Action.ManagerPin, { pin: p }).catch(() => {}); };
      lines.push(h("div", { id: "ad-pin", class: "attpin" },
        h("p", {}, `${w("managerPin")} – ${lg.name} (${lg.retries >= 0 ? lg.retries : "–"} ${w("retries")})`), dots,
        keypad((dg) => { if (pin.length < 8) { pin += dg; dots.textContent = "•".repeat(pin.length); } },
          () => { pin = pin.slice(0, -1); dots.textContent = "•".repeat(pin.length) || "\u00a0"; }, submit)));
    } else {
      pin = "";
      lines.push(h("p", { id: "ad-manager-help", class: "hint" }, w("managerHelp")));
    }
    return { body: h("div", { id: "admins-manager" }, lines), action };
  }

  function doneStep(d) {
    const r = d.result || {};
    const who = `${r.name || ""} (${r.admin})`;
    const lines = [w("sent")];
    if (r.revoked_here) lines.push(`${who} ${w("revoked")}`);
    if (r.change === "appointed" && !r.authorised_now) lines.push(`${who} ${w("afterApproval")}`);
    kb.clear();
    change = "appointed";
    trained = false;
    return { body: h("div", {}, resultStep(lines).body, button({ id: "ad-back", onclick: () => ctx.step(Action.List).catch(() => {}) }, w("back"))) };
  }

  const flow = createFlow(ctx, {
    [Step.List]: listStep,
    [Step.Manager]: managerStep,
    [Step.Done]: doneStep,
  }, { kb });
  return {
    render(view) {
      const el = flow.render(view);
      const step = el.querySelector("#flow-step");
      if (step && view.flow) step.textContent = w("step." + view.flow.step);
      return el;
    },
  };
}
