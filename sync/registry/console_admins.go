package registry

// The console's page "Administratörer" (AD-1, AD-2; issue 14 item 4): the
// changes of administrators stations asked for, which a station manager
// approves or rejects (a reason to reject), and a form to appoint or
// remove an administrator at a station directly (when the manager told
// the central service, seed 004). Both are planned with
// rules.PlanAdminChange (admins.go). Viewing is every role's and audited
// (names, e-mail addresses and telephone numbers); deciding and changing
// are a station manager's, through the console's action machinery (role,
// CSRF, audit in the change's own transaction).

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
)

// adminsPath is the page's path.
const adminsPath = "/admin/admins"

// adminRoutes adds the page and its actions to the console's mux; get is
// the console's role-checked GET registration (admin.go).
func (c *Console) adminRoutes(mux *http.ServeMux, get func(string, Role, http.HandlerFunc)) {
	get(adminsPath, RoleViewer, c.adminsPage)
	decide := action{path: "/admin/admins/decide", kind: "admin_change.decide", role: RoleStationManager, subject: "id",
		reason: func(r *http.Request) bool { return r.PostFormValue("decision") == "reject" },
		do: func(r *http.Request) (string, error) {
			d := r.FormValue("decision")
			if d != "approve" && d != "reject" {
				return "", fmt.Errorf("%w: decision must be approve or reject", ErrInvalid)
			}
			out := map[string]string{"approve": "approved", "reject": "rejected"}[d]
			return out, c.s.DecideAdminRequest(r.Context(), r.FormValue("station"), r.FormValue("id"), d == "approve",
				principalFrom(r.Context()).actor, r.FormValue("reason"))
		}}
	change := action{path: "/admin/admins/change", kind: "admin_change.make", role: RoleStationManager, subject: "admin",
		do: func(r *http.Request) (string, error) {
			ch, err := adminChangeForm(r, c.s.now())
			if err != nil {
				return "", err
			}
			return c.s.ChangeAdmin(r.Context(), r.FormValue("station"), ch, principalFrom(r.Context()).actor)
		}}
	for _, a := range []action{decide, change} {
		mux.HandleFunc("POST "+a.path, func(w http.ResponseWriter, r *http.Request) {
			c.act(backTo{ResponseWriter: w, path: adminsPath}, r, a)
		})
	}
}

// adminChangeForm is the change the console's form describes. HSA-IDs
// that do not parse are refused here; PlanAdminChange checks the rest.
func adminChangeForm(r *http.Request, now time.Time) (rules.AdminChange, error) {
	ch := rules.AdminChange{Kind: rules.AdminChangeKind(r.FormValue("change")), Name: strings.TrimSpace(r.FormValue("name")),
		Email: strings.TrimSpace(r.FormValue("email")), Phone: strings.TrimSpace(r.FormValue("phone")),
		TrainingConfirmed: r.FormValue("training_confirmed") != "", At: now}
	var err error
	if ch.Admin, err = ident.ParseHSAID(strings.TrimSpace(r.FormValue("admin"))); err != nil {
		return ch, fmt.Errorf("%w: the administrator's HSA-ID", ErrInvalid)
	}
	if ch.Manager, err = ident.ParseHSAID(strings.TrimSpace(r.FormValue("manager"))); err != nil {
		return ch, fmt.Errorf("%w: the manager's HSA-ID", ErrInvalid)
	}
	return ch, nil
}

