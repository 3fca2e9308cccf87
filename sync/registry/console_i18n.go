package registry

// The console's languages: Swedish by default, English on the toggle
// (?lang=en or ?lang=sv on any page sets a cookie). Templates are written
// with English keys, {{T "Stations"}}; consoleSv gives the Swedish text
// (a test checks that every key has one). Raw states (decisions, review
// reasons, alarm kinds, roles) are translated too, so none reaches the
// screen as such; the audit trail keeps them raw.

import (
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
)

// Console languages.
const (
	langSv = "sv"
	langEn = "en"
)

const langCookie = "kortstation-console-lang"

// langOf is the request's language: its cookie, else Swedish.
func langOf(r *http.Request) string {
	if ck, err := r.Cookie(langCookie); err == nil && ck.Value == langEn {
		return langEn
	}
	return langSv
}

// switchLang handles ?lang= on a GET: it sets the cookie and redirects to
// the same path without the query; true when it did.
func switchLang(w http.ResponseWriter, r *http.Request, secure bool) bool {
	l := r.URL.Query().Get("lang")
	if r.Method != http.MethodGet || (l != langSv && l != langEn) {
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", Secure: secure, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: 365 * 24 * 3600})
	http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
	return true
}

// tr is the text of key in lang.
func tr(lang, key string) string {
	m := consoleEn
	if lang == langSv {
		m = consoleSv
	}
	if s, ok := m[key]; ok {
		return s
	}
	return key
}

// consoleEn is the console's English where the key is a raw state.
var consoleEn = map[string]string{
	"viewer": "viewer", "case_officer": "case officer", "station_manager": "station manager", "security_officer": "security officer",
	"sync_now": "sync now", "lock": "lock", "unlock": "unlock", "order_stop": "order stop", "total_stop": "total stop",
	"block_request": "block request", "stock_movement": "stock movement",
	"backwards": "chain went backwards", "fork": "chain rewritten (fork)", "unsigned": "unsigned checkpoint", "bad_signature": "checkpoint signature wrong",
	ReviewOperatorMissing: "no operator named", ReviewOperatorNotAuthorised: "operator not authorised",
	ReviewCardOfAnotherStation: "another station's card", ReviewCardNotShippedHere: "card not shipped to the station",
	ReviewAdminOtherStation: "administrator change for another station", "admin_change": "administrator change",
}

// localized parses a console template once per language.
func localized(name, src string) map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, lang := range []string{langSv, langEn} {
		out[lang] = template.Must(template.New(name).Funcs(template.FuncMap{
			"T":      func(key string) string { return tr(lang, key) },
			"Lang":   func() string { return lang },
			"Ago":    func(t time.Time) string { return ago(lang, t) },
			"ground": groundText,
			// near: a station's issuing limit lies within a day (README
			// "Days offline"); the console marks it.
			"near":      func(t time.Time) bool { return !t.IsZero() && time.Until(t) < 24*time.Hour },
			"Stockholm": func(t time.Time) string { return t.In(calendar.Stockholm()).Format("2006-01-02 15:04") },
			// Stored times and personal numbers (search.go, reports.go).
			"pnr": pnrText, "day": dayText, "when": whenText,
		}).Parse(src))
	}
	return out
}

func ago(lang string, t time.Time) string {
	if t.IsZero() {
		return tr(lang, "never")
	}
	d := time.Since(t).Round(time.Second).String()
	if lang == langSv {
		return "för " + d + " sedan"
	}
	return d + " ago"
}

// Refusals as the screen shows them; the reason itself goes to the audit
// trail.
const (
	refuseNoCert  = "Access refused: log in with your SITHS card (no certificate was sent)."
	refuseBadCert = "Access refused: your certificate is not accepted (it may be revoked, expired or from an unknown issuer)."
	refuseNoRole  = "Access refused: you have no role at the console. Contact the security officer."
	refuseRole    = "Access refused: your role may not do this."
	refuseRequest = "Request refused: it did not come from the console's own page. Reload the console and try again."
)

// refusalText is what the screen says about a refusal of kind (an audit
// kind) for why.
func refusalText(lang, kind, why string) string {
	switch {
	case kind == "console.host_refused" || kind == "console.csrf_refused":
		return tr(lang, refuseRequest)
	case kind == "console.login_refused" && why == whyNoCert:
		return tr(lang, refuseNoCert)
	case kind == "console.login_refused" && why == whyNoRole:
		return tr(lang, refuseNoRole)
	case kind == "console.login_refused":
		return tr(lang, refuseBadCert)
	}
	return tr(lang, refuseRole)
}

// Reasons of refused logins (audited as they are).
const (
	whyNoCert = "a SITHS client certificate is required"
	whyNoRole = "no role at the console for this HSA-ID"
)

