// The day list (issue 13, item 5): the station's issuances, extensions,
// pickups and returns of today and the days before, searchable by name,
// personal number or card number; each receipt with "Skriv ut igen" (the
// stored PDF, byte for byte) and "Rätta" (a correction is a new receipt
// version, signed again, RE-3); the reserve cards out with their last
// valid day and the overdue ones marked (RC-6); the ordered cards waiting
// for pickup. The search goes to the server over the websocket: never into
// a URL. Every button is a full touch target; the list scrolls under the
// flow's head at 800×480.
import { t, currentLang } from "../i18n.js";
import { h, button } from "../dom.js";
import { Keyboard } from "../keyboard.js";
import { Step, Action } from "../steps.js";
import { createFlow, primary } from "./frame.js";
import { createSign } from "./sign.js";
import { resultStep } from "./common.js";
import { DocTypes } from "./identity.js";
import { checkDate } from "./checks.js";

// The day list's own words, Swedish and English.
const words = {
  sv: {
    search: "Sök namn, personnummer eller kortnummer",
    find: "Sök",
    clear: "Rensa",
    "period.1": "I dag",
    "period.7": "7 dagar",
    "period.30": "30 dagar",
    entries: "Utlämningar, förlängningar, uthämtningar och återlämningar",
    none: "Inget att visa.",
    out: "Reservkort ute från stationen",
    pickups: "Beställda kort som väntar på uthämtning",
    "kind.reserve": "Reservkort utlämnat",
    "kind.extension": "Reservkort förlängt",
    "kind.pickup": "Beställt kort hämtat",
    "kind.return": "Kort återlämnat",
    receipt: "Kvittens",
    version: "version",
    reprint: "Skriv ut igen",
    correct: "Rätta",
    through: "giltigt t.o.m.",
    overdue: "Försenat – ska återlämnas och följas upp som avvikelse",
    "why.deviation.expired": "giltighetstiden är slut",
    "why.deviation.regular_at_hand": "det ordinarie kortet är aktiverat",
    deadline: "hämtas senast",
    expired: "Tiden har gått ut – kortet ska makuleras",
    printed: "utskriven",
    failed: "kunde inte skrivas ut",
    printing: "skrivs ut",
    pending: "väntar på skrivaren",
    "corr.title": "Rätta kvittensen",
    "corr.hint": "En kvittens ändras aldrig. Rättelsen blir en ny version som hänvisar till den gamla, och alla skriver under igen.",
    "corr.name": "Mottagarens namn",
    "corr.doc": "ID-handling",
    "corr.old": "Nuvarande kvittens",
    "corr.new": "Ny version",
    "corr.of": "rättar",
    "corr.att": "Intygsgivare",
    "corr.done": "Rättelsen är sparad som en ny version av kvittensen.",
    back: "Tillbaka till listan",
    error: "Listan kunde inte läsas helt. Försök igen.",
  },
  en: {
    search: "Search name, personal number or card number",
    find: "Search",
    clear: "Clear",
    "period.1": "Today",
    "period.7": "7 days",
    "period.30": "30 days",
    entries: "Issuances, extensions, pickups and returns",
    none: "Nothing to show.",
    out: "Reserve cards out from this station",
    pickups: "Ordered cards waiting for pickup",
    "kind.reserve": "Reserve card issued",
    "kind.extension": "Reserve card extended",
    "kind.pickup": "Ordered card picked up",
    "kind.return": "Card returned",
    receipt: "Receipt",
    version: "version",
    reprint: "Print again",
    correct: "Correct",
    through: "valid through",
    overdue: "Overdue – to be returned and followed up as a deviation",
    "why.deviation.expired": "its validity has ended",
    "why.deviation.regular_at_hand": "the regular card is activated",
    deadline: "pick up by",
    expired: "Past its deadline – the card is to be voided",
    printed: "printed",
    failed: "could not be printed",
    printing: "printing",
    pending: "waiting for the printer",
    "corr.title": "Correct the receipt",
    "corr.hint": "A receipt is never changed. The correction is a new version that refers to the old one, and everyone signs again.",
    "corr.name": "Recipient's name",
    "corr.doc": "ID document",
    "corr.old": "Current receipt",
    "corr.new": "New version",
    "corr.of": "corrects",
    "corr.att": "Attestors",
    "corr.done": "The correction is saved as a new version of the receipt.",
    back: "Back to the list",
    error: "The list could not be read in full. Try again.",
  },
};

