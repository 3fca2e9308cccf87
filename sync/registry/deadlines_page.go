package registry

// The console's page "Avvikelser och frister" (issue 14): what the
// scheduled jobs did (RE-2 blocks, RC-6 deviations with their follow-up,
// BL-2 certificate blocks, the RE-5 e-mail outbox with each message's
// outcome) and when they last ran. Swedish by default, English with
// ?lang=en; times in Europe/Stockholm. Viewing is every role's (and
// audited: it shows card serials and e-mail addresses); marking a
// deviation followed up is a case officer's action, through the console's
// own action machinery (role, CSRF, audit in the change's transaction).

import (
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// deadlinesPath is the page's path.
const deadlinesPath = "/admin/deadlines"

// deadlineRoutes adds the page and its action to the console's mux; get
// is the console's role-checked GET registration (admin.go).
func (c *Console) deadlineRoutes(mux *http.ServeMux, get func(string, Role, http.HandlerFunc)) {
	get(deadlinesPath, RoleViewer, c.deadlinesPage)
	a := action{path: "/admin/deviation/follow-up", kind: "deviation.follow_up", role: RoleCaseOfficer, subject: "id", reason: func(*http.Request) bool { return true },
		do: func(r *http.Request) (string, error) {
			id, err := strconv.ParseInt(r.FormValue("id"), 10, 64)
			if err != nil {
				return "", ErrInvalid
			}
			return "followed up", c.s.FollowUpDeviation(r.Context(), id, principalFrom(r.Context()).actor, r.FormValue("reason"))
		}}
	// An attestor's or staff member's e-mail for notifications, by HSA-ID
	// only: a personal number never goes into the audit trail (recipients
	// known only by it come from `registryd contacts`).
	contact := action{path: "/admin/contact", kind: "contact.set", role: RoleCaseOfficer, subject: "hsa_id",
		do: func(r *http.Request) (string, error) {
			h, err := ident.ParseHSAID(r.FormValue("hsa_id"))
			if err != nil {
				return "", fmt.Errorf("%w: not an HSA-ID", ErrInvalid)
			}
			return "set", c.s.SetContact(r.Context(), h.String(), r.FormValue("email"), r.FormValue("lang"))
		}}
	for _, a := range []action{a, contact} {
		mux.HandleFunc("POST "+a.path, func(w http.ResponseWriter, r *http.Request) {
			c.act(backTo{ResponseWriter: w, path: deadlinesPath}, r, a)
		})
	}
}

// backTo sends a browser that finished an action on this page back to it
// (the console's actions return to /admin).
type backTo struct {
	http.ResponseWriter
	path string
}

func (b backTo) WriteHeader(code int) {
	if code == http.StatusSeeOther && b.Header().Get("Location") == "/admin" {
		b.Header().Set("Location", b.path)
	}
	b.ResponseWriter.WriteHeader(code)
}

// deadlineTexts are the page's words, Swedish and English.
var deadlineTexts = map[string]map[string]string{
	"sv": {
		"title": "Avvikelser och frister", "back": "Tillbaka till konsolen", "other": "English", "otherLang": "en",
		"jobs": "Schemalagda jobb", "job": "Jobb", "runs": "Körningar", "lastRun": "Senast körd", "lastError": "Senaste fel", "effects": "Åtgärder",
		"re2": "Spärrade kort: kvittensen kom inte i tid (RE-2)", "card": "Kort", "station": "Station", "deadline": "Frist", "blockedAt": "Spärrat",
		"rc6": "Reservkort som inte lämnats tillbaka (RC-6)", "why": "Avvikelse", "since": "Sedan", "detected": "Upptäckt", "returned": "Återlämnat",
		"followUp": "Uppföljning", "note": "anteckning", "markFollowed": "Markera uppföljd", "notReturned": "inte återlämnat",
		"bl2": "Certifikat spärrade vid återlämning (BL-2)", "returnedAt": "Återlämnat",
		"re5": "E-post (RE-5)", "created": "Skapat", "event": "Händelse", "role": "Till", "to": "Adress", "lang": "Språk", "subject": "Ämne", "state": "Utfall",
		"attempts": "Försök", "next": "Nästa försök", "sentAt": "Skickat", "none": "Inga.",
		"st.queued": "i kö", "st.sent": "skickat", "st.logged": "bara loggat (ingen e-postserver inställd)", "st.failed": "misslyckades", "st.no_address": "ingen e-postadress känd",
		"ev.issued": "utlämnat", "ev.approved": "klart att aktivera", "ev.expiry": "påminnelse om giltighetstid",
		"ro.recipient": "mottagare", "ro.attestor": "intygsgivare",
		"job.deadlines": "frister (RE-2, RC-6, RE-5)", "job.mail": "e-postutskick (RE-5)",
		"contact": "E-postadress för avisering", "contactHelp": "Intygsgivare och personal med HSA-id. Mottagare som bara har personnummer läses in med registryd contacts.",
		"hsaid": "HSA-id", "email": "e-postadress", "setContact": "Spara adress", "langSv": "svenska", "langEn": "engelska",
	},
	"en": {
		"title": "Deviations and deadlines", "back": "Back to the console", "other": "Svenska", "otherLang": "sv",
		"jobs": "Scheduled jobs", "job": "Job", "runs": "Runs", "lastRun": "Last run", "lastError": "Last error", "effects": "Effects",
		"re2": "Cards blocked: receipt not received in time (RE-2)", "card": "Card", "station": "Station", "deadline": "Deadline", "blockedAt": "Blocked",
		"rc6": "Reserve cards not returned (RC-6)", "why": "Deviation", "since": "Since", "detected": "Detected", "returned": "Returned",
		"followUp": "Follow-up", "note": "note", "markFollowed": "Mark followed up", "notReturned": "not returned",
		"bl2": "Certificates blocked on return (BL-2)", "returnedAt": "Returned",
		"re5": "E-mail (RE-5)", "created": "Created", "event": "Event", "role": "To", "to": "Address", "lang": "Language", "subject": "Subject", "state": "Outcome",
		"attempts": "Attempts", "next": "Next attempt", "sentAt": "Sent", "none": "None.",
		"st.queued": "queued", "st.sent": "sent", "st.logged": "logged only (no mail relay configured)", "st.failed": "failed", "st.no_address": "no e-mail address known",
		"ev.issued": "issued", "ev.approved": "ready to activate", "ev.expiry": "expiry reminder",
		"ro.recipient": "recipient", "ro.attestor": "attestor",
		"job.deadlines": "deadlines (RE-2, RC-6, RE-5)", "job.mail": "e-mail delivery (RE-5)",
		"contact": "E-mail address for notifications", "contactHelp": "Attestors and staff with an HSA-ID. Recipients known only by personal number are loaded with registryd contacts.",
		"hsaid": "HSA-ID", "email": "e-mail address", "setContact": "Save address", "langSv": "Swedish", "langEn": "English",
	},
}

var deadlinesTmpl = template.Must(template.New("deadlines").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.In(calendar.Stockholm()).Format("2006-01-02 15:04")
	},
}).Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{index .T "title"}}</title>
<link rel="stylesheet" href="/admin/console.css"></head>
<body>{{$t := .T}}
<h1>{{index $t "title"}}</h1>
<p><a href="/admin">{{index $t "back"}}</a> · <a href="/admin/deadlines?lang={{index $t "otherLang"}}" lang="{{index $t "otherLang"}}">{{index $t "other"}}</a></p>
<h2>{{index $t "jobs"}}</h2>
<table><tr><th>{{index $t "job"}}</th><th>{{index $t "runs"}}</th><th>{{index $t "lastRun"}}</th><th>{{index $t "effects"}}</th><th>{{index $t "lastError"}}</th></tr>
{{range .Jobs}}<tr><td>{{index $t (printf "job.%s" .Job)}}</td><td>{{.Runs}}</td><td>{{when .LastRun}}</td><td>{{.Effects}}</td><td>{{if .LastError}}<strong class="alarm">{{.LastError}}</strong>{{end}}</td></tr>{{end}}</table>
<h2 id="rc6">{{index $t "rc6"}}</h2>
{{if .Deviations}}<table class="deviations"><tr><th>{{index $t "card"}}</th><th>{{index $t "station"}}</th><th>{{index $t "why"}}</th><th>{{index $t "since"}}</th><th>{{index $t "detected"}}</th><th>{{index $t "returned"}}</th><th>{{index $t "followUp"}}</th></tr>
{{range .Deviations}}<tr class="deviation"><td>{{.D.CardSerial}}</td><td>{{.D.Station}}</td><td>{{.Text}}</td><td>{{when .D.Since}}</td><td>{{when .D.DetectedAt}}</td><td>{{if .D.ReturnedAt.IsZero}}<strong class="alarm">{{index $t "notReturned"}}</strong>{{else}}{{when .D.ReturnedAt}}{{end}}</td>
<td>{{if .D.FollowedUpAt.IsZero}}<form method="post" action="/admin/deviation/follow-up"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="id" value="{{.D.ID}}"><input name="reason" placeholder="{{index $t "note"}}" required aria-label="{{index $t "note"}}"> <button>{{index $t "markFollowed"}}</button></form>{{else}}{{when .D.FollowedUpAt}}, {{.D.FollowedUpBy}}: {{.D.Note}}{{end}}</td></tr>{{end}}</table>{{else}}<p>{{index $t "none"}}</p>{{end}}
<h2 id="re2">{{index $t "re2"}}</h2>
{{if .Blocks}}<table><tr><th>{{index $t "card"}}</th><th>{{index $t "station"}}</th><th>{{index $t "deadline"}}</th><th>{{index $t "blockedAt"}}</th></tr>
{{range .Blocks}}<tr class="re2-block"><td>{{.CardSerial}}</td><td>{{.Station}}</td><td>{{when .Deadline}}</td><td>{{when .BlockedAt}}</td></tr>{{end}}</table>{{else}}<p>{{index $t "none"}}</p>{{end}}
<h2 id="bl2">{{index $t "bl2"}}</h2>
{{if .CertBlocks}}<table><tr><th>{{index $t "card"}}</th><th>{{index $t "station"}}</th><th>{{index $t "returnedAt"}}</th><th>{{index $t "blockedAt"}}</th></tr>
{{range .CertBlocks}}<tr class="bl2-block"><td>{{.CardSerial}}</td><td>{{.Station}}</td><td>{{when .ReturnedAt}}</td><td>{{when .BlockedAt}}</td></tr>{{end}}</table>{{else}}<p>{{index $t "none"}}</p>{{end}}
<h2 id="re5">{{index $t "re5"}}</h2>
{{if .Mail}}<table><tr><th>{{index $t "created"}}</th><th>{{index $t "event"}}</th><th>{{index $t "role"}}</th><th>{{index $t "card"}}</th><th>{{index $t "to"}}</th><th>{{index $t "lang"}}</th><th>{{index $t "subject"}}</th><th>{{index $t "state"}}</th><th>{{index $t "attempts"}}</th><th>{{index $t "next"}}</th><th>{{index $t "sentAt"}}</th><th>{{index $t "lastError"}}</th></tr>
{{range .Mail}}<tr class="mail"><td>{{when .CreatedAt}}</td><td>{{index $t (printf "ev.%s" .Event)}}</td><td>{{index $t (printf "ro.%s" .Role)}}</td><td>{{.CardSerial}}</td><td>{{.To}}</td><td>{{.Lang}}</td><td>{{.Subject}}</td><td>{{index $t (printf "st.%s" .State)}}</td><td>{{.Attempts}}</td><td>{{if eq .State "queued"}}{{when .NextAt}}{{end}}</td><td>{{when .SentAt}}</td><td>{{.LastError}}</td></tr>{{end}}</table>{{else}}<p>{{index $t "none"}}</p>{{end}}
<h3>{{index $t "contact"}}</h3><p>{{index $t "contactHelp"}}</p>
<form method="post" action="/admin/contact"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input name="hsa_id" placeholder="{{index $t "hsaid"}}" aria-label="{{index $t "hsaid"}}" required> <input name="email" type="email" placeholder="{{index $t "email"}}" aria-label="{{index $t "email"}}" required> <select name="lang" aria-label="{{index $t "lang"}}"><option value="sv">{{index $t "langSv"}}</option><option value="en">{{index $t "langEn"}}</option></select> <button>{{index $t "setContact"}}</button></form>
</body></html>`))

// outboxPageSize is how many e-mails the page lists.
const outboxPageSize = 200

type deviationRow struct {
	D    Deviation
	Text string
}

// deadlinesPage renders the page.
func (c *Console) deadlinesPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !c.auditView(w, r, "console.view", "deadlines", "deviations, blocked cards, e-mail outbox (card serials, e-mail addresses)") {
		return
	}
	lang := langOf(r) // the console's language cookie (?lang= sets it)
	v := struct {
		Lang, CSRF string
		T          map[string]string
		Jobs       []JobRun
		Deviations []deviationRow
		Blocks     []DeadlineBlock
		CertBlocks []CertificateBlock
		Mail       []OutboxMail
	}{Lang: lang, T: deadlineTexts[lang], CSRF: principalFrom(ctx).sess.csrf}
	var err error
	var devs []Deviation
	if v.Jobs, err = c.s.JobRuns(ctx); err == nil {
		if devs, err = c.s.Deviations(ctx); err == nil {
			if v.Blocks, err = c.s.DeadlineBlocks(ctx); err == nil {
				if v.CertBlocks, err = c.s.CertificateBlocks(ctx); err == nil {
					v.Mail, err = c.s.Outbox(ctx, outboxPageSize)
				}
			}
		}
	}
	if err != nil {
		c.s.log.Error("deadlines page", "err", err)
		http.Error(w, "could not read the registry", http.StatusInternalServerError)
		return
	}
	for _, d := range devs {
		v.Deviations = append(v.Deviations, deviationRow{D: d, Text: violation.Render(violation.Key(d.Key), lang, map[string]string{"card_number": d.CardSerial})})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := deadlinesTmpl.Execute(w, v); err != nil {
		c.s.log.Error("render deadlines page", "err", err)
	}
}