// errorText is a failed action as the page shows it; the error itself
// goes to the audit trail.
func errorText(lang string, err error) string {
	switch {
	case errors.Is(err, ErrTotalStop): // issue 14 (console_evidence.go, stopwindows.go)
		return tr(lang, "No certificates are approved during a total stop (CP-3). Nothing was changed.")
	case errors.Is(err, ErrNoSuchLocalTime):
		return tr(lang, "That time does not exist in Sweden: the clocks go forward then. Nothing was changed.")
	case errors.Is(err, ErrAlreadyEnrolled):
		return tr(lang, "The station already has a certificate: use “Re-enrol” under Station trust, which revokes the current certificate.")
	case errors.Is(err, ErrDecided):
		return tr(lang, "That item has already been decided.")
	case errors.Is(err, ErrInvalid):
		return tr(lang, "Nothing was changed: check the fields. A reason is required to reject, block, revoke and decide on review items.")
	case errors.Is(err, ErrNotFound):
		return tr(lang, "Nothing was changed: it was not found (it may have been removed meanwhile).")
	}
	return tr(lang, "Nothing was changed: the registry could not do it. Try again; if it persists, see the registry's log.")
}

// consoleSv is the console's Swedish.
var consoleSv = map[string]string{
	"Kortstation registry": "Kortstation – centralt register",
	"Development mode":     "Utvecklingsläge",
	"plain HTTP on loopback, no login. Every action is recorded as": "okrypterad HTTP på den lokala adressen, ingen inloggning. Varje åtgärd registreras som",
	"Never use this mode for a real registry.":                      "Använd aldrig det här läget för ett riktigt register.",
	"Signed in as":                 "Inloggad som",
	"Audit trail":                  "Granskningslogg",
	"audit trail":                  "granskningslogg",
	"Enrolment code for":           "Registreringskod för",
	"CA fingerprint":               "CA-fingeravtryck",
	"Stations":                     "Stationer",
	"Station":                      "Station",
	"Version":                      "Version",
	"Last sync":                    "Senaste synk",
	"Last seen":                    "Senast sedd",
	"Issues cards until (offline)": "Lämnar ut kort till (offline)",
	"Deviations and deadlines":     "Avvikelser och frister",
	"Control":                      "Styrkanal",
	"Outbox":                       "Utkorg",
	"Data ages (s)":                "Dataålder (s)",
	"Drawer / alarms reported / RC-7 alarms received (24 h)": "Låda / rapporterade larm / mottagna RC-7-larm (24 h)",
	"Stock":                         "Lager",
	"Hardware":                      "Hårdvara",
	"Events":                        "Händelser",
	"Locked":                        "Låst",
	"Policy (AT-1)":                 "Policy (AT-1)",
	"Commands":                      "Kommandon",
	"not enrolled":                  "inte registrerad",
	"error":                         "fel",
	"yes":                           "ja",
	"no":                            "nej",
	"never":                         "aldrig",
	"typed-in attestors":            "inskrivna intygsgivare",
	"allowed":                       "tillåtna",
	"marked unverified":             "märks overifierade",
	"not allowed":                   "inte tillåtna",
	"Forbid typed-in attestors":     "Förbjud inskrivna intygsgivare",
	"Allow typed-in attestors":      "Tillåt inskrivna intygsgivare",
	"sync_now":                      "Synka nu",
	"lock":                          "Lås",
	"unlock":                        "Lås upp",
	"New station":                   "Ny station",
	"station ID":                    "stations-ID",
	"Create enrolment code":         "Skapa registreringskod",
	"Issuances (CP-1)":              "Utlämningar (CP-1)",
	"Issuance":                      "Utlämning",
	"Kind":                          "Typ",
	"Card":                          "Kort",
	"Reason":                        "Anledning",
	"Valid until":                   "Giltigt till",
	"Recipient identified by":       "Mottagaren identifierad med",
	"Decision":                      "Beslut",
	"issuance":                      "utlämning",
	"extension":                     "förlängning",
	"return":                        "återlämning",
	"receipt":                       "kvittens",
	"block_request":                 "spärrbegäran",
	"stock_movement":                "lagerrörelse",
	"attestors":                     "intygsgivare",
	"ID-6 ground":                   "grund enligt ID-6",
	"no valid ID document":          "ingen giltig id-handling",
	"no personal number":            "inget personnummer",
	"not stated":                    "inte angiven",
	"verified by SITHS card":        "verifierad med SITHS-kort",
	"typed in — NOT verified":       "inskriven – INTE verifierad",
	"ID document":                   "id-handling",
	"Approve":                       "Godkänn",
	"reason (to reject)":            "anledning (för att avslå)",
	"Reject":                        "Avslå",
	"pending":                       "väntar på beslut",
	"approved":                      "godkänd",
	"rejected":                      "avslagen",
	"applied":                       "genomförd",
	"Blocked cards (BL-1)":          "Spärrade kort (BL-1)",
	"Serial":                        "Serienummer",
	"Blocked":                       "Spärrat",
	"card serial":                   "kortets serienummer",
	"reason":                        "anledning",
	"note":                          "anteckning",
	"Block card":                    "Spärra kort",
	"Stop windows (CP-3)":           "Stoppfönster (CP-3)",
	"Starts":                        "Börjar",
	"Ends":                          "Slutar",
	"Note":                          "Anteckning",
	"Remove":                        "Ta bort",
	"order_stop":                    "beställningsstopp",
	"total_stop":                    "totalstopp",
	"Add stop window":               "Lägg till stoppfönster",
	"Validity (RC-1)":               "Giltighetstid (RC-1)",
	"Max days":                      "Högst antal dagar",
	"Set":                           "Spara",
	"SITHS intermediate CAs":        "SITHS mellanliggande CA",
	"Subject":                       "Subjekt",
	"Not after":                     "Giltigt till",
	"DER or PEM":                    "DER eller PEM",
	"Add intermediate":              "Lägg till mellanliggande CA",
	"SITHS revocation lists (CRLs)": "SITHS spärrlistor (CRL)",
	"Issuer":                        "Utfärdare",
	"Number":                        "Nummer",
	"This update":                   "Utfärdad",
	"Next update":                   "Nästa",
	"Revoked":                       "Spärrade",
	"Add CRL":                       "Lägg till spärrlista",
	"Station trust":                 "Förtroende för stationer",
	"Certificate":                   "Certifikat",
	"Audit head (checkpoint)":       "Loggens senaste kontrollpunkt",
	"Audit alarms":                  "Logglarm",
	"Events held for review":        "Händelser som väntar på granskning",
	"revoked":                       "återkallat",
	"current":                       "gällande",
	"none":                          "inga",
	"Revoke certificate":            "Återkalla certifikatet",
	"Re-enrol (revokes the current certificate)": "Registrera om (återkallar det gällande certifikatet)",
	"Audit chain alarms":                         "Larm om stationernas granskningsloggar",
	"Event":                                      "Händelse",
	"Alarm":                                      "Larm",
	"Checkpoint":                                 "Kontrollpunkt",
	"Earlier head":                               "Tidigare kontrollpunkt",
	"Received":                                   "Mottagen",
	"backwards":                                  "loggen gick bakåt",
	"fork":                                       "loggen har skrivits om",
	"unsigned":                                   "osignerad kontrollpunkt",
	"bad_signature":                              "fel signatur på kontrollpunkten",
	"Held for central review (stored, not applied)": "Väntar på central granskning (sparat, inte genomfört)",
	"Why":                        "Varför",
	ReviewOperatorMissing:        "ingen operatör angiven",
	ReviewOperatorNotAuthorised:  "operatören är inte behörig",
	ReviewCardOfAnotherStation:   "kortet hör till en annan station",
	ReviewCardNotShippedHere:     "kortet har inte skickats till stationen",
	ReviewAdminOtherStation:      "administratörsändring för en annan station",
	"Administrators (AD-2)":      "Administratörer (AD-2)",
	"admin_change":               "administratörsändring",
	"by":                         "av",
	"Apply":                      "Genomför",
	"waiting for a case officer": "väntar på en handläggare",
	"viewer":                     "läsare",
	"case_officer":               "handläggare",
	"station_manager":            "stationsansvarig",
	"security_officer":           "säkerhetsansvarig",
	"all (development mode)":     "alla (utvecklingsläge)",
	"Console audit trail":        "Konsolens granskningslogg",
	"Back to the console":        "Tillbaka till konsolen",
	"Download the whole trail":   "Ladda ner hela loggen",
	"The audit trail is broken":  "Granskningsloggen är bruten",
	"Verified":                   "Verifierad",
	"entries":                    "poster",
	"head":                       "senaste",
	"When (UTC)":                 "När (UTC)",
	"Who":                        "Vem",
	"What":                       "Vad",
	"About":                      "Gäller",
	"Details":                    "Detaljer",
	refuseNoCert:                 "Åtkomst nekad: logga in med ditt SITHS-kort (inget certifikat skickades).",
	refuseBadCert:                "Åtkomst nekad: ditt certifikat godtas inte (det kan vara spärrat, utgånget eller utfärdat av en okänd utfärdare).",
	refuseNoRole:                 "Åtkomst nekad: du har ingen roll i konsolen. Kontakta säkerhetsansvarig.",
	refuseRole:                   "Åtkomst nekad: din roll får inte göra detta.",
	refuseRequest:                "Begäran nekad: den kom inte från konsolens egen sida. Ladda om konsolen och försök igen.",
	"The station already has a certificate: use “Re-enrol” under Station trust, which revokes the current certificate.": "Stationen har redan ett certifikat: använd ”Registrera om” under Förtroende för stationer, som återkallar det gällande certifikatet.",
	"That item has already been decided.": "Det ärendet är redan beslutat.",
	"Nothing was changed: check the fields. A reason is required to reject, block, revoke and decide on review items.": "Inget ändrades: kontrollera fälten. En anledning krävs för att avslå, spärra, återkalla och besluta i granskningsärenden.",
	"Nothing was changed: it was not found (it may have been removed meanwhile).":                                      "Inget ändrades: det hittades inte (det kan ha tagits bort under tiden).",
	"Nothing was changed: the registry could not do it. Try again; if it persists, see the registry's log.":            "Inget ändrades: registret kunde inte utföra det. Försök igen; om felet kvarstår, se registrets logg.",
}