function w(key) {
  const d = words[currentLang()] || words.sv;
  return d[key] || words.sv[key] || key;
}

export function create(ctx) {
  const kb = new Keyboard();
  const sign = createSign(ctx);
  let period = 7;
  let docType = null;
  let correcting = null; // the receipt whose correction form is filled in
  let shownQuery = false; // the server's search was put into the field

  const search = (days) => ctx.step(Action.Search, { query: kb.value("q"), days: days || period }).catch(() => {});

  function listStep(d) {
    const l = d.daylist || {};
    if (l.days) period = l.days;
    correcting = null;
    // The field shows the server's search once (a screen made again, e.g.
    // after a reload); after that it is the operator's until "Sök".
    if (!shownQuery && l.query) kb.set("q", l.query);
    shownQuery = true;
    const periods = (l.periods || [1, 7, 30]).map((p) =>
      button({ dataset: { days: String(p) }, "aria-pressed": String(period === p), onclick: () => { period = p; search(p); } }, w("period." + p)));
    return {
      body: h("div", { id: "daylist", class: "daylist" },
        h("div", { class: "dl-search" },
          kb.field("q", "dl.search", "text", { placeholder: w("search") }),
          h("div", { class: "buttons choices" }, periods,
            button({ id: "dl-clear", onclick: () => { kb.set("q", ""); search(); } }, w("clear")))),
        l.error ? h("p", { class: "warning" }, w("error")) : null,
        h("h2", { id: "dl-entries-title" }, w("entries")),
        list("dl-entries", l.entries, entryItem),
        h("h2", { id: "dl-out-title" }, w("out")),
        list("dl-out", l.reserve_out, outItem),
        h("h2", { id: "dl-pickups-title" }, w("pickups")),
        list("dl-pickups", l.pickups, pickupItem)),
      action: primary("dl-find", w("find"), () => search()),
      keyboard: true,
    };
  }

  function list(id, items, item) {
    if (!items || !items.length) return h("p", { id, class: "hint" }, w("none"));
    return h("ul", { id, class: "list dl-list", "aria-labelledby": id + "-title" }, items.map(item));
  }

  function entryItem(e) {
    const who = [e.name, e.personal_number || e.hsa_id].filter(Boolean).join(" · ");
    const receipt = e.receipt_id ? `${w("receipt")} ${e.receipt_id}${e.version > 1 ? ` (${w("version")} ${e.version})` : ""} – ${w(e.print_state || "pending")}` : "";
    return h("li", { class: "dl-item", dataset: { issuance: e.issuance_id, receipt: e.receipt_id || "", card: e.card_number } },
      h("div", { class: "dl-text" },
        h("strong", {}, `${e.at} · ${w("kind." + e.kind)}`),
        h("span", {}, who),
        h("span", {}, `${t("card.number")}: ${e.card_number}`),
        receipt ? h("span", { class: "hint" }, receipt) : null),
      e.receipt_id ? h("div", { class: "dl-actions" },
        button({ class: "dl-reprint", dataset: { reprint: e.receipt_id }, "aria-label": `${w("reprint")} ${e.receipt_id}`,
          onclick: () => ctx.step(Action.Reprint, { receipt_id: e.receipt_id }).catch(() => {}) }, w("reprint")),
        button({ class: "dl-correct", dataset: { correct: e.receipt_id }, "aria-label": `${w("correct")} ${e.receipt_id}`,
          onclick: () => ctx.step(Action.Correct, { receipt_id: e.receipt_id }).catch(() => {}) }, w("correct"))) : null);
  }

  function outItem(c) {
    const who = [c.name, c.personal_number].filter(Boolean).join(" · ");
    return h("li", { class: c.overdue ? "dl-item overdue" : "dl-item", dataset: { card: c.card_number, overdue: String(!!c.overdue) } },
      h("div", { class: "dl-text" },
        h("strong", {}, c.card_number),
        h("span", {}, who),
        h("span", {}, `${w("through")} ${c.valid_through || "–"}`),
        c.overdue ? h("span", { class: "warning dl-overdue" }, `⚠ ${w("overdue")} (${w("why." + c.why)})`) : null));
  }

  function pickupItem(p) {
    return h("li", { class: p.expired ? "dl-item overdue" : "dl-item", dataset: { card: p.card_number, expired: String(!!p.expired) } },
      h("div", { class: "dl-text" },
        h("strong", {}, `${p.card_number} · ${t("ctype." + p.card_type)}`),
        p.personal_number ? h("span", {}, p.personal_number) : null,
        h("span", {}, `${w("deadline")} ${p.deadline}`),
        p.expired ? h("span", { class: "warning" }, `⚠ ${w("expired")}`) : null));
  }

  const backButton = () => button({ id: "dl-back", onclick: () => ctx.step(Action.List).catch(() => {}) }, w("back"));

  function correctStep(d) {
    const c = d.correction || {};
    if (correcting !== c.receipt_id) {
      // A new correction starts from the receipt as it stands.
      correcting = c.receipt_id;
      kb.active = null;
      kb.set("cname", c.recipient_name || "");
      if (c.document) {
        docType = c.document.type;
        kb.set("docnum", c.document.number || "");
        kb.set("docexp", c.document.expiry || "");
      }
    }
    const old = h("dl", { id: "corr-old", class: "grid" },
      h("dt", {}, w("receipt")), h("dd", {}, c.receipt_id),
      h("dt", {}, t("card.number")), h("dd", {}, c.card_number),
      h("dt", {}, w("corr.name")), h("dd", {}, `${c.recipient_name}${c.personal_number ? " · " + c.personal_number : ""}`),
      c.document ? [h("dt", {}, w("corr.doc")), h("dd", {}, `${t("doc." + c.document.type)} ${c.document.number} (${c.document.expiry})`)] : null,
      c.attestors ? [h("dt", {}, w("corr.att")), h("dd", {}, c.attestors.join(", "))] : null);
    const docForm = c.document ? [
      h("div", { class: "buttons choices" }, DocTypes.concat(c.document.type === "foreign_passport" ? ["foreign_passport"] : []).map((k) =>
        button({ dataset: { doctype: k }, "aria-pressed": String(docType === k), onclick: () => { docType = k; ctx.render(); } }, t("doc." + k)))),
      kb.field("docnum", "f.docnum", "upper"),
      kb.field("docexp", "f.docexp", "numeric", { check: checkDate }),
    ] : [];
    return {
      body: h("div", { class: "form", id: "correction" },
        h("p", { class: "hint", id: "corr-hint" }, w("corr.hint")),
        h("h2", {}, w("corr.old")), old,
        h("h2", {}, w("corr.title")),
        kb.field("cname", "dl.corr.name", "text", { placeholder: w("corr.name") }),
        ...docForm,
        backButton()),
      action: primary("next", t("next"), () => {
        const data = { recipient_name: kb.value("cname") };
        if (c.document) data.document = { type: docType, number: kb.value("docnum"), expiry: kb.value("docexp"), intact: true };
        ctx.step(Action.Confirm, data).catch(() => {});
      }),
      keyboard: true,
    };
  }

  function signStep(d) {
    const c = d.correction || {};
    const s = sign.render(d);
    return {
      body: h("div", {},
        h("p", { id: "corr-version", class: "big" }, `${w("corr.new")} ${c.new_receipt_id} ${w("corr.of")} ${c.receipt_id}`),
        s.body, backButton()),
      action: s.action,
    };
  }

  function doneStep(d) {
    const r = d.result || {};
    const done = resultStep([w("corr.done"), `${w("receipt")}: ${r.receipt_id} (${w("corr.of")} ${r.corrects})`, `${t("card.number")}: ${r.card_number}`]);
    done.body.append(h("p", { id: "print-state", class: d.print_state === "failed" ? "warning" : "" }, t("print." + (d.print_state || "pending"))));
    if (d.print_state === "failed") {
      done.body.append(button({ id: "reprint", onclick: () => ctx.step(Action.Reprint, { receipt_id: r.receipt_id }).catch(() => {}) }, t("print.again")));
    }
    done.body.append(backButton());
    return done;
  }

  return createFlow(ctx, {
    [Step.List]: listStep,
    [Step.Correct]: correctStep,
    [Step.Sign]: signStep,
    [Step.Done]: doneStep,
  }, { kb, close: true });
}
