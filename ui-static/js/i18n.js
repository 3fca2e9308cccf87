// Swedish by default, English on the toggle. Keys are stable; the server's
// messages come with their own sv/en text and are shown as they are.
const texts = {
  sv: {
    "app.title": "Kortstation",
    "lock.title": "Sätt i ditt SITHS-kort för att logga in",
    "lock.hint": "Stationen är låst. Endast behöriga kortadministratörer kan logga in.",
    "clock.unsynced": "Klockan är inte synkroniserad. Utfärdande väntar tills tiden är säker.",
    "status.title": "Stationsstatus",
    "status.reader": "Kortläsare",
    "status.drawer": "Kortlåda",
    "status.printer": "Skrivare",
    "status.outbox": "Köade poster",
    "dev.title": "Simulerad hårdvara",
    "dev.drawer.open": "Öppna lådan",
    "dev.drawer.close": "Stäng lådan",
    "dev.drawer.fail": "Lådsensorn fel",
    "dev.drawer.repair": "Laga lådsensorn",
    "dev.printer.paused": "Skrivare pausad",
    "dev.printer.offline": "Skrivare frånkopplad",
    "dev.printer.out_of_paper": "Slut på papper",
    "conn.open": "Ansluten",
    "conn.connecting": "Ansluter …",
    "conn.closed": "Frånkopplad – försöker igen",
    "lang.other": "English",
    "state.unknown": "okänt",
  },
  en: {
    "app.title": "Card station",
    "lock.title": "Insert your SITHS card to log in",
    "lock.hint": "The station is locked. Only authorised card administrators can log in.",
    "clock.unsynced": "The clock is not synchronised. Issuing waits until the time can be trusted.",
    "status.title": "Station status",
    "status.reader": "Card reader",
    "status.drawer": "Card drawer",
    "status.printer": "Printer",
    "status.outbox": "Queued records",
    "dev.title": "Simulated hardware",
    "dev.drawer.open": "Open drawer",
    "dev.drawer.close": "Close drawer",
    "dev.drawer.fail": "Drawer sensor fault",
    "dev.drawer.repair": "Repair drawer sensor",
    "dev.printer.paused": "Printer paused",
    "dev.printer.offline": "Printer offline",
    "dev.printer.out_of_paper": "Out of paper",
    "conn.open": "Connected",
    "conn.connecting": "Connecting …",
    "conn.closed": "Disconnected – retrying",
    "lang.other": "Svenska",
    "state.unknown": "unknown",
  },
};

let lang = localStorage.getItem("lang") === "en" ? "en" : "sv";

export function currentLang() { return lang; }

export function t(key) {
  return (texts[lang] && texts[lang][key]) || texts.sv[key] || key;
}

// text picks the chosen language from a server {sv, en} text object.
export function text(obj) {
  if (!obj) return "";
  return obj[lang] || obj.sv || obj.en || "";
}

export function setLang(l) {
  lang = l === "en" ? "en" : "sv";
  localStorage.setItem("lang", lang);
  apply(document);
}

export function apply(root) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
}
