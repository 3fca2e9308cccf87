// Find the person first (issue 13): one field that takes a personal
// number, a card number (typed, or read from the card put into card
// reader 01) or an order number. The station shows what it holds about the
// person — name, cards, orders, reserve card — and the checks that already
// fail, before anything else is typed. A complete, valid personal number
// is looked up as soon as it is typed; anything else with "Sök".
import { t, addTexts } from "../i18n.js";
import { h, button } from "../dom.js";
import { Action } from "../steps.js";
import { primary } from "./frame.js";
import { checkPnr } from "./checks.js";

addTexts({
  sv: {
    "f.find": "Personnummer, kortnummer eller ordernummer",
    "f.find.hint": "Eller sätt kortet i kortläsaren (läsare 01).",
    "f.find.card": "Kortnummer eller personnummer",
    "f.find.card.hint": "Eller sätt kortet i kortläsaren (läsare 01).",
    "find": "Sök",
    "found.cards": "Kort",
    "found.orders": "Beställningar",
    "found.none": "inga",
    "found.name.unknown": "Namnet finns inte i stationens uppgifter – skriv det.",
    "found.choose": "Välj kortet som ska spärras:",
    "found.station": "station",
    "found.until": "t.o.m.",
    "found.deadline": "hämtas senast",
    "found.blocked": "spärrat",
    "found.state.in_stock": "i lager",
    "found.state.handed_out": "utlämnat",
    "found.state.approved": "godkänt",
    "found.state.activated": "aktivt",
    "found.state.returned": "återlämnat",
    "found.state.voided": "makulerat",
    "found.state.blocked": "spärrat",
    "found.state.expired": "utgånget",
    "found.order.open": "öppen",
    "found.order.closed": "avslutad",
    "found.order.cancelled": "avbruten",
    "found.order.regular": "Nytt kort",
    "found.order.reserve": "Reservkort",
    "found.order.short_term": "Korttidskort",
    "doc.same": "Samma handling som förra gången",
    "doc.same.hint": "Jämför numret och datumet med handlingen som visas.",
    "block.confirm": "Spärra kortet",
    "block.holder": "Kortinnehavare",
    "found.brief": "Kort: {cards} · beställningar: {orders} · reservkort: {reserve}",
    "att.next.nodoc": "Mottagaren saknar giltig id-handling – nästa",
    "found.registry.found": "Stationen hade inga uppgifter om personen – de hämtades från det centrala registret (slagningen loggas där).",
    "found.registry.none": "Varken stationen eller det centrala registret har uppgifter om personen.",
    "found.registry.unavailable": "Det centrala registret kunde inte tillfrågas. Kontrollerna gäller bara stationens egna uppgifter; kort eller beställningar på andra stationer syns inte.",
    "found.registry.refused": "Det centrala registret svarade inte på frågan just nu (för många slagningar eller stationen är låst). Kontrollerna gäller bara stationens egna uppgifter.",
  },
  en: {
    "f.find": "Personal number, card number or order number",
    "f.find.hint": "Or put the card into the card reader (reader 01).",
    "f.find.card": "Card number or personal number",
    "f.find.card.hint": "Or put the card into the card reader (reader 01).",
    "find": "Search",
    "found.cards": "Cards",
    "found.orders": "Orders",
    "found.none": "none",
    "found.name.unknown": "The station does not have the name – type it.",
    "found.choose": "Choose the card to block:",
    "found.station": "station",
    "found.until": "until",
    "found.deadline": "pick up by",
    "found.blocked": "blocked",
    "found.state.in_stock": "in stock",
    "found.state.handed_out": "handed out",
    "found.state.approved": "approved",
    "found.state.activated": "active",
    "found.state.returned": "returned",
    "found.state.voided": "voided",
    "found.state.blocked": "blocked",
    "found.state.expired": "expired",
    "found.order.open": "open",
    "found.order.closed": "closed",
    "found.order.cancelled": "cancelled",
    "found.order.regular": "New card",
    "found.order.reserve": "Reserve card",
    "found.order.short_term": "Short-term card",
    "doc.same": "Same document as last time",
    "doc.same.hint": "Compare the number and the date with the document shown.",
    "block.confirm": "Block the card",
    "block.holder": "Card holder",
    "found.brief": "Cards: {cards} · orders: {orders} · reserve card: {reserve}",
    "att.next.nodoc": "The recipient has no valid ID document – next",
    "found.registry.found": "The station held nothing about the person – the facts were fetched from the central registry (the look-up is logged there).",
    "found.registry.none": "Neither the station nor the central registry has anything about the person.",
    "found.registry.unavailable": "The central registry could not be asked. The checks use only the station's own data; cards or orders at other stations are not shown.",
    "found.registry.refused": "The central registry did not answer the look-up now (too many look-ups, or the station is locked). The checks use only the station's own data.",
  },
});

function luhnOK(d) {
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let n = Number(d[i]) * (i % 2 === 0 ? 2 : 1);
    if (n > 9) n -= 9;
    sum += n;
  }
  return sum % 10 === 0;
}

// completePnr says whether v is a whole personal number: 12 digits, or 10
// digits that cannot be the start of 12 (not 19… or 20…), with the right
// check digit. Those are looked up without "Sök".
export function completePnr(v) {
  const d = v.replace(/[-+]/g, "");
  if (!/^\d+$/.test(d)) return false;
  if (d.length === 12) return luhnOK(d.slice(2));
  if (d.length === 10 && !/^(19|20)/.test(d)) return luhnOK(d);
  return false;
}

// pnrCheck pre-checks what looks like a personal number (ID-5); card
// numbers are longer, order numbers have letters.
const pnrCheck = (v) => (/^[\d+-]+$/.test(v) && v.replace(/[-+]/g, "").length <= 12 ? checkPnr(v) : "");