// adminTexts are the page's words, Swedish and English.
var adminTexts = map[string]map[string]string{
	"sv": {
		"title": "Administratörer (AD-2)", "back": "Tillbaka till konsolen", "other": "English", "otherLang": "en",
		"pending": "Ändringar som väntar på beslut", "decided": "Beslutade ändringar", "none": "Inga.",
		"station": "Station", "change": "Ändring", "admin": "Administratör", "contact": "Kontakt", "manager": "Chef",
		"requestedBy": "Registrerad av", "requested": "Begärd", "findings": "Kontroll", "decision": "Beslut",
		"approve": "Godkänn", "reject": "Avslå", "reasonReject": "anledning (för att avslå)",
		"ch.appointed": "utse", "ch.removed": "ta bort",
		"st.pending": "väntar", "st.approved": "godkänd", "st.rejected": "avslagen",
		"src.station": "från stationen", "src.console": "i konsolen",
		"pr.siths_card": "legitimerad med eget SITHS-kort", "pr.central": "meddelat centralt", "pr.": "okänt",
		"trained": "chefen intygar utbildning och lämplighet", "notTrained": "utbildning inte intygad",
		"ok": "godtas", "waiting": "väntar på en stationsansvarig",
		"direct": "Ändra administratör direkt", "directHelp": "När chefen har meddelat ändringen till den centrala tjänsten (e-post). Kontrolleras mot samma regler.",
		"name": "namn", "email": "e-postadress", "phone": "telefon", "hsaid": "HSA-id", "managerHsaid": "chefens HSA-id", "stationId": "station",
		"save":                "Genomför ändringen",
		"AD-1 admin.no_hsaid": "administratören saknar HSA-id", "AD-1 admin.no_manager": "ingen chef (eller chefen är administratören själv)",
		"AD-1 admin.untrained": "chefen har inte intygat utbildningen", "AD-2 admin.incomplete": "namn, e-post eller telefon saknas",
		"AD-2 admin.kind": "okänd ändring",
	},
	"en": {
		"title": "Administrators (AD-2)", "back": "Back to the console", "other": "Svenska", "otherLang": "sv",
		"pending": "Changes waiting for a decision", "decided": "Decided changes", "none": "None.",
		"station": "Station", "change": "Change", "admin": "Administrator", "contact": "Contact", "manager": "Manager",
		"requestedBy": "Entered by", "requested": "Asked for", "findings": "Check", "decision": "Decision",
		"approve": "Approve", "reject": "Reject", "reasonReject": "reason (to reject)",
		"ch.appointed": "appoint", "ch.removed": "remove",
		"st.pending": "pending", "st.approved": "approved", "st.rejected": "rejected",
		"src.station": "from the station", "src.console": "at the console",
		"pr.siths_card": "identified with their own SITHS card", "pr.central": "told the central service", "pr.": "unknown",
		"trained": "the manager vouches for training and suitability", "notTrained": "training not vouched for",
		"ok": "acceptable", "waiting": "waiting for a station manager",
		"direct": "Change an administrator directly", "directHelp": "When the manager told the central service of the change (e-mail). Checked against the same rules.",
		"name": "name", "email": "e-mail address", "phone": "telephone", "hsaid": "HSA-ID", "managerHsaid": "the manager's HSA-ID", "stationId": "station",
		"save":                "Make the change",
		"AD-1 admin.no_hsaid": "the administrator has no HSA-ID", "AD-1 admin.no_manager": "no manager (or the manager is the administrator)",
		"AD-1 admin.untrained": "the manager has not vouched for the training", "AD-2 admin.incomplete": "name, e-mail or telephone missing",
		"AD-2 admin.kind": "unknown change",
	},
}

var adminsTmpl = template.Must(template.New("admins").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.In(calendar.Stockholm()).Format("2006-01-02 15:04")
	},
	"tx": func(t map[string]string, key string) string {
		if s, ok := t[key]; ok {
			return s
		}
		return key
	},
}).Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{index .T "title"}}</title>
<link rel="stylesheet" href="/admin/console.css"></head>
<body>{{$t := .T}}
<h1>{{index $t "title"}}</h1>
<p><a href="/admin">{{index $t "back"}}</a> · <a href="` + adminsPath + `?lang={{index $t "otherLang"}}" lang="{{index $t "otherLang"}}">{{index $t "other"}}</a></p>
<h2>{{index $t "pending"}}</h2>
{{if .Pending}}<table class="admin-requests"><tr><th>{{index $t "station"}}</th><th>{{index $t "change"}}</th><th>{{index $t "admin"}}</th><th>{{index $t "contact"}}</th><th>{{index $t "manager"}}</th><th>{{index $t "requestedBy"}}</th><th>{{index $t "requested"}}</th><th>{{index $t "findings"}}</th><th>{{index $t "decision"}}</th></tr>
{{range .Pending}}<tr class="admin-request"><td>{{.Station}}</td><td>{{tx $t (printf "ch.%s" .Change)}}</td><td>{{.Name}}<br>{{.Admin}}</td><td>{{.Email}}<br>{{.Phone}}</td>
<td>{{.ManagerName}} {{.Manager}}<br>{{tx $t (printf "pr.%s" .ManagerProof)}}<br>{{if .TrainingConfirmed}}{{index $t "trained"}}{{else}}<strong class="alarm">{{index $t "notTrained"}}</strong>{{end}}</td>
<td>{{.RequestedBy}}</td><td>{{when .RequestedAt}}</td><td>{{if .Findings}}<ul>{{range .Findings}}<li class="alarm">{{tx $t .}}</li>{{end}}</ul>{{else}}{{index $t "ok"}}{{end}}</td>
<td>{{if $.CanManage}}<form method="post" action="/admin/admins/decide"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="station" value="{{.Station}}"><input type="hidden" name="id" value="{{.ID}}"><button name="decision" value="approve">{{index $t "approve"}}</button> <input name="reason" placeholder="{{index $t "reasonReject"}}" aria-label="{{index $t "reasonReject"}}"> <button name="decision" value="reject">{{index $t "reject"}}</button></form>{{else}}{{index $t "waiting"}}{{end}}</td></tr>{{end}}</table>{{else}}<p>{{index $t "none"}}</p>{{end}}
{{if .CanManage}}<h2>{{index $t "direct"}}</h2><p>{{index $t "directHelp"}}</p>
<form method="post" action="/admin/admins/change" class="admin-change"><input type="hidden" name="csrf" value="{{$.CSRF}}">
<input name="station" placeholder="{{index $t "stationId"}}" aria-label="{{index $t "stationId"}}" required>
<select name="change" aria-label="{{index $t "change"}}"><option value="appointed">{{index $t "ch.appointed"}}</option><option value="removed">{{index $t "ch.removed"}}</option></select>
<input name="admin" placeholder="{{index $t "hsaid"}}" aria-label="{{index $t "hsaid"}}" required>
<input name="name" placeholder="{{index $t "name"}}" aria-label="{{index $t "name"}}">
<input name="email" type="email" placeholder="{{index $t "email"}}" aria-label="{{index $t "email"}}">
<input name="phone" placeholder="{{index $t "phone"}}" aria-label="{{index $t "phone"}}">
<input name="manager" placeholder="{{index $t "managerHsaid"}}" aria-label="{{index $t "managerHsaid"}}" required>
<label><input type="checkbox" name="training_confirmed" value="1"> {{index $t "trained"}}</label>
<button>{{index $t "save"}}</button></form>{{end}}
<h2>{{index $t "decided"}}</h2>
{{if .Decided}}<table><tr><th>{{index $t "station"}}</th><th>{{index $t "change"}}</th><th>{{index $t "admin"}}</th><th>{{index $t "manager"}}</th><th>{{index $t "requestedBy"}}</th><th>{{index $t "decision"}}</th></tr>
{{range .Decided}}<tr class="admin-decided"><td>{{.Station}}</td><td>{{tx $t (printf "ch.%s" .Change)}} ({{tx $t (printf "src.%s" .Source)}})</td><td>{{.Name}} {{.Admin}}</td><td>{{.Manager}}</td><td>{{.RequestedBy}}</td><td>{{tx $t (printf "st.%s" .Status)}} {{when .DecidedAt}} {{.DecidedBy}}{{if .Reason}}: {{.Reason}}{{end}}</td></tr>{{end}}</table>{{else}}<p>{{index $t "none"}}</p>{{end}}
</body></html>`))

// adminsPage renders the page.
func (c *Console) adminsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !c.auditView(w, r, "console.view", "admins", "changes of administrators (names, HSA-IDs, e-mail addresses, telephone numbers)") {
		return
	}
	reqs, err := c.s.AdminRequests(ctx)
	if err != nil {
		c.s.log.Error("admins page", "err", err)
		http.Error(w, "could not read the registry", http.StatusInternalServerError)
		return
	}
	p := principalFrom(ctx)
	lang := langOf(r)
	v := struct {
		Lang, CSRF       string
		T                map[string]string
		CanManage        bool
		Pending, Decided []AdminRequest
	}{Lang: lang, T: adminTexts[lang], CSRF: p.sess.csrf, CanManage: p.can(RoleStationManager)}
	for _, a := range reqs {
		if a.Status == "pending" {
			v.Pending = append(v.Pending, a)
		} else {
			v.Decided = append(v.Decided, a)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := adminsTmpl.Execute(w, v); err != nil {
		c.s.log.Error("render admins page", "err", err)
	}
}