const label = (prefix, v) => {
  const k = prefix + v;
  const s = t(k);
  return s === k ? v : s;
};

// summary is what the station holds about the person found: name and
// number, cards (with their state, blocked ones marked), orders. pick:
// each card is a button (block chooses the card to block).
export function summary(found, { pick = null } = {}) {
  if (!found) return null;
  const who = found.name || "";
  const num = found.personal_number || found.hsa_id || "";
  const cards = found.cards || [];
  const orders = found.orders || [];
  const cardLine = (c) => {
    const parts = [label("ctype.", c.type), c.number, label("found.state.", c.state)];
    if (c.blocked && c.state !== "blocked") parts.push(t("found.blocked"));
    if (c.valid_until) parts.push(`${t("found.until")} ${c.valid_until}`);
    if (c.station) parts.push(`${t("found.station")} ${c.station}`);
    return parts.join(" · ");
  };
  return h("div", { id: "found", class: "found" },
    h("p", { id: "found-person", class: "big" }, h("strong", { id: "found-name" }, who), num ? ` · ${num}` : ""),
    found.registry ? h("p", { id: "found-registry", class: found.registry === "found" || found.registry === "none" ? "hint" : "warning", dataset: { registry: found.registry } },
      t("found.registry." + found.registry)) : null,
    h("div", { class: "foundlists" },
      h("div", {},
        h("h2", { class: "small" }, t("found.cards")),
        cards.length ? h("ul", { id: "found-cards", class: "list" }, cards.map((c) => h("li", { dataset: { serial: c.number, state: c.state, blocked: String(!!c.blocked) } },
          pick ? button({ dataset: { pick: c.number }, onclick: () => pick(c.number) }, cardLine(c)) : cardLine(c))))
          : h("p", { id: "found-cards" }, t("found.none"))),
      h("div", {},
        h("h2", { class: "small" }, t("found.orders")),
        orders.length ? h("ul", { id: "found-orders", class: "list" }, orders.map((o) => h("li", { dataset: { order: o.id } },
          [label("found.order.", o.kind), o.id, label("found.order.", o.status), o.deadline ? `${t("found.deadline")} ${o.deadline}` : ""].filter(Boolean).join(" · "))))
          : h("p", { id: "found-orders" }, t("found.none")))));
}

// brief is the look-up's result in one line that opens to the whole
// summary: for the steps after the look-up (a known person goes straight
// to the identification).
export function brief(found) {
  if (!found) return null;
  const cards = found.cards || [];
  const reserve = cards.filter((c) => c.type === "reserve" && !["returned", "voided", "expired", "blocked"].includes(c.state));
  const line = t("found.brief").replace("{cards}", String(cards.length)).replace("{orders}", String((found.orders || []).length))
    .replace("{reserve}", reserve.length ? reserve.map((c) => `${c.number} (${label("found.state.", c.state)})`).join(", ") : t("found.none"));
  return h("details", { id: "found-brief", class: "found" }, h("summary", {}, line), summary(found));
}

// createFind is the look-up field and its result, for one flow screen.
// names: a name field is offered when the station does not know the name
// (issue, pickup); cardLabel: the field asks for a card first (extend,
// return, block).
export function createFind(ctx, kb, { names = true, cardLabel = false } = {}) {
  let sent = "";
  let lastFound = "";
  const search = () => {
    const q = kb.value("find");
    sent = q;
    return ctx.step(Action.Find, { query: q }).catch(() => {});
  };
  const prevChange = kb.onChange;
  kb.onChange = (name, v) => {
    if (prevChange) prevChange(name, v);
    if (name === "find" && v !== sent && completePnr(v)) search();
  };
  return {
    search,
    // field is the look-up field, with its Sök button where the step's
    // primary action is another (withButton).
    field({ withButton = false } = {}) {
      return h("div", { class: "findrow" },
        kb.field("find", cardLabel ? "f.find.card" : "f.find", "upper", { hint: t(cardLabel ? "f.find.card.hint" : "f.find.hint"), check: pnrCheck }),
        withButton ? button({ id: "find", onclick: search }, t("find")) : null);
    },
    // render is the look-up step: the field, what was found, and the name
    // when the station does not know it.
    render(d, flow) {
      const f = d.found;
      // A refused look-up (BL-1, RC-3 …) asks for nothing more.
      const refused = !!(flow && flow.errors && flow.errors.length);
      const needName = names && f && !f.name && (f.personal_number || f.hsa_id) && !refused;
      // The field to type in is active from the start, no tap to open it:
      // the look-up, then the name once a person is found without one.
      const key = f ? `${f.by}:${f.personal_number || f.hsa_id || ""}` : "";
      if (needName && key !== lastFound) kb.active = "name";
      lastFound = key;
      if (!kb.active) kb.active = needName ? "name" : "find";
      const body = h("div", { class: "form" },
        d.reason ? h("p", {}, `${t("reason." + d.reason)} – ${d.days} ${t("days")}`) : null,
        this.field({ withButton: !!needName }),
        summary(f),
        needName ? h("p", { id: "name-hint", class: "hint" }, t("found.name.unknown")) : null,
        needName ? kb.field("name", "f.name", "text") : null);
      let action = primary("find", t("find"), search);
      if (needName) {
        action = primary("next", t("next"), () => ctx.step(Action.Recipient, f.personal_number
          ? { personal_number: f.personal_number, name: kb.value("name") }
          : { order_id: f.order, name: kb.value("name") }).catch(() => {}));
      }
      return { body, action, keyboard: true };
    },
  };
}
